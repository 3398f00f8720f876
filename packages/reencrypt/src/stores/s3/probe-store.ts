/**
 * The capability probe of an S3-compatible store: what the bucket really honours, learned by
 * asking it, before the job writes anything there. Several S3-compatible servers accept
 * `If-Match` / `If-None-Match` and ignore them (the write happens), or lack `UploadPartCopy`;
 * the job's "nothing lost" rests on those features, so it does not take them on trust.
 *
 * Under a reserved prefix (`.rekey-probe/` unless the job names another), with one scratch object
 * of a few bytes:
 * 1. `PutObject` (unconditional) creates it — without write permission there, the probe stops
 *    with `ERR_JOB_STORE_PROBE` and says how to point it elsewhere;
 * 2. `PutObject` with a non-matching `If-Match` must answer 412 (`conditionalPut`);
 * 3. `PutObject` with `If-None-Match: *` on it must answer 412 (`conditionalCreate`);
 * 4. `GetObject` with a non-matching `If-Match` must answer 412 (`pinnedRead`; the job compares
 *    what it reads with what it planned either way);
 * 5. a multipart upload onto the scratch object: `UploadPartCopy` of its bytes must work
 *    (`uploadPartCopy`), and `CompleteMultipartUpload` with a non-matching `If-Match` must fail
 *    (`conditionalComplete`);
 * 6. tags: the object was created with one tag (`x-amz-tagging`); `GetObjectTagging` must return
 *    it (`objectTagging`, `taggingOnWrite`) and a GET must count it (`taggingCount`), since the
 *    job reads an object's tags only when its GET counts any.
 * Every version the probe created is deleted and its upload aborted, also when a step fails.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { JobError, describeError, errorNameOf, httpStatusOf } from "../../errors.js";
import { copySourceOf, isPreconditionFailed, s3Send, type S3Runtime } from "./s3-runtime.js";

/** Where the probe writes its scratch objects unless told otherwise. */
export const DEFAULT_PROBE_PREFIX = ".rekey-probe/";

/** What one bucket honours, as the probe found it. */
export interface StoreCapabilities {
  /** `s3://bucket`. */
  readonly store: string;
  /** Where the scratch objects were written. */
  readonly probePrefix: string;
  /** `PutObject` with a non-matching `If-Match` is refused (412). */
  readonly conditionalPut: boolean;
  /** `PutObject` with `If-None-Match: *` on an existing key is refused (412). */
  readonly conditionalCreate: boolean;
  /** `GetObject` with a non-matching `If-Match` is refused (412). */
  readonly pinnedRead: boolean;
  /** `CompleteMultipartUpload` with a non-matching `If-Match` is refused. */
  readonly conditionalComplete: boolean;
  /** `UploadPartCopy` works (server-side copy of the unchanged payload of large objects). */
  readonly uploadPartCopy: boolean;
  /** `GetObjectTagging` answers (the store keeps tags at all). */
  readonly objectTagging: boolean;
  /** Tags given with `PutObject` (`x-amz-tagging`) are stored. */
  readonly taggingOnWrite: boolean;
  /** A GET answer counts the object's tags (`x-amz-tagging-count`). */
  readonly taggingCount: boolean;
  /** One line per feature that is missing, naming it and what answered. */
  readonly missing: readonly string[];
}

/**
 * True when every write the job makes in this store is conditional for real: single `PutObject`s
 * (`If-Match`, `If-None-Match`) and multipart completes.
 *
 * @example
 * ```ts
 * if (!honoursConditionalWrites(caps)) refuse();
 * ```
 */
export function honoursConditionalWrites(caps: StoreCapabilities): boolean {
  return caps.conditionalPut && caps.conditionalCreate && caps.conditionalComplete;
}

/**
 * One line on what the store honours, for the job's banner and report.
 *
 * @example
 * ```ts
 * describeCapabilities(caps); // "s3://data: conditional writes honoured, pinned reads honoured, UploadPartCopy available"
 * ```
 */
export function describeCapabilities(caps: StoreCapabilities): string {
  const writes = honoursConditionalWrites(caps)
    ? "conditional writes honoured"
    : `conditional writes NOT honoured (${ignoredConditions(caps).join(", ")} ignored)`;
  return [
    `${caps.store}: ${writes}`,
    caps.pinnedRead ? "pinned reads honoured" : "If-Match on GetObject ignored (reads are compared instead)",
    caps.uploadPartCopy
      ? "UploadPartCopy available"
      : "no UploadPartCopy (large objects are rewritten by streaming)",
    !caps.objectTagging
      ? "no object tagging"
      : caps.taggingOnWrite && caps.taggingCount
        ? "tags kept"
        : `tags kept by ${[
            caps.taggingCount ? undefined : "reading every object's tags",
            caps.taggingOnWrite ? undefined : "writing them after each write",
          ]
            .filter(Boolean)
            .join(" and ")}`,
  ].join(", ");
}

