/**
 * Every S3 request of the job goes through {@link s3Send} (or, for a listing, {@link s3Pages}):
 * counted, retried with backoff on `SlowDown`, 5xx and network errors, and cancelled by the
 * job's signal. Reads that consume a body ({@link getObjectBytes}) retry the request and the
 * body read together, since a body that fails halfway cannot be resumed.
 */
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type S3Client,
  type S3PaginationConfiguration,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { JobError, describeError, errorNameOf, httpStatusOf } from "../../errors.js";
import type { JobCounters } from "../../support/job-counters.js";
import { isThrottle } from "../../support/retry.js";
import type { ObjectRef, S3ObjectRef } from "../../model/object-ref.js";
import type { WrittenVersion } from "../../model/object-store.js";
import type { Mutable } from "../../support/mutable.js";
import { retry, type RetryCallOptions, type RetryEvent, type RetryOptions } from "../../support/retry.js";

/** What S3 requests need from the job. */
export interface S3Runtime {
  readonly client: S3Client;
  readonly counters: JobCounters;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryOptions;
  readonly signal?: AbortSignal;
}

/** Options of one {@link s3Send}. */
export interface S3SendOptions<O> {
  /** Reads the answer's body within the same attempt (a failed read retries the request). */
  readonly consume?: (output: O) => Promise<O>;
  /** Which errors are retried. @default isRetryableError */
  readonly isRetryable?: (e: unknown) => boolean;
}

/**
 * Sends one S3 command with retries; `operation` names it in counters (`"PutObject"`).
 *
 * @example
 * ```ts
 * const out = await s3Send(rt, "PutObject", (s3, o) => s3.send(new PutObjectCommand(input), o));
 * ```
 */
export async function s3Send<O>(
  rt: S3Runtime,
  operation: string,
  call: (client: S3Client, options: { abortSignal?: AbortSignal }) => Promise<O>,
  options: S3SendOptions<O> = {},
): Promise<O> {
  const { consume } = options;
  return retry(
    async () => {
      rt.counters.request("s3", operation);
      const out = await call(rt.client, sendOptionsOf(rt));
      return consume ? consume(out) : out;
    },
    retryPolicyOf(rt, operation, options.isRetryable),
  );
}

/** One of the SDK's S3 paginators, e.g. `paginateListObjectsV2`. */
export type S3Paginator<I, O> = (
  config: S3PaginationConfiguration,
  input: I,
  options: { abortSignal?: AbortSignal },
) => AsyncGenerator<O, undefined, unknown>;

/**
 * The pages of an S3 listing, read by one of the SDK's paginators, each request counted,
 * retried and cancelled as {@link s3Send} sends one. A paginator sends its commands through the
 * client itself, so the policy rides on each command as a middleware of its `initialize` step
 * (outside the client's own middleware, as `s3Send` is outside `send`). `pageSize` fills the
 * operation's page size field (`MaxKeys`, `MaxParts`) when the input leaves it out.
 *
 * @example
 * ```ts
 * const pages = s3Pages(rt, "ListObjectsV2", paginateListObjectsV2, { Bucket: "data" }, 1000);
 * for await (const page of pages) for (const o of page.Contents ?? []) console.log(o.Key);
 * ```
 */
export function s3Pages<I extends object, O>(
  rt: S3Runtime,
  operation: string,
  paginate: S3Paginator<I, O>,
  input: I,
  pageSize?: number,
): AsyncGenerator<O, undefined, unknown> {
  const policy = retryPolicyOf(rt, operation);
  const config: S3PaginationConfiguration = {
    client: rt.client,
    ...(pageSize !== undefined ? { pageSize } : {}),
    // A store that answers the token it was given would otherwise be listed forever.
    stopOnSameToken: true,
    withCommand: (command) => {
      command.middlewareStack.add(
        (next) => (args) =>
          retry(() => {
            rt.counters.request("s3", operation);
            return next(args);
          }, policy),
        { step: "initialize", priority: "high", name: "rekeyRetry" },
      );
      return command;
    },
  };
  // The paginator writes its token into the input it is given: a copy keeps the caller's intact.
  return paginate(config, { ...input }, sendOptionsOf(rt));
}

function sendOptionsOf(rt: S3Runtime): { abortSignal?: AbortSignal } {
  return rt.signal ? { abortSignal: rt.signal } : {};
}

function retryPolicyOf(
  rt: S3Runtime,
  operation: string,
  isRetryable?: (e: unknown) => boolean,
): RetryCallOptions {
  return Object.assign(
    {},
    rt.retry,
    rt.signal ? { signal: rt.signal } : undefined,
    isRetryable ? { isRetryable } : undefined,
    { onRetry: (e: RetryEvent) => rt.counters.retried("s3", operation, isThrottle(e.error)) },
  );
}

/** A GET answer with its body read into memory. */
export interface ObjectBytes {
  readonly output: GetObjectCommandOutput;
  readonly bytes: Buffer;
}

/**
 * GETs an object (or a range of it) and reads the whole body, counted as bytes read. Use only
 * for bounded sizes: a header range, a part, an object under the multipart threshold.
 *
 * @example
 * ```ts
 * const { bytes, output } = await getObjectBytes(rt, { Bucket, Key, Range: "bytes=0-4095" });
 * ```
 */
