/**
 * Multipart uploads: CreateMultipartUpload, CompleteMultipartUpload, AbortMultipartUpload and
 * ListMultipartUploads (the parts themselves are in `parts.ts`). Completion joins the parts'
 * extents into the object without copying a byte, so it is instant whatever the size.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Extent } from "./blobs.js";
import { receiveSmall } from "./body.js";
import { checksumAlgorithmOf } from "./checksum.js";
import { checkWriteConditions, writeConditionsOf } from "./conditions.js";
import { bucketOf, integerParam, keyOf } from "./context.js";
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { encryptionHeaders, headerOf, objectPropsOf } from "./headers.js";
import { OWNER } from "./model.js";
import type { Part, Upload } from "./model.js";
import { isoDate, sendEmpty, sendXml } from "./response.js";
import { compareKeys, versionHeader } from "./store.js";
import { parseTaggingHeader } from "./tags.js";
import { childList, childText, el, opt, parseXmlBody } from "./xml.js";
import { urlEncodeKey } from "./listing.js";
import type { XmlNode } from "./xml.js";

/** 5 MiB: the smallest part S3 accepts, except for the last part. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Room for 10,000 `<Part>` entries. */
const MAX_COMPLETE_BYTES = 4 * 1024 * 1024;

/** The `uploadId` query parameter of a multipart request. */
export function uploadIdOf(ctx: S3Context): string {
  return ctx.route.query.get("uploadId") ?? "";
}

/** CreateMultipartUpload: the object's headers and tags are fixed now, applied on completion. */
export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const props = objectPropsOf(ctx.req);
  const tags = parseTaggingHeader(headerOf(ctx.req, "x-amz-tagging"));
  const algorithmHeader = headerOf(ctx.req, "x-amz-checksum-algorithm");
  const algorithm = algorithmHeader === undefined ? undefined : checksumAlgorithmOf(algorithmHeader);
  if (algorithmHeader !== undefined && algorithm === undefined) {
    throw new S3Error("InvalidRequest", { message: "Checksum algorithm provided is unsupported." });
  }
  const upload: Upload = {
    uploadId: randomBytes(48).toString("base64url"),
    key,
    initiated: ctx.clock.now(),
    props,
    tags,
    ...(algorithm === undefined ? {} : { checksumAlgorithm: algorithm }),
    parts: new Map(),
  };
  ctx.store.addUpload(bucket, upload);
  sendXml(
    ctx,
    200,
    el("InitiateMultipartUploadResult", [
      el("Bucket", bucket.name),
      el("Key", key),
      el("UploadId", upload.uploadId),
    ]),
    {
      ...encryptionHeaders(props.encryption),
      ...(algorithm === undefined ? {} : { "x-amz-checksum-algorithm": algorithm }),
    },
  );
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, "$1");
}

/**
 * Checks the part list of a CompleteMultipartUpload against the upload, as S3 does:
 * ascending part numbers, known parts with matching ETags, every part but the last ≥ 5 MiB.
 */
function chooseParts(upload: Upload, listed: ReadonlyArray<{ partNumber: number; etag: string }>): Part[] {
  const chosen: Part[] = [];
  let previous = 0;
  for (const { partNumber, etag } of listed) {
    if (partNumber <= previous) throw new S3Error("InvalidPartOrder");
    previous = partNumber;
    const part = upload.parts.get(partNumber);
    if (part === undefined || unquote(etag) !== part.etag) {
      throw new S3Error("InvalidPart", {
        details: { UploadId: upload.uploadId, PartNumber: String(partNumber), ETag: etag },
      });
    }
    chosen.push(part);
  }
  chosen.forEach((part, index) => {
    if (index < chosen.length - 1 && part.size < MIN_PART_SIZE) {
      throw new S3Error("EntityTooSmall", {
        details: {
          ProposedSize: String(part.size),
          MinSizeAllowed: String(MIN_PART_SIZE),
          PartNumber: String(part.partNumber),
          ETag: `"${part.etag}"`,
        },
      });
    }
  });
  return chosen;
}

/** CompleteMultipartUpload, with `If-Match` / `If-None-Match: *` conditions. */
export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const uploadId = uploadIdOf(ctx);
  ctx.store.upload(bucket, key, uploadId);
  const conditions = writeConditionsOf(ctx.req);
  checkWriteConditions(conditions, ctx.store.current(bucket, key), key);

  const root = parseXmlBody(await receiveSmall(ctx.req, MAX_COMPLETE_BYTES), "CompleteMultipartUpload");
  const listed = childList(root, "Part").map((part) => {
    const number = childText(part, "PartNumber")?.trim();
    const etag = childText(part, "ETag");
    if (number === undefined || etag === undefined || !/^\d{1,5}$/.test(number))
      throw new S3Error("MalformedXML");
    return { partNumber: Number(number), etag };
  });
  if (listed.length === 0) throw new S3Error("MalformedXML");
  // Looked up again: the upload may have been completed or aborted while the body arrived.
  const upload = ctx.store.upload(bucket, key, uploadId);
  const parts = chooseParts(upload, listed);

  const md5s = createHash("md5");
  for (const part of parts) md5s.update(Buffer.from(part.etag, "hex"));
  const extents: Extent[] = parts.flatMap((part) => part.extents);
  const version = ctx.store.put(
    bucket,
    {
      key,
      deleteMarker: false,
      lastModified: ctx.clock.now(),
      etag: `${md5s.digest("hex")}-${parts.length}`,
      size: parts.reduce((total, part) => total + part.size, 0),
      extents,
      partSizes: parts.map((part) => part.size),
      props: upload.props,
      tags: upload.tags,
    },
    (current) => checkWriteConditions(conditions, current, key),
  );
  // The object holds its own references now; the parts (listed or not) can go.
  ctx.store.dropUpload(bucket, upload);
  const host = headerOf(ctx.req, "host") ?? "localhost";
  sendXml(
    ctx,
    200,
    el("CompleteMultipartUploadResult", [
      el("Location", `http://${host}/${bucket.name}/${urlEncodeKey(key).replace(/\+/g, "%20")}`),
      el("Bucket", bucket.name),
      el("Key", key),
      el("ETag", `"${version.etag}"`),
    ]),
    { ...versionHeader(bucket, version.versionId), ...encryptionHeaders(version.props.encryption) },
  );
}

