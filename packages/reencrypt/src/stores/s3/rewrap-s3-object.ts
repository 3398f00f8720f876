/**
 * Rewrap of an S3 object: new prefix (same header bytes, rewrapped keys) + the original body
 * bytes, written only if the object still has the ETag the plan read.
 *
 * - Up to the multipart threshold: the object is read whole (or reused from the header read),
 *   and one `PutObject` with `If-Match` writes it back.
 * - Above it: a multipart upload whose first part is the new prefix plus the first body bytes
 *   (read by a ranged GET) and whose other parts are `UploadPartCopy` ranges of the original
 *   (`x-amz-copy-source-if-match`), completed with `If-Match`; aborted on any failure. On a store
 *   without `UploadPartCopy`, the original is streamed into a multipart upload instead.
 *
 * Every read is pinned and compared with the plan (`pinned-read.ts`); on a store that ignores
 * conditional writes (allowed only with `writersStopped`) the object is read again right before
 * the write and read back after it (`store-guard.ts`).
 *
 * Attributes (metadata, content headers, storage class, SSE settings, tags) are carried over.
 * On a versioned bucket the write adds a version; the old one stays.
 */
import {
  CompleteMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { JobError, httpStatusOf } from "../../errors.js";
import type { JobContext } from "../../runner/job-context.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import { originalDigest, verificationKeyring } from "../../operations/plaintext-digest.js";
import { rewrapEntries } from "../../operations/rewrap-entries.js";
import type { ExpectedPrefix } from "../../operations/verify-prefix.js";
import { scopedKeyArns } from "../../kms/kms-scope.js";
import { claimWrite } from "../../operations/claim-write.js";
import { multipartLayout } from "./multipart-layout.js";
import { abortUpload, createUpload } from "./multipart-upload.js";
import {
  restoreTags,
  writeParamsFor,
  type PreservedWriteParams,
  type S3ObjectAttributes,
} from "./object-attributes.js";
import { openPinned, readPinned } from "./pinned-read.js";
import { s3Of } from "./read-s3-head.js";
import { asObjectError, isNoSuchUpload, isPreconditionFailed, s3Send, type S3Runtime } from "./s3-runtime.js";
import { recheckBeforeWrite, type StoreWriteMode } from "./store-guard.js";
import { uploadStream } from "./stream-upload.js";
import { verifyS3Object, type WrittenVersion } from "./verify-s3-object.js";

/**
 * Rewraps one S3 object per its plan (class `rewrap`) and verifies it.
 *
 * @example
 * ```ts
 * const mode = await ctx.stores.writeModeFor(ref.bucket);
 * const written = await rewrapS3Object(ref, plan, ctx, mode); // { etag, versionId }
 * ```
 */
export async function rewrapS3Object(
  ref: S3ObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
  mode: StoreWriteMode,
): Promise<WrittenVersion> {
  const rt = s3Of(ctx);
  const prefix = plan.prefix;
  if (!prefix || !plan.etag || !plan.headBytes)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header or ETag");
  const destinations = plan.actions.flatMap((a) => (a.kind === "rewrap" ? [a.destinationKeyId] : []));
  const keyArns = destinations.length > 0 ? destinations : scopedKeyArns(plan.sourceKeyArns, ctx.target);

  let before: string | undefined;
  if (ctx.settings.verify === "full") {
    const keyring = verificationKeyring(ctx, plan.sourceKeyArns);
    if (!keyring)
      throw new JobError("ERR_JOB_VERIFY", "no keyring can decrypt the original for full verification");
    const source = plan.whole ? Readable.from([Buffer.from(plan.whole)]) : await openPinned(rt, ref, plan);
    before = await originalDigest(source, keyring, ctx);
  }

  const attributes: S3ObjectAttributes = plan.attributes ?? { metadata: {}, tagCount: 0 };
  if (plan.size <= ctx.settings.multipartThreshold) {
    const whole = plan.whole ? Buffer.from(plan.whole) : await readPinned(rt, ref, plan);
    const next = await rewrapEntries(plan, ctx);
    const body = Buffer.concat([next.bytes, whole.subarray(prefix.bodyOffset)]);
    const expected: ExpectedPrefix = { bytes: next.bytes, size: body.length, header: prefix.header, keyArns };
    const params = await writeParamsFor(ref, attributes, rt, mode.capabilities);
    await recheckBeforeWrite(mode, rt, ref, plan);
    let written: WrittenVersion;
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
      written = {
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.VersionId ? { versionId: out.VersionId } : {}),
      };
    } catch (e) {
      written = await claimOrThrow(e, ref, expected, rt, "write");
    }
    // With `verify: "etag"`, S3's MD5 of the stored bytes proves the write without a read — but
    // not on a store that ignores conditions, where only a read-back shows what is there now.
    if (!(
      ctx.settings.verify === "etag" &&
      !mode.unconditional &&
      etagIsMd5Of(written.etag, body, attributes)
    ))
      await verifyS3Object(ref, written, expected, before, ctx, rt);
    await restoreTags(ref, written, params, mode.capabilities, rt);
    return written;
  }

  const next = await rewrapEntries(plan, ctx);
  const newSize = next.bytes.length + plan.size - prefix.bodyOffset;
  const expected: ExpectedPrefix = { bytes: next.bytes, size: newSize, header: prefix.header, keyArns };
  const params = await writeParamsFor(ref, attributes, rt, mode.capabilities);
  const written = mode.capabilities.uploadPartCopy
    ? await copyRewrite(ref, plan, ctx, mode, next.bytes, expected, params)
    : await streamRewrite(ref, plan, ctx, mode, next.bytes, expected, params);
  await verifyS3Object(ref, written, expected, before, ctx, rt);
  await restoreTags(ref, written, params, mode.capabilities, rt);
  return written;
}

