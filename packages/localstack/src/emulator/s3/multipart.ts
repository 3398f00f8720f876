/**
 * Multipart uploads: CreateMultipartUpload, CompleteMultipartUpload, AbortMultipartUpload and
 * ListMultipartUploads (the parts themselves are in `parts.ts`). Completion joins the parts'
 * extents into the object without copying a byte, so it is instant whatever the size.
 *
 * Checksums: an upload created with `x-amz-checksum-algorithm` has a checksum type,
 * `COMPOSITE` (the default for CRC32, CRC32C, SHA-1 and SHA-256, the only one for SHA) or
 * `FULL_OBJECT` (the only one for CRC64NVME, allowed for CRC32 and CRC32C). Every part then
 * carries a checksum of that algorithm (verified when sent, computed when not). On completion,
 * a composite checksum is the algorithm over the concatenated raw part checksums, written
 * `<base64>-<part count>`, as S3 writes it; a full-object checksum is computed over the bytes,
 * the one case where completion reads the object once. An upload without an algorithm gets no
 * checksum.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Extent } from "./blobs.js";
import { receiveSmall } from "./body.js";
import type { ChecksumType, StoredChecksum } from "./body.js";
import { CHECKSUM_ALGORITHMS, checksumAlgorithmOf, checksumHeaderName, createChecksum } from "./checksum.js";
import type { ChecksumAlgorithm } from "./checksum.js";
import { digestExtents } from "./copy-source.js";
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

/** `<ChecksumSHA256>…</ChecksumSHA256>` (or another algorithm's), or nothing. */
export function checksumElement(checksum: StoredChecksum | undefined): ReturnType<typeof opt> {
  return checksum === undefined ? undefined : el(`Checksum${checksum.algorithm}`, checksum.value);
}

