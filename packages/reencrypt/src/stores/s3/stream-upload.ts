/**
 * Writes a byte stream of unknown length to S3 with bounded memory: bytes are gathered into one
 * part buffer of `partBytes`; a stream that ends within the first part becomes one `PutObject`,
 * a longer one a multipart upload whose parts go up one at a time (the stream waits meanwhile —
 * back-pressure, so memory stays at one part plus stream buffers). Both end with the conditional
 * write (`If-Match` for a replacement, `If-None-Match: *` for a new object); `beforeCommit` runs
 * just before it, and can still veto the write.
 * A failure aborts the multipart upload. A `NoSuchUpload` answer to the complete is rethrown
 * as is: after a lost answer, a retry finds the upload already completed.
 */
import {
  CompleteMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import type { S3ObjectRef } from "../../model/object-ref.js";
import { abortUpload, createUpload } from "./multipart-upload.js";
import type { PreservedWriteParams } from "./object-attributes.js";
import { isNoSuchUpload, s3Send, writtenVersionOf, type S3Runtime } from "./s3-runtime.js";
import type { WrittenVersion } from "../../model/object-store.js";

/** Options of {@link uploadStream}. */
export interface UploadStreamOptions {
  readonly ref: S3ObjectRef;
  /** The ETag the object must still have when the write commits. */
  readonly ifMatch?: string;
  /** Create only: the write fails (412) if any object has the key when it commits. @default false */
  readonly ifNoneMatch?: boolean;
  readonly params: PreservedWriteParams;
  /** Bytes per part (≥ 5 MiB); the memory an upload holds. */
  readonly partBytes: number;
  /** Called after the last byte, before the committing request; throw to abort. */
  readonly beforeCommit?: (size: number) => void | Promise<void>;
}

/** What {@link uploadStream} wrote. */
export interface UploadedObject extends WrittenVersion {
  readonly size: number;
}

/**
 * Consumes `source` and writes it as the object, conditionally.
 *
 * @example
 * ```ts
 * await pipeline(body, decryptStream(o), encryptStream(p), (src) => uploadStream(src, rt, options));
 * ```
 */
export async function uploadStream(
  source: AsyncIterable<Buffer>,
  rt: S3Runtime,
  options: UploadStreamOptions,
): Promise<UploadedObject> {
  const { ref, partBytes } = options;
  const conditions: { IfMatch?: string; IfNoneMatch?: string } = {};
  if (options.ifMatch) conditions.IfMatch = options.ifMatch;
  if (options.ifNoneMatch) conditions.IfNoneMatch = "*";
  let uploadId: string | undefined;
  const parts: CompletedPart[] = [];
  let buffer = Buffer.allocUnsafe(partBytes);
  let filled = 0;
  let size = 0;

  const flushPart = async (): Promise<void> => {
    uploadId ??= await createUpload(ref, options.params, rt);
    const id = uploadId;
    const body = buffer.subarray(0, filled);
    const partNumber = parts.length + 1;
    const out = await s3Send(rt, "UploadPart", (s3, o) =>
      s3.send(
        new UploadPartCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          UploadId: id,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        o,
      ),
    );
    rt.counters.bytes.written += body.length;
    parts.push({ PartNumber: partNumber, ETag: out.ETag });
    // A new buffer: the SDK may still hold the old one until its request settles.
    buffer = Buffer.allocUnsafe(partBytes);
    filled = 0;
  };

  try {
    for await (const chunk of source) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(chunk.length - at, partBytes - filled);
        chunk.copy(buffer, filled, at, at + n);
        filled += n;
        at += n;
        size += n;
        if (filled === partBytes) await flushPart();
      }
    }
    if (!uploadId) {
      await options.beforeCommit?.(size);
      const body = buffer.subarray(0, filled);
      const out = await s3Send(rt, "PutObject", (s3, o) =>
        s3.send(
          new PutObjectCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            Body: body,
            ContentLength: body.length,
            ...conditions,
            ...options.params,
          }),
          o,
        ),
      );
      rt.counters.bytes.written += body.length;
      return { size, ...writtenVersionOf(out) };
    }
    if (filled > 0) await flushPart();
    await options.beforeCommit?.(size);
    const id = uploadId;
    let out;
    try {
      out = await s3Send(rt, "CompleteMultipartUpload", (s3, o) =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            UploadId: id,
            MultipartUpload: { Parts: parts },
            ...conditions,
          }),
          o,
        ),
      );
    } catch (e) {
      // Gone: completed by an attempt whose answer was lost (the caller can check the object
      // for its own bytes), or aborted. Either way there is nothing to abort.
      if (isNoSuchUpload(e)) uploadId = undefined;
      throw e;
    }
    uploadId = undefined;
    return { size, ...writtenVersionOf(out) };
  } catch (e) {
    if (uploadId) await abortUpload(ref, uploadId, rt, e);
    throw e;
  }
}
