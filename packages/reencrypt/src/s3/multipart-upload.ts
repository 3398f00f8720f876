/**
 * Starting and aborting the job's multipart uploads, for the large rewrap and the streaming
 * re-encrypt alike.
 *
 * `CreateMultipartUpload` is not idempotent. An attempt whose answer is lost (the connection
 * dropped after S3 created the upload) leaves an upload whose id the job never learns; S3 keeps
 * it, and bills its parts, until a lifecycle rule removes it. So before creating, the job notes
 * the uploads of the key already in progress (one `ListMultipartUploads`); when an attempt went
 * unanswered and a retry succeeded, the uploads of the key that are neither noted nor the one
 * that answered, and have the same initiator, are the unanswered attempts' — the job aborts them.
 * If every attempt fails, the new uploads of the key are aborted all the same. An upload another
 * writer starts for the same key during those retries would look the same; that window is the
 * retries' few milliseconds.
 *
 * When the key's uploads cannot be listed (no `s3:ListBucketMultipartUploads` permission), an
 * unanswered attempt is not retried: the object fails, saying an upload may be left for a
 * lifecycle rule to collect, rather than a retry leaving one silently.
 */
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  type MultipartUpload,
} from "@aws-sdk/client-s3";
import { JobError, describeError, httpStatusOf } from "../errors.js";
import type { S3ObjectRef } from "../model/object-ref.js";
import type { PreservedWriteParams } from "./object-attributes.js";
import { isRetryableError } from "../run/retry.js";
import { s3Send, type S3Runtime } from "./s3-runtime.js";

/**
 * Starts a multipart upload of `ref` and returns its id. Retried like any request; uploads that
 * unanswered attempts may have started are aborted before this returns.
 *
 * @throws the last error when every attempt fails; `ERR_JOB_S3` when an attempt went unanswered
 * and the key's uploads cannot be listed, or a stray upload cannot be aborted.
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
  let before: ReadonlySet<string> | undefined;
  try {
    before = new Set((await uploadsOf(ref, rt)).flatMap((u) => (u.UploadId ? [u.UploadId] : [])));
  } catch (e) {
    if (rt.signal?.aborted) throw e;
    // Listing is refused or failing: without the list no stray can be told apart, so an
    // unanswered attempt below is final instead of retried.
    before = undefined;
  }
  let unanswered = 0;
  let uploadId: string | undefined;
  // No HTTP answer: S3 may have created the upload all the same.
  const noAnswer = (e: unknown): boolean => httpStatusOf(e) === undefined && !rt.signal?.aborted;
  try {
    const created = await s3Send(
      rt,
      "CreateMultipartUpload",
      async (s3, o) => {
        try {
          return await s3.send(
            new CreateMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, ...params }),
            o,
          );
        } catch (e) {
          if (noAnswer(e)) unanswered++;
          throw e;
        }
      },
      // Without the list of uploads from before, a stray could not be told apart: no retry.
      { isRetryable: (e) => isRetryableError(e) && (before !== undefined || !noAnswer(e)) },
    );
    uploadId = created.UploadId;
  } catch (e) {
    if (unanswered === 0) throw e;
    // Every attempt failed, some unanswered: remove what they may have started, if that can be told.
    let cleaned = false;
    if (before) {
      try {
        await abortStrays(ref, undefined, before, rt);
        cleaned = true;
      } catch (cleanupError) {
        if (e instanceof Error)
          e.message += ` (listing uploads failed: ${describeError(cleanupError).reason})`;
      }
    }
    throw new JobError(
      "ERR_JOB_S3",
      `CreateMultipartUpload failed (${describeError(e).reason}) after ${unanswered} unanswered attempt(s)` +
        (cleaned
          ? "; the uploads they started were aborted"
          : (before ? "" : ", not retried since the uploads of the key cannot be listed") +
            `: an upload of ${ref.key} may be left for a lifecycle rule for incomplete multipart uploads to remove`),
      { cause: e },
    );
  }
  if (!uploadId) throw new JobError("ERR_JOB_S3", "CreateMultipartUpload answered no upload id");
  if (unanswered > 0 && before) {
    try {
      await abortStrays(ref, uploadId, before, rt);
    } catch (e) {
      await abortUpload(ref, uploadId, rt, e);
      throw new JobError(
        "ERR_JOB_S3",
        `an unanswered CreateMultipartUpload may have left an upload of ${ref.key}, and removing it failed: ${describeError(e).reason}`,
        { cause: e },
      );
    }
  }
  return uploadId;
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
    retry: { ...rt.retry, attempts: 3 },
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

/**
 * Aborts the uploads of `ref` that unanswered attempts started: new since `before`, not `ours`,
 * and started by the same initiator as `ours` (when there is one).
 */
async function abortStrays(
  ref: S3ObjectRef,
  ours: string | undefined,
  before: ReadonlySet<string>,
  rt: S3Runtime,
): Promise<void> {
  const uploads = await uploadsOf(ref, rt);
  const mine = ours === undefined ? undefined : uploads.find((u) => u.UploadId === ours);
  for (const u of uploads) {
    const id = u.UploadId;
    if (id === undefined || id === ours || before.has(id)) continue;
    if (mine && u.Initiator?.ID !== mine.Initiator?.ID) continue;
    await s3Send(rt, "AbortMultipartUpload", (s3, o) =>
      s3.send(new AbortMultipartUploadCommand({ Bucket: ref.bucket, Key: ref.key, UploadId: id }), o),
    );
  }
}

/** The in-progress uploads of exactly `ref.key` (listed by prefix, paged). */
async function uploadsOf(ref: S3ObjectRef, rt: S3Runtime): Promise<MultipartUpload[]> {
  const out: MultipartUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3Send(rt, "ListMultipartUploads", (s3, o) =>
      s3.send(
        new ListMultipartUploadsCommand({
          Bucket: ref.bucket,
          Prefix: ref.key,
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
        o,
      ),
    );
    for (const u of page.Uploads ?? []) if (u.Key === ref.key) out.push(u);
    // Keys sort after their prefix: once the listing is past this key, the rest is others'.
    if (!page.IsTruncated || (page.NextKeyMarker !== undefined && page.NextKeyMarker > ref.key)) return out;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
    if (keyMarker === undefined) return out;
  }
}
