/**
 * Parts of a multipart upload: UploadPart (a body), UploadPartCopy (a byte range of another
 * object, shared rather than copied; only read once for its MD5) and ListParts.
 */
import { sliceExtents } from "./blobs.js";
import type { Extent } from "./blobs.js";
import { MAX_PUT_SIZE, receiveBlob } from "./body.js";
import { checksumHeaderName } from "./checksum.js";
import { bucketOf, integerParam, keyOf } from "./context.js";
import type { S3Context } from "./context.js";
import { digestExtents, resolveCopySource } from "./copy-source.js";
import { S3Error } from "./errors.js";
import { encryptionHeaders, headerOf } from "./headers.js";
import { OWNER } from "./model.js";
import type { Bucket, Part } from "./model.js";
import { checksumElement, uploadIdOf } from "./multipart.js";
import { parseCopySourceRange } from "./range.js";
import { isoDate, sendEmpty, sendXml } from "./response.js";
import { el, opt } from "./xml.js";

const MAX_PART_NUMBER = 10_000;

function partNumberOf(ctx: S3Context): number {
  const partNumber = integerParam(ctx, "partNumber", 0);
  if (partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new S3Error("InvalidArgument", {
      message: "Part number must be an integer between 1 and 10000, inclusive",
      details: { ArgumentName: "partNumber", ArgumentValue: ctx.route.query.get("partNumber") ?? "" },
    });
  }
  return partNumber;
}

/**
 * Stores a part, replacing a previous part with the same number. The upload is looked up again
 * because it may have been completed or aborted while the part's bytes arrived.
 */
function storePart(ctx: S3Context, bucket: Bucket, key: string, part: Part): void {
  const upload = ctx.store.upload(bucket, key, uploadIdOf(ctx));
  ctx.blobs.retain(part.extents);
  const previous = upload.parts.get(part.partNumber);
  upload.parts.set(part.partNumber, part);
  if (previous !== undefined) ctx.blobs.release(previous.extents);
}

/** UploadPart. */
export async function uploadPart(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = ctx.store.upload(bucket, key, uploadIdOf(ctx));
  const { extents, body } = await receiveBlob(ctx.req, ctx.blobs, {
    maxSize: MAX_PUT_SIZE,
    ...(upload.checksumAlgorithm === undefined ? {} : { checksumAlgorithm: upload.checksumAlgorithm }),
  });
  const part: Part = {
    partNumber,
    etag: body.md5.toString("hex"),
    size: body.size,
    extents,
    lastModified: ctx.clock.now(),
    ...(body.checksum === undefined ? {} : { checksum: body.checksum }),
  };
  try {
    storePart(ctx, bucket, key, part);
  } catch (error) {
    ctx.blobs.discard(extents);
    throw error;
  }
  sendEmpty(ctx, 200, {
    etag: `"${part.etag}"`,
    ...encryptionHeaders(upload.props.encryption),
    ...(part.checksum === undefined
      ? {}
      : { [checksumHeaderName(part.checksum.algorithm)]: part.checksum.value }),
  });
}

/** UploadPartCopy: the whole source, or `x-amz-copy-source-range: bytes=first-last`. */
export async function uploadPartCopy(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const partNumber = partNumberOf(ctx);
  const upload = ctx.store.upload(bucket, key, uploadIdOf(ctx));
  const source = resolveCopySource(ctx);
  const { version } = source;
  const rangeHeader = headerOf(ctx.req, "x-amz-copy-source-range");
  const range =
    rangeHeader === undefined
      ? { start: 0, end: version.size - 1 }
      : parseCopySourceRange(rangeHeader, version.size);
  const length = range.end - range.start + 1;
  if (length > MAX_PUT_SIZE) throw new S3Error("EntityTooLarge");

  const extents: Extent[] = sliceExtents(version.extents, range.start, length);
  // Pinned while the MD5 is computed: the source may be overwritten or deleted meanwhile.
  ctx.blobs.retain(extents);
  try {
    // S3 computes the part's checksum itself when the upload has an algorithm.
    const algorithm = upload.checksumAlgorithm;
    const digest = await digestExtents(extents, algorithm);
    const part: Part = {
      partNumber,
      etag: digest.md5.toString("hex"),
      size: length,
      extents,
      lastModified: ctx.clock.now(),
      ...(algorithm === undefined || digest.checksum === undefined
        ? {}
        : { checksum: { algorithm, value: digest.checksum.toString("base64") } }),
    };
    storePart(ctx, bucket, key, part);
    sendXml(
      ctx,
      200,
      el("CopyPartResult", [
        el("ETag", `"${part.etag}"`),
        el("LastModified", isoDate(part.lastModified)),
        checksumElement(part.checksum),
      ]),
      {
        ...encryptionHeaders(upload.props.encryption),
        ...(source.bucket.versioning === "Unversioned"
          ? {}
          : { "x-amz-copy-source-version-id": version.versionId }),
      },
    );
  } finally {
    ctx.blobs.release(extents);
  }
}

/** ListParts, paged by `part-number-marker` and `max-parts`. */
export async function listParts(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const upload = ctx.store.upload(bucket, key, uploadIdOf(ctx));
  const marker = integerParam(ctx, "part-number-marker", 0);
  const maxParts = Math.min(integerParam(ctx, "max-parts", 1000), 1000);
  const all = [...upload.parts.values()]
    .filter((part) => part.partNumber > marker)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = all.slice(0, maxParts);
  const truncated = all.length > page.length;
  const last = page[page.length - 1];
  sendXml(
    ctx,
    200,
    el("ListPartsResult", [
      el("Bucket", bucket.name),
      el("Key", key),
      el("UploadId", upload.uploadId),
      el("PartNumberMarker", marker),
      opt("NextPartNumberMarker", last?.partNumber),
      el("MaxParts", maxParts),
      el("IsTruncated", truncated),
      ...page.map((part) =>
        el("Part", [
          el("PartNumber", part.partNumber),
          el("LastModified", isoDate(part.lastModified)),
          el("ETag", `"${part.etag}"`),
          checksumElement(part.checksum),
          el("Size", part.size),
        ]),
      ),
      el("Initiator", [el("ID", OWNER.id), el("DisplayName", OWNER.displayName)]),
      el("Owner", [el("ID", OWNER.id), el("DisplayName", OWNER.displayName)]),
      el("StorageClass", upload.props.storageClass),
      opt("ChecksumAlgorithm", upload.checksumAlgorithm),
      opt("ChecksumType", upload.checksumType),
    ]),
  );
}