/** AbortMultipartUpload: 204, the parts are released. */
export async function abortMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const upload = ctx.store.upload(bucket, keyOf(ctx), uploadIdOf(ctx));
  ctx.store.dropUpload(bucket, upload);
  sendEmpty(ctx, 204);
}

/** ListMultipartUploads: by key, then by initiation; `key-marker` / `upload-id-marker` paging. */
export async function listMultipartUploads(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const query = ctx.route.query;
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const keyMarker = query.get("key-marker") ?? "";
  const uploadIdMarker = query.get("upload-id-marker") ?? "";
  const maxUploads = Math.min(integerParam(ctx, "max-uploads", 1000), 1000);
  const encode = query.get("encoding-type") === "url" ? urlEncodeKey : (text: string) => text;

  const sorted = [...bucket.uploads.values()]
    .filter((upload) => upload.key.startsWith(prefix))
    .sort(
      (a, b) =>
        compareKeys(a.key, b.key) ||
        a.initiated.getTime() - b.initiated.getTime() ||
        compareKeys(a.uploadId, b.uploadId),
    );
  let start = 0;
  if (keyMarker !== "") {
    const markerIndex =
      uploadIdMarker === ""
        ? -1
        : sorted.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker);
    start = markerIndex !== -1 ? markerIndex + 1 : sorted.findIndex((u) => compareKeys(u.key, keyMarker) > 0);
    if (start === -1) start = sorted.length;
  }

  const entries: Array<{ upload: Upload } | { prefix: string }> = [];
  let truncated = false;
  let lastPrefix: string | undefined;
  // A key marker that is a common prefix was returned as such: the uploads under it were too.
  const skipUnder =
    uploadIdMarker === "" && delimiter !== "" && keyMarker.endsWith(delimiter) ? keyMarker : undefined;
  for (let i = start; i < sorted.length; i++) {
    const upload = sorted[i]!;
    if (skipUnder !== undefined && upload.key.startsWith(skipUnder)) continue;
    const at = delimiter === "" ? -1 : upload.key.indexOf(delimiter, prefix.length);
    const common = at === -1 ? undefined : upload.key.slice(0, at + delimiter.length);
    if (common !== undefined && common === lastPrefix) continue;
    if (entries.length === maxUploads) {
      truncated = true;
      break;
    }
    if (common !== undefined) {
      lastPrefix = common;
      entries.push({ prefix: common });
    } else {
      entries.push({ upload });
    }
  }
  const last = entries[entries.length - 1];
  const nextKey = last === undefined ? undefined : "upload" in last ? last.upload.key : last.prefix;
  const nextUploadId = last !== undefined && "upload" in last ? last.upload.uploadId : undefined;
  sendXml(
    ctx,
    200,
    el("ListMultipartUploadsResult", [
      el("Bucket", bucket.name),
      el("KeyMarker", encode(keyMarker)),
      el("UploadIdMarker", uploadIdMarker),
      opt("NextKeyMarker", truncated && nextKey !== undefined ? encode(nextKey) : undefined),
      opt("NextUploadIdMarker", truncated ? nextUploadId : undefined),
      el("Prefix", encode(prefix)),
      delimiter === "" ? undefined : el("Delimiter", encode(delimiter)),
      el("MaxUploads", maxUploads),
      el("IsTruncated", truncated),
      ...entries.map((entry): XmlNode => {
        if ("prefix" in entry) return el("CommonPrefixes", [el("Prefix", encode(entry.prefix))]);
        const { upload } = entry;
        return el("Upload", [
          el("Key", encode(upload.key)),
          el("UploadId", upload.uploadId),
          el("Initiator", [el("ID", OWNER.id), el("DisplayName", OWNER.displayName)]),
          el("Owner", [el("ID", OWNER.id), el("DisplayName", OWNER.displayName)]),
          el("StorageClass", upload.props.storageClass),
          el("Initiated", isoDate(upload.initiated)),
          opt("ChecksumAlgorithm", upload.checksumAlgorithm),
        ]);
      }),
    ]),
  );
}
