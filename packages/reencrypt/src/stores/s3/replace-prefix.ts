/**
 * The S3 store's prefix replacement: new prefix (same header bytes, rewrapped keys) + the
 * original body bytes, written only if the object still has the planned ETag.
 *
 * - Up to the multipart threshold: the object is read whole (pinned, or reused from the header
 *   read), and one `PutObject` with `If-Match` writes it back.
 * - Above it: a multipart upload whose first part is the new prefix plus the first body bytes
 *   (read pinned, header included) and whose other parts are `UploadPartCopy` ranges of the
 *   original (`x-amz-copy-source-if-match`), completed with `If-Match`; aborted on any failure.
 *   On a store without `UploadPartCopy`, the original is streamed into a multipart upload.
 *
 * On a store that ignores conditional writes (allowed only with `writersStopped`) the object is
 * read again right before the write. Attributes (metadata, content headers, storage class, SSE
 * settings, tags) are carried over. On a versioned bucket the write adds a version.
 */
import {
  CompleteMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { JobError, httpStatusOf } from "../../errors.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import type { StoreWriteMode, WrittenVersion } from "../../model/object-store.js";
import { multipartLayout } from "./multipart-layout.js";
import { abortUpload, createUpload } from "./multipart-upload.js";
import {
  restoreTags,
  s3AttributesOf,
  writeParamsFor,
  type PreservedWriteParams,
  type S3ObjectAttributes,
} from "./object-attributes.js";
import { openPinned, readPinned } from "./pinned-read.js";
import type { StoreCapabilities } from "./probe-store.js";
import {
  asObjectError,
  copySourceOf,
  isNoSuchUpload,
  s3RefOf,
  s3Send,
  writtenVersionOf,
  type S3Runtime,
} from "./s3-runtime.js";
import { recheckBeforeWrite } from "./store-guard.js";
import { uploadStream } from "./stream-upload.js";

/** The part sizes of the S3 store's writes. */
export interface S3WriteSettings {
  /** Objects above this are written by multipart upload. */
  readonly multipartThreshold: number;
  /** Size of each server-side copied part. */
  readonly copyPartBytes: number;
  /** Part size of streamed uploads. */
  readonly uploadPartBytes: number;
}

/**
 * Replaces the prefix of one S3 object per its plan.
 *
 * @throws JobError `ERR_JOB_CONFLICT` when the object is not the planned version.
 * @example
 * ```ts
 * const written = await replaceS3Prefix(rt, plan, newPrefix, mode, capabilities, settings);
 * ```
 */
export async function replaceS3Prefix(
  rt: S3Runtime,
  plan: ObjectPlan,
  newPrefix: Uint8Array,
  mode: StoreWriteMode,
  store: StoreCapabilities,
  settings: S3WriteSettings,
): Promise<WrittenVersion> {
  const ref = s3RefOf(plan.ref);
  const prefix = plan.prefix;
  if (!prefix || !plan.etag || !plan.headBytes)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header or ETag");
  const attributes = s3AttributesOf(plan);
  const params = await writeParamsFor(ref, attributes, rt, store);
  let written: WrittenVersion;
  if (plan.size <= settings.multipartThreshold) {
    const whole =
      plan.whole && plan.whole.length === plan.size
        ? Buffer.from(plan.whole)
        : await readPinned(rt, ref, plan);
    const body = Buffer.concat([newPrefix, whole.subarray(prefix.bodyOffset)]);
    await recheckBeforeWrite(mode, rt, ref, plan);
    try {
      const out = await s3Send(rt, "PutObject", (s3, o) =>
        s3.send(
          new PutObjectCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            Body: body,
            ContentLength: body.length,
            IfMatch: plan.etag,
            ...params,
          }),
          o,
        ),
      );
      rt.counters.bytes.written += body.length;
      const version = writtenVersionOf(out);
      // S3's MD5 of the stored bytes proves the write without a read.
      if (etagIsMd5Of(out.ETag, body, attributes)) version.proven = true;
      written = version;
    } catch (e) {
      throw asObjectError(e, "write");
    }
  } else
    written = store.uploadPartCopy
      ? await copyRewrite(rt, ref, plan, mode, newPrefix, params, settings)
      : await streamRewrite(rt, ref, plan, mode, newPrefix, params, settings);
  await restoreTags(ref, written, params, store, rt);
  return written;
}

/**
 * A large rewrap by multipart upload: part 1 is the new prefix plus the first body bytes (read
 * pinned, header included, so it is compared with the plan), the rest `UploadPartCopy` ranges of
 * the original, completed with `If-Match` on the planned ETag.
 */