/** The checksum algorithm and type a CreateMultipartUpload asks for, checked as S3 checks them. */
function uploadChecksumOf(
  ctx: S3Context,
): { checksumAlgorithm: ChecksumAlgorithm; checksumType: ChecksumType } | undefined {
  const algorithmHeader = headerOf(ctx.req, "x-amz-checksum-algorithm");
  const typeHeader = headerOf(ctx.req, "x-amz-checksum-type")?.toUpperCase();
  const algorithm = algorithmHeader === undefined ? undefined : checksumAlgorithmOf(algorithmHeader);
  if (algorithmHeader !== undefined && algorithm === undefined) {
    throw new S3Error("InvalidRequest", { message: "Checksum algorithm provided is unsupported." });
  }
  if (typeHeader !== undefined && typeHeader !== "COMPOSITE" && typeHeader !== "FULL_OBJECT") {
    throw new S3Error("InvalidRequest", { message: "Value for x-amz-checksum-type header is invalid." });
  }
  if (algorithm === undefined) {
    if (typeHeader !== undefined) {
      throw new S3Error("InvalidRequest", {
        message: "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
      });
    }
    return undefined;
  }
  const type: ChecksumType = typeHeader ?? (algorithm === "CRC64NVME" ? "FULL_OBJECT" : "COMPOSITE");
  const allowed =
    algorithm === "CRC64NVME" ? "FULL_OBJECT" : algorithm.startsWith("SHA") ? "COMPOSITE" : type;
  if (type !== allowed) {
    throw new S3Error("InvalidRequest", {
      message: `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    });
  }
  return { checksumAlgorithm: algorithm, checksumType: type };
}

/** CreateMultipartUpload: the object's headers and tags are fixed now, applied on completion. */
export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const props = objectPropsOf(ctx.req);
  const tags = parseTaggingHeader(headerOf(ctx.req, "x-amz-tagging"));
  const checksum = uploadChecksumOf(ctx);
  const upload: Upload = {
    uploadId: randomBytes(48).toString("base64url"),
    key,
    initiated: ctx.clock.now(),
    props,
    tags,
    ...checksum,
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
      ...(checksum === undefined
        ? {}
        : {
            "x-amz-checksum-algorithm": checksum.checksumAlgorithm,
            "x-amz-checksum-type": checksum.checksumType,
          }),
    },
  );
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"(.*)"$/, "$1");
}

/** One `<Part>` of a CompleteMultipartUpload request. */
interface ListedPart {
  readonly partNumber: number;
  readonly etag: string;
  /** The `<ChecksumCRC32>`-like elements it carries, by algorithm. */
  readonly checksums: ReadonlyMap<ChecksumAlgorithm, string>;
}

/**
 * Checks the part list of a CompleteMultipartUpload against the upload, as S3 does:
 * ascending part numbers, known parts with matching ETags (and checksums, when listed), every
 * part but the last ≥ 5 MiB.
 */
function chooseParts(upload: Upload, listed: readonly ListedPart[]): Part[] {
  const chosen: Part[] = [];
  let previous = 0;
  for (const { partNumber, etag, checksums } of listed) {
    if (partNumber <= previous) throw new S3Error("InvalidPartOrder");
    previous = partNumber;
    const part = upload.parts.get(partNumber);
    // A part checksum in the request must be the one the part was stored with.
    const checksumDiffers = [...checksums].some(
      ([algorithm, value]) => part?.checksum?.algorithm !== algorithm || part.checksum.value !== value.trim(),
    );
    if (part === undefined || unquote(etag) !== part.etag || checksumDiffers) {
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
  const conditions = writeConditionsOf(ctx.req, ctx.behavior);
  checkWriteConditions(conditions, ctx.store.current(bucket, key), key);

  const root = parseXmlBody(await receiveSmall(ctx.req, MAX_COMPLETE_BYTES), "CompleteMultipartUpload");
  const listed = childList(root, "Part").map((part) => {
    const number = childText(part, "PartNumber")?.trim();
    const etag = childText(part, "ETag");
    if (number === undefined || etag === undefined || !/^\d{1,5}$/.test(number))
      throw new S3Error("MalformedXML");
    const checksums = new Map<ChecksumAlgorithm, string>();
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const value = childText(part, `Checksum${algorithm}`);
      if (value !== undefined) checksums.set(algorithm, value);
    }
    return { partNumber: Number(number), etag, checksums };
  });
  if (listed.length === 0) throw new S3Error("MalformedXML");
  // Looked up again: the upload may have been completed or aborted while the body arrived.
  const upload = ctx.store.upload(bucket, key, uploadId);
  const parts = chooseParts(upload, listed);

  const md5s = createHash("md5");
  for (const part of parts) md5s.update(Buffer.from(part.etag, "hex"));
  const extents: Extent[] = parts.flatMap((part) => part.extents);
  const checksum = await objectChecksum(ctx, upload, parts, extents);
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
      ...(checksum === undefined ? {} : { checksum }),
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
      checksumElement(version.checksum),
      opt("ChecksumType", version.checksum?.type),
    ]),
    { ...versionHeader(bucket, version.versionId), ...encryptionHeaders(version.props.encryption) },
  );
}

/**
 * The checksum of the completed object (see the module comment), checked against an
 * `x-amz-checksum-*` header of the request when it sends one.
 */
async function objectChecksum(
  ctx: S3Context,
  upload: Upload,
  parts: readonly Part[],
  extents: readonly Extent[],
): Promise<StoredChecksum | undefined> {
  const algorithm = upload.checksumAlgorithm;
  if (algorithm === undefined) return undefined;
  let checksum: StoredChecksum;
  if (upload.checksumType === "FULL_OBJECT") {
    // Pinned while read: an abort or a new part meanwhile must not unlink them.
    ctx.blobs.retain(extents);
    try {
      const digest = await digestExtents(extents, algorithm);
      checksum = { algorithm, value: digest.checksum!.toString("base64"), type: "FULL_OBJECT" };
    } finally {
      ctx.blobs.release(extents);
    }
  } else {
    const combined = createChecksum(algorithm);
    for (const part of parts) {
      // Parts are stored with the upload's algorithm (UploadPart refuses any other).
      if (part.checksum?.algorithm !== algorithm) {
        throw new S3Error("InvalidPart", {
          details: { UploadId: upload.uploadId, PartNumber: String(part.partNumber) },
        });
      }
      combined.update(Buffer.from(part.checksum.value, "base64"));
    }
    checksum = {
      algorithm,
      value: `${(await combined.digest()).toString("base64")}-${parts.length}`,
      type: "COMPOSITE",
    };
  }
  const sent = headerOf(ctx.req, checksumHeaderName(algorithm))?.trim();
  if (sent !== undefined && sent !== checksum.value && `${sent}-${parts.length}` !== checksum.value) {
    throw new S3Error("BadDigest", {
      message: `The ${algorithm.toLowerCase()} you specified did not match the calculated checksum.`,
    });
  }
  return checksum;
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
          opt("ChecksumType", upload.checksumType),
        ]);
      }),
    ]),
  );
}
