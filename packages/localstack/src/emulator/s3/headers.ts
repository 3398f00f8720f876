/**
 * Object headers in both directions: what a PutObject / CreateMultipartUpload / CopyObject
 * (REPLACE) request sets, and what GET and HEAD answer with.
 */
import type { IncomingMessage } from "node:http";
import { checksumHeaderName } from "./checksum.js";
import { S3Error } from "./errors.js";
import { DEFAULT_ENCRYPTION, SSE_ALGORITHMS, STORAGE_CLASSES } from "./model.js";
import type { Bucket, Encryption, ObjectProps, ObjectVersion, StorageClass } from "./model.js";
import { httpDate } from "./response.js";
import { versionHeader } from "./store.js";

/** 2 KB: S3's limit on user metadata, counted as UTF-8 bytes of names (without prefix) and values. */
export const MAX_METADATA_BYTES = 2048;

/** Content type S3 stores when a request sends none. */
export const DEFAULT_CONTENT_TYPE = "binary/octet-stream";

const META_PREFIX = "x-amz-meta-";

/** One request header as a string (repeated headers joined as HTTP does). */
export function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** The `x-amz-storage-class` of a request, if any; `InvalidStorageClass` when unknown. */
export function storageClassOf(req: IncomingMessage): StorageClass | undefined {
  const value = headerOf(req, "x-amz-storage-class");
  if (value === undefined) return undefined;
  const storageClass = STORAGE_CLASSES.find((candidate) => candidate === value);
  if (storageClass === undefined)
    throw new S3Error("InvalidStorageClass", { details: { StorageClassRequested: value } });
  return storageClass;
}

/**
 * The server-side encryption a write asks for (`x-amz-server-side-encryption` and its KMS key
 * and bucket-key headers), SSE-S3 when it asks for none. A KMS key without `aws:kms` is refused
 * as S3 refuses it.
 */
export function encryptionOf(req: IncomingMessage): Encryption {
  const value = headerOf(req, "x-amz-server-side-encryption");
  const kmsKeyId = headerOf(req, "x-amz-server-side-encryption-aws-kms-key-id");
  const bucketKey = headerOf(req, "x-amz-server-side-encryption-bucket-key-enabled");
  if (value === undefined) {
    if (kmsKeyId !== undefined) {
      throw new S3Error("InvalidArgument", {
        message:
          "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
        details: { ArgumentName: "x-amz-server-side-encryption", ArgumentValue: "null" },
      });
    }
    return DEFAULT_ENCRYPTION;
  }
  const algorithm = SSE_ALGORITHMS.find((candidate) => candidate === value);
  if (algorithm === undefined) {
    throw new S3Error("InvalidArgument", {
      message: "The encryption method specified is not supported",
      details: { ArgumentName: "x-amz-server-side-encryption", ArgumentValue: value },
    });
  }
  if (algorithm === "AES256" && kmsKeyId !== undefined) {
    throw new S3Error("InvalidArgument", {
      message:
        "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
      details: { ArgumentName: "x-amz-server-side-encryption", ArgumentValue: value },
    });
  }
  return {
    algorithm,
    ...(kmsKeyId === undefined || algorithm === "AES256" ? {} : { kmsKeyId }),
    ...(bucketKey === undefined || algorithm === "AES256"
      ? {}
      : { bucketKeyEnabled: bucketKey.toLowerCase() === "true" }),
  };
}

/** The response headers that report an object's server-side encryption. */
export function encryptionHeaders(encryption: Encryption): Record<string, string> {
  return {
    "x-amz-server-side-encryption": encryption.algorithm,
    ...(encryption.kmsKeyId === undefined
      ? {}
      : { "x-amz-server-side-encryption-aws-kms-key-id": encryption.kmsKeyId }),
    ...(encryption.bucketKeyEnabled === undefined
      ? {}
      : { "x-amz-server-side-encryption-bucket-key-enabled": String(encryption.bucketKeyEnabled) }),
  };
}

/**
 * The object headers a write request sets.
 *
 * @example
 * ```ts
 * const props = objectPropsOf(req); // content type, metadata, storage class, ...
 * ```
 */