export async function getObjectBytes(rt: S3Runtime, input: GetObjectCommandInput): Promise<ObjectBytes> {
  let bytes: Buffer = Buffer.alloc(0);
  const output = await s3Send<GetObjectCommandOutput>(
    rt,
    "GetObject",
    (s3, o) => s3.send(new GetObjectCommand(input), o),
    {
      consume: async (out) => {
        bytes = await readAll(out.Body as Readable | undefined, rt.counters);
        return out;
      },
    },
  );
  return { output, bytes };
}

async function readAll(body: Readable | undefined, counters: JobCounters): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    const b = chunk as Buffer;
    counters.bytes.read += b.length;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * True for HTTP 412: a conditional read or write found another ETag.
 *
 * @example
 * ```ts
 * if (isPreconditionFailed(e)) return conflict();
 * ```
 */
export function isPreconditionFailed(e: unknown): boolean {
  return httpStatusOf(e) === 412 || errorNameOf(e) === "PreconditionFailed";
}

/**
 * True when the object (or version) does not exist.
 *
 * @example
 * ```ts
 * if (isNoSuchKey(e)) return deleted();
 * ```
 */
export function isNoSuchKey(e: unknown): boolean {
  const name = errorNameOf(e);
  return name === "NoSuchKey" || name === "NoSuchVersion" || (httpStatusOf(e) === 404 && name === "NotFound");
}

/**
 * True when a multipart upload no longer exists: aborted, or already completed — the answer to
 * a retried `CompleteMultipartUpload` whose first attempt succeeded but whose answer was lost.
 *
 * @example
 * ```ts
 * if (isNoSuchUpload(e)) return claimWrite(ref, prefix, size, rt);
 * ```
 */
export function isNoSuchUpload(e: unknown): boolean {
  return errorNameOf(e) === "NoSuchUpload";
}

/**
 * True when the bucket does not exist.
 *
 * @example
 * ```ts
 * if (isNoSuchBucket(e)) throw new JobError("ERR_JOB_SOURCE", "no such bucket");
 * ```
 */
export function isNoSuchBucket(e: unknown): boolean {
  return errorNameOf(e) === "NoSuchBucket";
}

/**
 * Maps the S3 errors that mean "someone else changed this object" to `ERR_JOB_CONFLICT`, and
 * other S3 errors to `ERR_JOB_S3`, keeping the cause. `JobError`s pass through.
 *
 * @example
 * ```ts
 * try { await put(); } catch (e) { throw asObjectError(e, "write"); }
 * ```
 */
export function asObjectError(e: unknown, step: string): unknown {
  if (e instanceof JobError) return e;
  if (isPreconditionFailed(e))
    return new JobError("ERR_JOB_CONFLICT", `${step}: the object changed since it was read (412)`, {
      cause: e,
    });
  if (isNoSuchKey(e))
    return new JobError("ERR_JOB_CONFLICT", `${step}: the object was deleted since it was read`, {
      cause: e,
    });
  // The job's own upload is gone: completed by an attempt whose answer was lost, or aborted.
  if (isNoSuchUpload(e))
    return new JobError("ERR_JOB_CONFLICT", `${step}: the multipart upload is gone`, { cause: e });
  if (typeof (e as { $metadata?: unknown })?.$metadata === "object")
    return new JobError("ERR_JOB_S3", `${step}: ${describeError(e).reason}`, { cause: e });
  return e;
}

/**
 * The S3 reference of an object the S3 store was given.
 *
 * @throws JobError `ERR_JOB_INVALID_OPTION` for another kind of object.
 * @example
 * ```ts
 * const ref = s3RefOf(plan.ref);
 * ```
 */
export function s3RefOf(ref: ObjectRef): S3ObjectRef {
  if (ref.kind !== "s3")
    throw new JobError("ERR_JOB_INVALID_OPTION", `the S3 store was given a ${ref.kind} object`);
  return ref;
}

/**
 * The `x-amz-copy-source` of an object: `bucket/key[?versionId=…]`, each key segment
 * URL-encoded and its `/` kept (a store that decodes the header with `decodeURI` would look for a
 * key with a literal `%2F` otherwise).
 *
 * @example
 * ```ts
 * copySourceOf("data", "dir/a b.rkey"); // "data/dir/a%20b.rkey"
 * ```
 */
export function copySourceOf(bucket: string, key: string, versionId?: string): string {
  const path = key.split("/").map(encodeURIComponent).join("/");
  return `${bucket}/${path}${versionId ? `?versionId=${encodeURIComponent(versionId)}` : ""}`;
}

/**
 * The version an S3 answer names (a write's, or a read's): its ETag and version id, each only when
 * S3 sent it.
 *
 * @example
 * ```ts
 * const written = writtenVersionOf(await s3.send(new PutObjectCommand(input)));
 * ```
 */
export function writtenVersionOf(out: {
  readonly ETag?: string | undefined;
  readonly VersionId?: string | undefined;
}): Mutable<WrittenVersion> {
  const v: Mutable<WrittenVersion> = {};
  if (out.ETag) v.etag = out.ETag;
  if (out.VersionId) v.versionId = out.VersionId;
  return v;
}