async function copyRewrite(
  rt: S3Runtime,
  ref: S3ObjectRef,
  plan: ObjectPlan,
  mode: StoreWriteMode,
  newPrefix: Uint8Array,
  params: PreservedWriteParams,
  settings: S3WriteSettings,
): Promise<WrittenVersion> {
  const prefix = plan.prefix as NonNullable<ObjectPlan["prefix"]>;
  const parts = multipartLayout({
    prefixLength: newPrefix.length,
    bodyOffset: prefix.bodyOffset,
    size: plan.size,
    copyPartBytes: settings.copyPartBytes,
  });
  let uploadId: string | undefined;
  try {
    const id = await createUpload(ref, params, rt);
    uploadId = id;
    const completed: CompletedPart[] = [];
    const copySource = copySourceOf(ref.bucket, ref.key, ref.versionId);
    for (const part of parts) {
      if (part.kind === "upload") {
        const first = await readPinned(rt, ref, plan, Math.max(part.end, prefix.bodyOffset));
        const body = Buffer.concat([newPrefix, first.subarray(part.start, part.end)]);
        const out = await s3Send(rt, "UploadPart", (s3, o) =>
          s3.send(
            new UploadPartCommand({
              Bucket: ref.bucket,
              Key: ref.key,
              UploadId: id,
              PartNumber: 1,
              Body: body,
              ContentLength: body.length,
            }),
            o,
          ),
        );
        rt.counters.bytes.written += body.length;
        completed.push({ PartNumber: 1, ETag: out.ETag });
      } else {
        let out;
        try {
          out = await s3Send(rt, "UploadPartCopy", (s3, o) =>
            s3.send(
              new UploadPartCopyCommand({
                Bucket: ref.bucket,
                Key: ref.key,
                UploadId: id,
                PartNumber: part.partNumber,
                CopySource: copySource,
                CopySourceRange: `bytes=${part.start}-${part.end - 1}`,
                CopySourceIfMatch: plan.etag,
              }),
              o,
            ),
          );
        } catch (e) {
          if (httpStatusOf(e) === 501)
            throw new JobError(
              "ERR_JOB_S3",
              "the store does not implement UploadPartCopy (HTTP 501), which the rewrap of objects above " +
                "--multipart-threshold uses: run the job again (its store probe then finds it missing and " +
                "streams these objects), or raise --multipart-threshold above this object's size",
              { cause: e },
            );
          throw e;
        }
        rt.counters.bytes.copiedServerSide += part.end - part.start;
        completed.push({ PartNumber: part.partNumber, ETag: out.CopyPartResult?.ETag });
      }
    }
    await recheckBeforeWrite(mode, rt, ref, plan);
    try {
      const out = await s3Send(rt, "CompleteMultipartUpload", (s3, o) =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            UploadId: id,
            MultipartUpload: { Parts: completed },
            IfMatch: plan.etag,
          }),
          o,
        ),
      );
      uploadId = undefined;
      return writtenVersionOf(out);
    } catch (e) {
      // A retried complete whose first attempt succeeded finds no upload (or a new ETag): the
      // upload is gone either way, and the object may be the job's (the caller checks).
      if (isNoSuchUpload(e)) {
        uploadId = undefined;
        throw new JobError("ERR_JOB_CONFLICT", "complete: the upload is gone (completed by a lost answer?)", {
          cause: e,
        });
      }
      throw e;
    }
  } catch (e) {
    if (uploadId) await abortUpload(ref, uploadId, rt, e);
    throw asObjectError(e, "multipart rewrite");
  }
}

/**
 * A large rewrap on a store without `UploadPartCopy`: the original is streamed (pinned, header
 * compared as it passes) behind the new prefix into a streaming upload of `uploadPartBytes`
 * parts, committed with `If-Match` on the planned ETag. Memory stays at one part.
 */
async function streamRewrite(
  rt: S3Runtime,
  ref: S3ObjectRef,
  plan: ObjectPlan,
  mode: StoreWriteMode,
  newPrefix: Uint8Array,
  params: PreservedWriteParams,
  settings: S3WriteSettings,
): Promise<WrittenVersion> {
  const bodyOffset = (plan.prefix as NonNullable<ObjectPlan["prefix"]>).bodyOffset;
  const original = await openPinned(rt, ref, plan);
  async function* rewritten(): AsyncGenerator<Buffer> {
    yield Buffer.from(newPrefix);
    let skip = bodyOffset;
    for await (const chunk of original) {
      const b = chunk as Buffer;
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      yield skip > 0 ? b.subarray(skip) : b;
      skip = 0;
    }
  }
  try {
    return await uploadStream(rewritten(), rt, {
      ref,
      ifMatch: plan.etag as string,
      params,
      partBytes: settings.uploadPartBytes,
      beforeCommit: () => recheckBeforeWrite(mode, rt, ref, plan),
    });
  } catch (e) {
    original.destroy();
    throw asObjectError(e, "streamed rewrite");
  }
}

/**
 * True when `etag` is the MD5 of `body`. Only meaningful for objects without SSE-KMS (whose ETag
 * is not an MD5 of the content); any mismatch means "not proved", and the caller reads back.
 */
function etagIsMd5Of(etag: string | undefined, body: Uint8Array, a: S3ObjectAttributes): boolean {
  if (!etag || a.serverSideEncryption?.startsWith("aws:kms")) return false;
  return etag.replace(/^"|"$/g, "") === createHash("md5").update(body).digest("hex");
}
