/**
 * Byte ranges: the `Range` header of GET/HEAD and `x-amz-copy-source-range` of UploadPartCopy.
 */
import { S3Error } from "./errors.js";

/** A resolved, non-empty byte range. */
export interface ByteRange {
  readonly start: number;
  /** Inclusive, as in `Content-Range`. */
  readonly end: number;
}

/**
 * Resolves a `Range` header against an object size. Returns `undefined` when the header is
 * absent or not a single well-formed byte range (S3 then sends the whole object), and throws
 * 416 `InvalidRange` when it is well-formed but unsatisfiable.
 *
 * @example
 * ```ts
 * parseRange("bytes=-10", 100); // { start: 90, end: 99 }
 * ```
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes=(\d*)-(\d*)\s*$/.exec(header);
  if (match === null) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  const unsatisfiable = (): S3Error =>
    new S3Error("InvalidRange", {
      details: { RangeRequested: header.trim(), ActualObjectSize: String(size) },
      headers: { "content-range": `bytes */${size}` },
    });
  if (first === "") {
    // Suffix range: the last n bytes.
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  // "bytes=5-1" is not a valid range at all (ignored); "bytes=100-" past the end is unsatisfiable.
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) throw unsatisfiable();
  return { start, end: last === "" ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * Resolves `x-amz-copy-source-range` (`bytes=first-last`, both required) against the source
 * size; anything else, or a range past the end, is `InvalidArgument` as in S3.
 */
export function parseCopySourceRange(header: string, size: number): ByteRange {
  const match = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  const invalid = (): S3Error =>
    new S3Error("InvalidArgument", {
      message: `Range specified is not valid for source object of size: ${size}`,
      details: { ArgumentName: "x-amz-copy-source-range", ArgumentValue: header },
    });
  if (match === null) {
    throw new S3Error("InvalidArgument", {
      message:
        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
      details: { ArgumentName: "x-amz-copy-source-range", ArgumentValue: header },
    });
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start || end >= size) throw invalid();
  return { start, end };
}