/**
 * A large rewrap by multipart upload: part 1 is the new prefix plus the first body bytes (read
 * pinned, header included, so it is compared with the plan), the rest `UploadPartCopy` ranges of
 * the original, completed with `If-Match` on the planned ETag.
 */
async function copyRewrite(
  ref: S3ObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
  mode: StoreWriteMode,
  newPrefix: Uint8Array,
  expected: ExpectedPrefix,
  params: PreservedWriteParams,
): Promise<WrittenVersion> {
  const rt = s3Of(ctx);
  const prefix = plan.prefix as NonNullable<ObjectPlan["prefix"]>;
  const parts = multipartLayout({
    prefixLength: newPrefix.length,
    bodyOffset: prefix.bodyOffset,
    size: plan.size,
    copyPartBytes: ctx.settings.copyPartBytes,
  });
  let uploadId: string | undefined;
  try {
    const id = await createUpload(ref, params, rt);
    uploadId = id;
    const completed: CompletedPart[] = [];
    const copySource = `${ref.bucket}/${encodeURIComponent(ref.key)}${
      ref.versionId ? `?versionId=${encodeURIComponent(ref.versionId)}` : ""
    }`;
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
              `the store does not implement UploadPartCopy (HTTP 501), which the rewrap of objects above --multipart-threshold uses: ` +
                "raise --multipart-threshold above this object's size, or run the job again so the store probe finds it missing and streams instead",
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
      return {
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.VersionId ? { versionId: out.VersionId } : {}),
      };
    } catch (e) {
      // A retried complete whose first attempt succeeded finds no upload (or a new ETag): the
      // upload is gone either way, so there is nothing left to abort.
      if (isNoSuchUpload(e)) uploadId = undefined;
      const claimed = await claimOrThrow(e, ref, expected, rt, "complete");
      uploadId = undefined;
      return claimed;
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
  ref: S3ObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
  mode: StoreWriteMode,
  newPrefix: Uint8Array,
  expected: ExpectedPrefix,
  params: PreservedWriteParams,
): Promise<WrittenVersion> {
  const rt = s3Of(ctx);
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
      partBytes: ctx.settings.uploadPartBytes,
      beforeCommit: () => recheckBeforeWrite(mode, rt, ref, plan),
    });
  } catch (e) {
    original.destroy();
    return claimOrThrow(e, ref, expected, rt, "streamed rewrite");
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

/**
 * On 412 (or, for a multipart upload, `NoSuchUpload`), claims the write if it was ours — a lost
 * answer to a retried request — else rethrows.
 */
async function claimOrThrow(
  e: unknown,
  ref: S3ObjectRef,
  expected: ExpectedPrefix,
  rt: S3Runtime,
  step: string,
): Promise<WrittenVersion> {
  if (isPreconditionFailed(e) || isNoSuchUpload(e)) {
    const ours = await claimWrite(ref, expected.bytes, expected.size, rt);
    if (ours) return ours;
  }
  throw asObjectError(e, step);
}