export function objectPropsOf(req: IncomingMessage): ObjectProps {
  const metadata: Array<readonly [string, string]> = [];
  let metadataBytes = 0;
  // rawHeaders keeps the order the client sent; names are folded to lower case as S3 does.
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!name.startsWith(META_PREFIX)) continue;
    const short = name.slice(META_PREFIX.length);
    const value = raw[i + 1]!;
    // Node decodes header bytes as latin1, so this counts the bytes the client sent.
    metadataBytes += Buffer.byteLength(short, "latin1") + Buffer.byteLength(value, "latin1");
    const existing = metadata.findIndex(([n]) => n === short);
    if (existing === -1) metadata.push([short, value]);
    else metadata[existing] = [short, `${metadata[existing]![1]},${value}`];
  }
  if (metadataBytes > MAX_METADATA_BYTES) {
    throw new S3Error("MetadataTooLarge", {
      details: { Size: String(metadataBytes), MaxSizeAllowed: String(MAX_METADATA_BYTES) },
    });
  }
  const contentEncoding = (headerOf(req, "content-encoding") ?? "")
    .split(",")
    .map((token) => token.trim())
    .filter((token) => token !== "" && token.toLowerCase() !== "aws-chunked")
    .join(",");
  const optional = (name: string, value: string | undefined): Record<string, string> =>
    value === undefined || value === "" ? {} : { [name]: value };
  return {
    contentType: headerOf(req, "content-type") ?? DEFAULT_CONTENT_TYPE,
    ...optional("cacheControl", headerOf(req, "cache-control")),
    ...optional("contentDisposition", headerOf(req, "content-disposition")),
    ...optional("contentEncoding", contentEncoding),
    ...optional("contentLanguage", headerOf(req, "content-language")),
    ...optional("expires", headerOf(req, "expires")),
    metadata,
    storageClass: storageClassOf(req) ?? "STANDARD",
    ...optional("websiteRedirectLocation", headerOf(req, "x-amz-website-redirect-location")),
    encryption: encryptionOf(req),
  };
}

/** Options of {@link objectHeaders}. */
export interface ObjectHeaderOptions {
  /** Whether to send the stored checksum (the request asked and the whole object is sent). */
  readonly includeChecksum: boolean;
}

/**
 * The headers of a GET or HEAD answer for an object (not the length or range headers).
 *
 * @example
 * ```ts
 * writeHead(ctx, 200, { ...objectHeaders(bucket, version, { includeChecksum: true }), "content-length": size });
 * ```
 */
export function objectHeaders(
  bucket: Bucket,
  version: ObjectVersion,
  options: ObjectHeaderOptions,
): Record<string, string> {
  const { props } = version;
  const headers: Record<string, string> = {
    "content-type": props.contentType,
    etag: `"${version.etag}"`,
    "last-modified": httpDate(version.lastModified),
    "accept-ranges": "bytes",
    ...versionHeader(bucket, version.versionId),
  };
  if (props.cacheControl !== undefined) headers["cache-control"] = props.cacheControl;
  if (props.contentDisposition !== undefined) headers["content-disposition"] = props.contentDisposition;
  if (props.contentEncoding !== undefined) headers["content-encoding"] = props.contentEncoding;
  if (props.contentLanguage !== undefined) headers["content-language"] = props.contentLanguage;
  if (props.expires !== undefined) headers.expires = props.expires;
  if (props.websiteRedirectLocation !== undefined) {
    headers["x-amz-website-redirect-location"] = props.websiteRedirectLocation;
  }
  Object.assign(headers, encryptionHeaders(props.encryption));
  for (const [name, value] of props.metadata) headers[`${META_PREFIX}${name}`] = value;
  // S3 leaves the header out for STANDARD.
  if (props.storageClass !== "STANDARD") headers["x-amz-storage-class"] = props.storageClass;
  if (version.tags.length > 0) headers["x-amz-tagging-count"] = String(version.tags.length);
  if (options.includeChecksum && version.checksum !== undefined) {
    headers[checksumHeaderName(version.checksum.algorithm)] = version.checksum.value;
    headers["x-amz-checksum-type"] = version.checksum.type ?? "FULL_OBJECT";
  }
  return headers;
}
