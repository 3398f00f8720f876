/**
 * Starting and aborting the job's multipart uploads, for the large rewrap and the streaming
 * re-encrypt alike.
 *
 * `CreateMultipartUpload` is retried like any request. An attempt whose answer is lost (the
 * connection dropped after S3 created the upload) leaves an upload whose id the job never learns.
 * It holds no part, so it stores and bills nothing, and a bucket lifecycle rule for incomplete
 * multipart uploads removes it. The job never aborts an upload it did not start: an upload of the
 * same key another writer began meanwhile cannot be told apart from a stray by anything S3 lists,
 * and aborting it would lose that writer's data.
 */
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { JobError, describeError } from "../../errors.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import type { PreservedWriteParams } from "./object-attributes.js";
import { s3Send, type S3Runtime } from "./s3-runtime.js";

/**
 * Starts a multipart upload of `ref` and returns its id (retried like any request).
 *
 * @throws the last error when every attempt fails; `ERR_JOB_S3` when S3 answers no upload id.
 * @example
 * ```ts
 * const uploadId = await createUpload(ref, params, rt);
 * try { ...parts...; complete } catch (e) { await abortUpload(ref, uploadId, rt, e); throw e; }
 * ```
 */
export async function createUpload(
  ref: S3ObjectRef,
  params: PreservedWriteParams,
  rt: S3Runtime,
): Promise<string> {
  const created = await s3Send(rt, "CreateMultipartUpload", (s3, o) =>
    s3.send(new CreateMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, ...params }), o),
  );
  if (!created.UploadId) throw new JobError("ERR_JOB_S3", "CreateMultipartUpload answered no upload id");
  return created.UploadId;
}

/**
 * Aborts a multipart upload after a failure. Uses a signal-free runtime so a cancelled job still
 * cleans up; if the abort itself fails, the original error stays the reported one and the abort
 * failure is attached to its message (a bucket lifecycle rule for incomplete uploads collects
 * the rest).
 *
 * @example
 * ```ts
 * catch (e) { if (uploadId) await abortUpload(ref, uploadId, rt, e); throw e; }
 * ```
 */
export async function abortUpload(
  ref: S3ObjectRef,
  uploadId: string,
  rt: S3Runtime,
  cause: unknown,
): Promise<void> {
  const cleanup: S3Runtime = {
    client: rt.client,
    counters: rt.counters,
    retry: Object.assign({}, rt.retry, { attempts: 3 }),
  };
  try {
    await s3Send(cleanup, "AbortMultipartUpload", (s3, o) =>
      s3.send(new AbortMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: uploadId }), o),
    );
  } catch (abortError) {
    if (cause instanceof Error)
      cause.message += ` (and aborting upload ${uploadId} failed: ${describeError(abortError).reason})`;
  }
}
