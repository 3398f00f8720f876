/**
 * `openS3Output`: an S3 object as the output of `rekey encrypt | decrypt`, with the same
 * {@link AtomicOutput} contract as a file — nothing visible until `commit()`, nothing left after
 * `abort()`.
 *
 * The bytes stream into the S3 store's own upload (`uploadStream`): gathered into one part of
 * `partBytes` at a time, a `PutObject` when the whole output fits in the first part, a multipart
 * upload otherwise, so memory stays at about one part whatever the size (8 MiB, larger only for
 * an input of known size above about 70 GiB, so that its output fits in S3's 10,000 parts). The request that makes
 * the object visible (that `PutObject`, or `CompleteMultipartUpload`) is held until `commit()` is
 * called — after the whole pipeline succeeded, so for decrypt after every frame authenticated —
 * and any failure, or `abort()`, aborts the multipart upload: no partial object ever appears.
 *
 * Without `force` a new object is created only if the key is free: `HeadObject` first (so an
 * existing object is refused before anything is read or sent), and `If-None-Match: *` on the
 * committing request (so an object another writer creates meanwhile is not replaced either). A
 * store that ignores conditional writes relies on the first check alone, which is racy there.
 * `@aws-sdk/lib-storage`'s `Upload` is not used: it has refused `IfNoneMatch` (aws/aws-sdk-js-v3
 * issue 8020), and the store's upload already does the rest.
 */
import { PassThrough } from "node:stream";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { httpStatusOf } from "../errors.js";
import { isNoSuchKey, isPreconditionFailed, type S3Runtime } from "../stores/s3/s3-runtime.js";
import { uploadStream } from "../stores/s3/stream-upload.js";
import { JobCounters } from "../support/job-counters.js";
import type { AtomicOutput } from "./atomic-output.js";
import { FileError } from "./errors.js";
import { parseS3ObjectUrl, s3Reason } from "./s3-object-url.js";

const MiB = 1024 * 1024;

/** Part size of an S3 output of unknown size: the memory an upload holds (10,000 parts, ≈78 GiB). */
export const DEFAULT_S3_OUTPUT_PART_BYTES = 8 * MiB;

/** Parts an output of known size is planned in: S3 allows 10,000; the rest is headroom for growth. */
const PLANNED_PARTS = 9_000;

/**
 * The part size for an output of about `expectedBytes`: 8 MiB, or more (whole MiB) when 9,000
 * parts of 8 MiB would not hold it — S3 allows 10,000 parts, so an encrypted output a little
 * larger than its input still fits.
 *
 * @example
 * ```ts
 * s3OutputPartBytes(undefined); // 8 MiB
 * s3OutputPartBytes(200 * 2 ** 30); // 23 MiB: 200 GiB in about 8,900 parts
 * ```
 */
export function s3OutputPartBytes(expectedBytes: number | undefined): number {
  if (expectedBytes === undefined) return DEFAULT_S3_OUTPUT_PART_BYTES;
  return Math.max(DEFAULT_S3_OUTPUT_PART_BYTES, Math.ceil(expectedBytes / PLANNED_PARTS / MiB) * MiB);
}

/** Options of {@link openS3Output}. */
export interface S3OutputOptions {
  /** The client to write with (the command's `--profile`, `--region`, `--endpoint-url`). */
  readonly s3: S3Client;
  /** Replace an existing object: no existence check, no `If-None-Match`. @default false */
  readonly force?: boolean;
  /** About how many bytes will be written (the input's size), to size the parts. @default unknown */
  readonly expectedBytes?: number;
  /** Bytes per upload part (S3's minimum is 5 MiB). @default s3OutputPartBytes(expectedBytes) */
  readonly partBytes?: number;
}

function exists(url: string, cause?: unknown): FileError {
  return new FileError("ERR_OUTPUT", `${url} already exists (use --force to replace it)`, { cause });
}

/** The output's failure, one line: an existing object, or what S3 answered. */
function writeError(url: string, e: unknown): unknown {
  if (e instanceof FileError) return e;
  if (isPreconditionFailed(e)) return exists(url, e);
  if (typeof (e as { $metadata?: unknown } | undefined)?.$metadata === "object")
    return new FileError("ERR_OUTPUT", `cannot write ${url}: ${s3Reason(e)}`, { cause: e });
  return e;
}

/** Refuses an existing object before anything is read; a 403 (no read permission) cannot tell. */
async function refuseExisting(url: string, bucket: string, key: string, s3: S3Client): Promise<void> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    if (isNoSuchKey(e) || httpStatusOf(e) === 403) return;
    throw new FileError("ERR_OUTPUT", `cannot write ${url}: ${s3Reason(e)}`, { cause: e });
  }
  throw exists(url);
}

/**
 * Opens `s3://bucket/key` as an output. Without `force`, fails before anything is written when
 * the object exists.
 *
 * @throws FileError `ERR_USAGE` for a URL that names no object; `ERR_OUTPUT` when the object
 * exists (then, or at `commit()`) or S3 refuses the write.
 * @example
 * ```ts
 * const out = await openS3Output("s3://data/report.pdf.rkey", { s3 });
 * try { await pipeline(input, encryptStream({ keyring }), out.stream); await out.commit(); }
 * catch (e) { await out.abort(); throw e; }
 * ```
 */
export async function openS3Output(url: string, options: S3OutputOptions): Promise<AtomicOutput> {
  const { bucket, key } = parseS3ObjectUrl(url);
  if (!options.force) await refuseExisting(url, bucket, key, options.s3);

  const stream = new PassThrough();
  // Errors reach the pipeline and the upload through their own listeners; one that comes when
  // neither listens any more (an abort after the pipeline ended) must not be an uncaught 'error'.
  stream.on("error", () => {});
  const cancel = new AbortController();
  // Opened by commit(), closed by abort(): the committing request waits for it.
  let open!: () => void;
  let close!: (reason: unknown) => void;
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    close = reject;
  });
  gate.catch(() => {});
  // Retries are the SDK client's own (the CLI's clients retry 3 times); the abort of a failed
  // upload is retried by abortUpload itself.
  const rt: S3Runtime = {
    client: options.s3,
    counters: new JobCounters(),
    retry: { attempts: 1 },
    signal: cancel.signal,
  };
  // Not destroyed when the upload stops reading (a failed request): the catch below destroys it
  // with the upload's own error, which is then what the pipeline reports.
  const bytes = stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  const upload = uploadStream(bytes, rt, {
    ref: { kind: "s3", bucket, key },
    params: {},
    partBytes: options.partBytes ?? s3OutputPartBytes(options.expectedBytes),
    ...(options.force ? {} : { ifNoneMatch: true }),
    beforeCommit: () => gate,
  }).catch((e: unknown) => {
    const error = writeError(url, e);
    // The upload stopped taking bytes: fail the pipeline writing into it rather than stall it.
    stream.destroy(error instanceof Error ? error : undefined);
    throw error;
  });
  upload.catch(() => {});

  let settled = false;
  return {
    stream,
    path: url,
    commit: async () => {
      settled = true;
      open();
      await upload;
    },
    abort: async () => {
      if (settled) return;
      settled = true;
      const reason = new FileError("ERR_OUTPUT", `${url}: the output was abandoned`);
      close(reason);
      cancel.abort(reason);
      stream.destroy(reason);
      await upload.catch(() => {});
    },
  };
}
