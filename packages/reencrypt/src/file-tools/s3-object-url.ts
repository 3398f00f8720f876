/**
 * `s3://bucket/key` as the file commands name one object: parsing, and a short reason for an S3
 * answer that refused a read or write of it.
 */
import { errorNameOf, httpStatusOf } from "../errors.js";
import { parseS3Url } from "../sources/source-spec.js";
import { FileError } from "./errors.js";

/** One S3 object named by a file command. */
export interface S3ObjectUrl {
  readonly bucket: string;
  readonly key: string;
}

/**
 * True when a file command's input or output names an S3 object rather than a file.
 *
 * @example
 * ```ts
 * isS3Url("s3://data/a.rkey"); // true
 * isS3Url("./s3:/a.rkey"); // false
 * ```
 */
export function isS3Url(path: string): boolean {
  return path.startsWith("s3://");
}

/**
 * Parses `s3://bucket/key` (a key is required).
 *
 * @throws FileError `ERR_USAGE` for anything else (no bucket, no key, a key ending in `/`).
 * @example
 * ```ts
 * parseS3ObjectUrl("s3://data/dir/a.rkey"); // { bucket: "data", key: "dir/a.rkey" }
 * ```
 */
export function parseS3ObjectUrl(url: string): S3ObjectUrl {
  let parsed;
  try {
    parsed = parseS3Url(url);
  } catch {
    throw new FileError("ERR_USAGE", `"${url}" is not s3://bucket/key`);
  }
  if (!parsed.prefix || parsed.prefix.endsWith("/"))
    throw new FileError("ERR_USAGE", `"${url}" names no object: use s3://bucket/key`);
  return { bucket: parsed.bucket, key: parsed.prefix };
}

/**
 * A short reason for a failed S3 request: `no such object`, `no such bucket`, `access denied`,
 * else the error's name and message.
 *
 * @example
 * ```ts
 * throw new FileError("ERR_INPUT", `cannot read ${url}: ${s3Reason(e)}`, { cause: e });
 * ```
 */
export function s3Reason(e: unknown): string {
  const name = errorNameOf(e) ?? "";
  if (name === "NoSuchKey" || name === "NotFound") return "no such object";
  if (name === "NoSuchBucket") return "no such bucket";
  if (name === "AccessDenied" || httpStatusOf(e) === 403) return "access denied";
  return name ? `${name}: ${(e as Error).message}` : String(e);
}
