/**
 * CopyObject. The copy shares the source's blobs (no bytes move); S3's rules on what is copied
 * apply: metadata and system headers per `x-amz-metadata-directive` (COPY by default), tags per
 * `x-amz-tagging-directive`, and the storage class from `x-amz-storage-class` or STANDARD —
 * never the source's. Copying an object onto itself without changing anything is refused.
 */
import { checksumAlgorithmOf } from "./checksum.js";
import { checkWriteConditions, writeConditionsOf } from "./conditions.js";
import { bucketOf, keyOf } from "./context.js";
import type { S3Context } from "./context.js";
import { digestExtents, resolveCopySource } from "./copy-source.js";
import { S3Error } from "./errors.js";
import { encryptionHeaders, encryptionOf, headerOf, objectPropsOf, storageClassOf } from "./headers.js";
import type { ObjectProps, Tag } from "./model.js";
import { isoDate, sendXml } from "./response.js";
import type { StoredChecksum } from "./body.js";
import { versionHeader } from "./store.js";
import { parseTaggingHeader } from "./tags.js";
import { el } from "./xml.js";

/** 5 GiB: the largest source CopyObject accepts (larger objects need UploadPartCopy). */
const MAX_COPY_SIZE = 5 * 1024 ** 3;

function directive(ctx: S3Context, name: string): "COPY" | "REPLACE" {
  const value = headerOf(ctx.req, name);
  if (value === undefined || value === "COPY" || value === "REPLACE") return value ?? "COPY";
  throw new S3Error("InvalidArgument", {
    message: `Unknown ${name}`,
    details: { ArgumentName: name, ArgumentValue: value },
  });
}

function withoutRedirect(props: ObjectProps): ObjectProps {
  const { websiteRedirectLocation: _dropped, ...rest } = props;
  return rest;
}

function redirectOf(ctx: S3Context): { websiteRedirectLocation?: string } {
  const value = headerOf(ctx.req, "x-amz-website-redirect-location");
  return value === undefined ? {} : { websiteRedirectLocation: value };
}

/** CopyObject. */
export async function copyObject(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const conditions = writeConditionsOf(ctx.req, ctx.behavior);
  const metadataDirective = directive(ctx, "x-amz-metadata-directive");
  const taggingDirective = directive(ctx, "x-amz-tagging-directive");
  const storageClass = storageClassOf(ctx.req);
  const source = resolveCopySource(ctx);
  const { version: from } = source;

  const sameObject =
    source.bucket === bucket && source.key === key && source.requestedVersionId === undefined;
  const changesSomething =
    metadataDirective === "REPLACE" ||
    (storageClass !== undefined && storageClass !== from.props.storageClass) ||
    headerOf(ctx.req, "x-amz-server-side-encryption") !== undefined ||
    headerOf(ctx.req, "x-amz-website-redirect-location") !== undefined;
  if (sameObject && !changesSomething) {
    throw new S3Error("InvalidRequest", {
      message:
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    });
  }
  if (from.size > MAX_COPY_SIZE) {
    throw new S3Error("InvalidRequest", {
      message: `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SIZE}`,
    });
  }

  const props: ObjectProps =
    metadataDirective === "REPLACE"
      ? objectPropsOf(ctx.req)
      : {
          ...withoutRedirect(from.props),
          storageClass: storageClass ?? "STANDARD",
          // Encryption and the website redirect come from this request, never from the source.
          encryption: encryptionOf(ctx.req),
          ...redirectOf(ctx),
        };
  const tags: readonly Tag[] =
    taggingDirective === "REPLACE" ? parseTaggingHeader(headerOf(ctx.req, "x-amz-tagging")) : from.tags;
  checkWriteConditions(conditions, ctx.store.current(bucket, key), key);

  const requestedAlgorithm = checksumAlgorithmOf(headerOf(ctx.req, "x-amz-checksum-algorithm") ?? "");
  // Pin the source bytes until the copy holds them itself.
  ctx.blobs.retain(from.extents);
  try {
    let etag = from.etag;
    // A new algorithm, or a composite (multipart) checksum, which cannot describe a copy made in
    // one request: the copy gets a full-object checksum of its bytes, as in S3.
    const recompute =
      requestedAlgorithm !== undefined && requestedAlgorithm !== from.checksum?.algorithm
        ? requestedAlgorithm
        : from.checksum?.type === "COMPOSITE"
          ? from.checksum.algorithm
          : undefined;
    let checksum: StoredChecksum | undefined = recompute === undefined ? from.checksum : undefined;
    // A single-request copy of a multipart object gets a plain MD5 ETag, as in S3; a new
    // checksum also needs the bytes read once.
    if (from.partSizes !== undefined || recompute !== undefined) {
      const digest = await digestExtents(from.extents, recompute);
      if (from.partSizes !== undefined) etag = digest.md5.toString("hex");
      if (recompute !== undefined && digest.checksum !== undefined) {
        checksum = { algorithm: recompute, value: digest.checksum.toString("base64") };
      }
    }
    const version = ctx.store.put(
      bucket,
      {
        key,
        deleteMarker: false,
        lastModified: ctx.clock.now(),
        etag,
        size: from.size,
        extents: from.extents,
        ...(checksum === undefined ? {} : { checksum }),
        props,
        tags,
      },
      (current) => checkWriteConditions(conditions, current, key),
    );
    sendXml(
      ctx,
      200,
      el("CopyObjectResult", [
        el("ETag", `"${version.etag}"`),
        el("LastModified", isoDate(version.lastModified)),
        ...(version.checksum === undefined
          ? []
          : [
              el("ChecksumType", "FULL_OBJECT"),
              el(`Checksum${version.checksum.algorithm}`, version.checksum.value),
            ]),
      ]),
      {
        ...versionHeader(bucket, version.versionId),
        ...encryptionHeaders(version.props.encryption),
        ...(source.bucket.versioning === "Unversioned"
          ? {}
          : { "x-amz-copy-source-version-id": from.versionId }),
      },
    );
  } finally {
    ctx.blobs.release(from.extents);
  }
}
