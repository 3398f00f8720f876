/**
 * Names the S3 operation of a path-style request (`/bucket/key?subresource`) from its method,
 * path level and sub-resource query parameters, the way S3's REST API is laid out. Anything
 * outside the supported set is `NotImplemented` rather than a guess.
 */
import type { IncomingMessage } from "node:http";
import { S3Error } from "./errors.js";

/** The operations the emulator implements. */
export type S3Operation =
  | "ListBuckets"
  | "CreateBucket"
  | "HeadBucket"
  | "DeleteBucket"
  | "GetBucketLocation"
  | "PutBucketVersioning"
  | "GetBucketVersioning"
  | "ListObjects"
  | "ListObjectsV2"
  | "ListObjectVersions"
  | "ListMultipartUploads"
  | "DeleteObjects"
  | "PutObject"
  | "CopyObject"
  | "GetObject"
  | "HeadObject"
  | "DeleteObject"
  | "PutObjectTagging"
  | "GetObjectTagging"
  | "DeleteObjectTagging"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "UploadPartCopy"
  | "ListParts"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload";

/** A routed request. */
export interface S3Route {
  readonly operation: S3Operation;
  /** Undefined only for service-level operations (ListBuckets). */
  readonly bucket?: string;
  /** Undefined for bucket-level operations. */
  readonly key?: string;
  readonly query: URLSearchParams;
  /** The decoded path, for the `<Resource>` of error documents. */
  readonly resource: string;
}

/** Query parameters that modify an operation rather than select one. */
const PARAMETERS = new Set([
  "prefix",
  "delimiter",
  "max-keys",
  "continuation-token",
  "start-after",
  "encoding-type",
  "fetch-owner",
  "marker",
  "key-marker",
  "version-id-marker",
  "upload-id-marker",
  "max-uploads",
  "max-parts",
  "part-number-marker",
  "versionId",
  "partNumber",
  "max-buckets",
  "bucket-region",
  "list-type",
  // The SDK adds the operation name; it carries no meaning for routing.
  "x-id",
]);

/** 1024 bytes: the longest key S3 accepts. */
const MAX_KEY_BYTES = 1024;

/** The path of a request URL (origin-form or absolute-form), split from its query. */
function splitUrl(url: string): { path: string; query: string } {
  const withoutOrigin = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, "");
  const mark = withoutOrigin.indexOf("?");
  const path = mark === -1 ? withoutOrigin : withoutOrigin.slice(0, mark);
  return { path: path === "" ? "/" : path, query: mark === -1 ? "" : withoutOrigin.slice(mark + 1) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error("InvalidURI");
  }
}

/**
 * The partial route known before the operation: bucket, key, query and resource. Kept apart
 * from {@link routeRequest} so an error can still name its resource.
 */
export function locate(req: IncomingMessage): Omit<S3Route, "operation"> {
  const { path, query } = splitUrl(req.url ?? "/");
  // The raw path, not a WHATWG URL: URL parsing would fold "a/./b" and "a/../b", which are
  // distinct S3 keys.
  const trimmed = path.startsWith("/") ? path.slice(1) : path;
  const slash = trimmed.indexOf("/");
  const rawBucket = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const rawKey = slash === -1 ? "" : trimmed.slice(slash + 1);
  const bucket = decode(rawBucket);
  const key = decode(rawKey);
  const resource = bucket === "" ? "/" : key === "" ? `/${bucket}` : `/${bucket}/${key}`;
  return {
    ...(bucket === "" ? {} : { bucket }),
    ...(key === "" ? {} : { key }),
    query: new URLSearchParams(query),
    resource,
  };
}

/**
 * Routes a request to its operation.
 *
 * @example
 * ```ts
 * routeRequest(req); // { operation: "UploadPartCopy", bucket: "b", key: "k", query, resource }
 * ```
 */
export function routeRequest(req: IncomingMessage): S3Route {
  const located = locate(req);
  const { bucket, key, query } = located;
  const method = (req.method ?? "GET").toUpperCase();
  const sub = new Set(
    [...query.keys()].filter(
      (name) => !PARAMETERS.has(name) && !name.startsWith("response-") && !/^x-amz-/i.test(name),
    ),
  );
  const only = (...names: string[]): boolean => sub.size === names.length && names.every((n) => sub.has(n));
  const hasCopySource = req.headers["x-amz-copy-source"] !== undefined;
  if (key !== undefined && Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new S3Error("KeyTooLongError", {
      details: { Size: String(Buffer.byteLength(key, "utf8")), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    });
  }

  let operation: S3Operation | undefined;
  if (bucket === undefined) {
    if (method === "GET" && only()) operation = "ListBuckets";
  } else if (key === undefined) {
    if (method === "PUT" && only()) operation = "CreateBucket";
    else if (method === "PUT" && only("versioning")) operation = "PutBucketVersioning";
    else if (method === "HEAD" && only()) operation = "HeadBucket";
    else if (method === "DELETE" && only()) operation = "DeleteBucket";
    else if (method === "GET" && only())
      operation = query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    else if (method === "GET" && only("versioning")) operation = "GetBucketVersioning";
    else if (method === "GET" && only("versions")) operation = "ListObjectVersions";
    else if (method === "GET" && only("uploads")) operation = "ListMultipartUploads";
    else if (method === "GET" && only("location")) operation = "GetBucketLocation";
    else if (method === "POST" && only("delete")) operation = "DeleteObjects";
  } else {
    if (method === "PUT" && only()) operation = hasCopySource ? "CopyObject" : "PutObject";
    else if (method === "PUT" && only("uploadId"))
      operation = hasCopySource ? "UploadPartCopy" : "UploadPart";
    else if (method === "PUT" && only("tagging")) operation = "PutObjectTagging";
    else if (method === "GET" && only()) operation = "GetObject";
    else if (method === "GET" && only("uploadId")) operation = "ListParts";
    else if (method === "GET" && only("tagging")) operation = "GetObjectTagging";
    else if (method === "HEAD" && only()) operation = "HeadObject";
    else if (method === "DELETE" && only()) operation = "DeleteObject";
    else if (method === "DELETE" && only("uploadId")) operation = "AbortMultipartUpload";
    else if (method === "DELETE" && only("tagging")) operation = "DeleteObjectTagging";
    else if (method === "POST" && only("uploads")) operation = "CreateMultipartUpload";
    else if (method === "POST" && only("uploadId")) operation = "CompleteMultipartUpload";
  }
  if (operation === undefined) {
    throw new S3Error("NotImplemented", {
      message: `The ${method} request${sub.size > 0 ? ` with ?${[...sub].join("&")}` : ""} on this resource is not implemented by the emulator.`,
    });
  }
  return { ...located, operation };
}