/**
 * The write conditions the store ignores, by name.
 *
 * @example
 * ```ts
 * ignoredConditions(caps); // ["If-Match on PutObject", "If-Match on CompleteMultipartUpload"]
 * ```
 */
export function ignoredConditions(caps: StoreCapabilities): string[] {
  return [
    caps.conditionalPut ? undefined : "If-Match on PutObject",
    caps.conditionalCreate ? undefined : "If-None-Match on PutObject",
    caps.conditionalComplete ? undefined : "If-Match on CompleteMultipartUpload",
  ].filter((c): c is string => c !== undefined);
}

/** A non-matching entity tag: no object's ETag is 32 zeros followed by `-probe`. */
const WRONG_ETAG = '"00000000000000000000000000000000-probe"';

/**
 * Probes one bucket. The probe's requests go through the job's runtime (counted, retried on
 * throttling and 5xx).
 *
 * @throws JobError `ERR_JOB_STORE_PROBE` when the scratch object cannot be written, read or
 * deleted (no permission under the prefix, no such bucket): nothing else was written.
 * @example
 * ```ts
 * const caps = await probeS3Store(rt, "data");
 * console.log(describeCapabilities(caps));
 * ```
 */
export async function probeS3Store(
  rt: S3Runtime,
  bucket: string,
  probePrefix: string = DEFAULT_PROBE_PREFIX,
): Promise<StoreCapabilities> {
  const Key = `${probePrefix}${randomBytes(8).toString("hex")}`;
  const where = `s3://${bucket}/${probePrefix}`;
  const body = Buffer.from("rekey capability probe: safe to delete\n");
  const versions = new Set<string | undefined>();
  let uploadId: string | undefined;
  const missing: string[] = [];
  const refused = async (operation: string, step: () => Promise<unknown>): Promise<boolean> => {
    try {
      const out = (await step()) as { VersionId?: string } | undefined;
      versions.add(out?.VersionId);
      missing.push(`${operation} was accepted`);
      return false;
    } catch (e) {
      if (isPreconditionFailed(e)) return true;
      if (isNotImplemented(e)) {
        missing.push(`${operation} answered ${describeError(e).reason}`);
        return false;
      }
      throw probeError(where, operation, e);
    }
  };
  try {
    let etag: string;
    try {
      const out = await s3Send(rt, "PutObject", (s3, o) =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: body,
            ContentLength: body.length,
            Tagging: PROBE_TAG,
          }),
          o,
        ),
      );
      versions.add(out.VersionId);
      if (!out.ETag) throw new JobError("ERR_JOB_STORE_PROBE", `PutObject under ${where} answered no ETag`);
      etag = out.ETag;
    } catch (e) {
      throw probeError(where, "PutObject", e);
    }
    // Tags first: a conditional write the store accepts below replaces the object without them.
    const tags = await probeTagging(rt, bucket, Key, where, missing);
    const put = (condition: { IfMatch?: string; IfNoneMatch?: string }) => () =>
      s3Send(rt, "PutObject", (s3, o) =>
        s3.send(
          new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentLength: body.length, ...condition }),
          o,
        ),
      );
    // Each refused step leaves the scratch object as it was; an accepted one rewrites it with
    // the same bytes, so its ETag stays `etag`.
    const conditionalPut = await refused("If-Match on PutObject", put({ IfMatch: WRONG_ETAG }));
    const conditionalCreate = await refused("If-None-Match: * on PutObject", put({ IfNoneMatch: "*" }));
    const pinnedRead = await refused("If-Match on GetObject", async () => {
      const out = await s3Send(rt, "GetObject", (s3, o) =>
        s3.send(new GetObjectCommand({ Bucket: bucket, Key, IfMatch: WRONG_ETAG }), o),
      );
      await out.Body?.transformToByteArray();
      return undefined;
    });

    try {
      const created = await s3Send(rt, "CreateMultipartUpload", (s3, o) =>
        s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }), o),
      );
      uploadId = created.UploadId;
      if (!uploadId) throw new JobError("ERR_JOB_S3", "CreateMultipartUpload answered no upload id");
    } catch (e) {
      throw probeError(where, "CreateMultipartUpload", e);
    }
    const UploadId = uploadId;
    let partEtag: string | undefined;
    let uploadPartCopy = true;
    try {
      const out = await s3Send(rt, "UploadPartCopy", (s3, o) =>
        s3.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key,
            UploadId,
            PartNumber: 1,
            CopySource: copySourceOf(bucket, Key),
            CopySourceRange: `bytes=0-${body.length - 1}`,
            CopySourceIfMatch: etag,
          }),
          o,
        ),
      );
      partEtag = out.CopyPartResult?.ETag;
    } catch (e) {
      // Denied is the user's to fix; any other refusal means the job cannot use it: it streams.
      if (isDenied(e)) throw probeError(where, "UploadPartCopy", e);
      uploadPartCopy = false;
      missing.push(`UploadPartCopy answered ${describeError(e).reason}`);
    }
    if (!partEtag) {
      try {
        const out = await s3Send(rt, "UploadPart", (s3, o) =>
          s3.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key,
              UploadId,
              PartNumber: 1,
              Body: body,
              ContentLength: body.length,
            }),
            o,
          ),
        );
        partEtag = out.ETag;
      } catch (e) {
        throw probeError(where, "UploadPart", e);
      }
    }
    const conditionalComplete = await refused("If-Match on CompleteMultipartUpload", async () => {
      const out = await s3Send(rt, "CompleteMultipartUpload", (s3, o) =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key,
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: partEtag }] },
            IfMatch: WRONG_ETAG,
          }),
          o,
        ),
      );
      uploadId = undefined;
      return out;
    });
    return {
      store: `s3://${bucket}`,
      probePrefix,
      conditionalPut,
      conditionalCreate,
      pinnedRead,
      conditionalComplete,
      uploadPartCopy,
      ...tags,
      missing,
    };
  } finally {
    await cleanUp(rt, bucket, Key, uploadId, versions);
  }
}

