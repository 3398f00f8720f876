/** Parsing of the `--source s3://bucket/prefix` argument. */
import { JobError } from "../errors.js";

/**
 * Splits `s3://bucket/prefix` into bucket and prefix.
 *
 * @example
 * ```ts
 * parseS3Url("s3://data/2024/"); // { bucket: "data", prefix: "2024/" }
 * ```
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m?.[1])
    throw new JobError("ERR_JOB_INVALID_OPTION", `source must be s3://bucket[/prefix], got "${url}"`);
  return { bucket: m[1], prefix: m[2] ?? "" };
}
