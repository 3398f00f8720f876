/**
 * After a conditional write answered 412, was the write ours after all? A retried PUT or
 * CompleteMultipartUpload whose first attempt succeeded but whose answer was lost sees its own
 * new ETag and fails the `If-Match`. The new prefix holds fresh KMS ciphertext, so an object
 * whose first bytes equal it, with the expected size, can only be the job's own write.
 */
import type { S3ObjectRef } from "../model/object-ref.js";
import { sameBytes } from "./verify-prefix.js";
import { totalSizeOf } from "../stores/s3/content-range.js";
import { getObjectBytes, type S3Runtime } from "../stores/s3/s3-runtime.js";

/** The object as the job wrote it, when it finds its own write. */
export interface ClaimedWrite {
  readonly etag?: string;
  readonly versionId?: string;
}

/**
 * Reads the current object's first bytes; returns its ETag if they are `prefix` and its size is
 * `size`, else `undefined` (a real conflict).
 *
 * @example
 * ```ts
 * const ours = await claimWrite(ref, newPrefix, newSize, rt);
 * if (!ours) throw conflict;
 * ```
 */
export async function claimWrite(
  ref: S3ObjectRef,
  prefix: Uint8Array,
  size: number,
  rt: S3Runtime,
): Promise<ClaimedWrite | undefined> {
  try {
    const { bytes, output } = await getObjectBytes(rt, {
      Bucket: ref.bucket,
      Key: ref.key,
      Range: `bytes=0-${prefix.length - 1}`,
    });
    const total = totalSizeOf(output.ContentRange) ?? output.ContentLength;
    if (total !== size || !sameBytes(bytes, prefix)) return undefined;
    return {
      ...(output.ETag ? { etag: output.ETag } : {}),
      ...(output.VersionId ? { versionId: output.VersionId } : {}),
    };
  } catch {
    // The object is gone or unreadable: whatever happened, it is not ours to claim.
    return undefined;
  }
}