/** The tag the scratch object is created with. */
const PROBE_TAG = "rekey-probe=1";

/** Does the store keep tags given with a write, and count them in a GET answer? */
async function probeTagging(
  rt: S3Runtime,
  bucket: string,
  Key: string,
  where: string,
  missing: string[],
): Promise<Pick<StoreCapabilities, "objectTagging" | "taggingOnWrite" | "taggingCount">> {
  let taggingOnWrite: boolean;
  try {
    const out = await s3Send(rt, "GetObjectTagging", (s3, o) =>
      s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key }), o),
    );
    taggingOnWrite = (out.TagSet ?? []).some((t) => `${t.Key}=${t.Value}` === PROBE_TAG);
  } catch (e) {
    if (!isNotImplemented(e)) throw probeError(where, "GetObjectTagging", e);
    missing.push(`GetObjectTagging answered ${describeError(e).reason}`);
    return { objectTagging: false, taggingOnWrite: false, taggingCount: false };
  }
  if (!taggingOnWrite) missing.push("tags given with PutObject (x-amz-tagging) were not stored");
  let taggingCount = false;
  try {
    const out = await s3Send(rt, "GetObject", (s3, o) =>
      s3.send(new GetObjectCommand({ Bucket: bucket, Key, Range: "bytes=0-0" }), o),
    );
    await out.Body?.transformToByteArray();
    taggingCount = out.TagCount === 1;
  } catch (e) {
    throw probeError(where, "GetObject", e);
  }
  if (!taggingCount && taggingOnWrite)
    missing.push("a GET does not count the object's tags (x-amz-tagging-count)");
  // Without tags stored on write the count cannot be seen; count it as missing: every object's
  // tags are then read.
  return { objectTagging: true, taggingOnWrite, taggingCount: taggingOnWrite && taggingCount };
}

/** Aborts the probe's upload and deletes every version it wrote; failures here are not the job's. */
async function cleanUp(
  rt: S3Runtime,
  bucket: string,
  Key: string,
  uploadId: string | undefined,
  versions: ReadonlySet<string | undefined>,
): Promise<void> {
  // Signal-free, few attempts: a cancelled job still removes its scratch objects.
  const cleanup: S3Runtime = {
    client: rt.client,
    counters: rt.counters,
    retry: Object.assign({}, rt.retry, { attempts: 3 }),
  };
  const UploadId = uploadId;
  if (UploadId)
    await s3Send(cleanup, "AbortMultipartUpload", (s3, o) =>
      s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }), o),
    ).catch(() => undefined);
  const ids = [...versions].filter((v): v is string => v !== undefined);
  // Unversioned: one delete. Versioned: every version the probe made, so no delete marker is left.
  for (const VersionId of ids.length > 0 ? ids : [undefined])
    await s3Send(cleanup, "DeleteObject", (s3, o) =>
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key, ...(VersionId ? { VersionId } : {}) }), o),
    ).catch(() => undefined);
}

function isNotImplemented(e: unknown): boolean {
  const status = httpStatusOf(e);
  const name = errorNameOf(e);
  return status === 501 || name === "NotImplemented" || name === "NotImplementedError";
}

function isDenied(e: unknown): boolean {
  return errorNameOf(e) === "AccessDenied" || httpStatusOf(e) === 403;
}

function probeError(where: string, operation: string, e: unknown): JobError {
  if (e instanceof JobError) return e;
  const name = errorNameOf(e);
  const denied = isDenied(e);
  const hint = denied
    ? `: the job needs s3:PutObject, s3:GetObject, s3:DeleteObject (and s3:DeleteObjectVersion on a versioned bucket) and s3:AbortMultipartUpload there; grant them, or choose another prefix with --probe-prefix`
    : name === "NoSuchBucket"
      ? ": the bucket does not exist"
      : "";
  return new JobError(
    "ERR_JOB_STORE_PROBE",
    `the store probe could not ${operation} under ${where} (${describeError(e).reason})${hint}`,
    { cause: e },
  );
}
