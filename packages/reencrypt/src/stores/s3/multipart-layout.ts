/**
 * The part layout of a large rewrap. The new object is `newPrefix + body`, where the body is
 * bytes `[bodyOffset, size)` of the original, unchanged:
 *
 * - part 1 is uploaded: the new prefix plus the first body bytes, enough to make it 5 MiB
 *   (S3's minimum for every part but the last) — the only payload bytes that pass through the job;
 * - parts 2..n are `UploadPartCopy` byte ranges of the original object, copied by S3 itself,
 *   `copyPartBytes` each (raised if needed to stay within 10,000 parts), the last one shorter.
 *
 * So a 1 GiB object costs its header, 5 MiB down and 5 MiB up, whatever its size.
 */
import { JobError } from "../../errors.js";

/** S3's limits on multipart uploads. */
export const S3_MULTIPART = {
  minPartBytes: 5 * 1024 * 1024,
  maxPartBytes: 5 * 1024 * 1024 * 1024,
  maxParts: 10_000,
} as const;

/** One part of the new object. */
export type PlannedPart =
  /** Uploaded: the new prefix + original bytes `[start, end)`. */
  | { readonly partNumber: 1; readonly kind: "upload"; readonly start: number; readonly end: number }
  /** Copied server-side: original bytes `[start, end)`. */
  | { readonly partNumber: number; readonly kind: "copy"; readonly start: number; readonly end: number };

/** Input of {@link multipartLayout}. */
export interface MultipartLayoutInput {
  /** Length of the new prefix. */
  readonly prefixLength: number;
  /** Where the body starts in the original object. */
  readonly bodyOffset: number;
  /** Size of the original object. */
  readonly size: number;
  /** Preferred size of copied parts. */
  readonly copyPartBytes: number;
}

/**
 * Computes the parts.
 *
 * @example
 * ```ts
 * const parts = multipartLayout({ prefixLength: 700, bodyOffset: 690, size: 1 << 30, copyPartBytes: 256 << 20 });
 * parts[0]; // { partNumber: 1, kind: "upload", start: 690, end: 690 + 5 MiB - 700 }
 * ```
 */
export function multipartLayout(input: MultipartLayoutInput): PlannedPart[] {
  const { prefixLength, bodyOffset, size } = input;
  if (!(bodyOffset >= 0 && bodyOffset <= size && prefixLength > 0))
    throw new JobError("ERR_JOB_INVALID_OPTION", "invalid multipart layout input");
  const firstEnd = Math.min(size, bodyOffset + Math.max(0, S3_MULTIPART.minPartBytes - prefixLength));
  const parts: PlannedPart[] = [{ partNumber: 1, kind: "upload", start: bodyOffset, end: firstEnd }];
  const rest = size - firstEnd;
  if (rest === 0) return parts;
  const needed = Math.ceil(rest / (S3_MULTIPART.maxParts - 1));
  const partBytes = Math.min(
    S3_MULTIPART.maxPartBytes,
    Math.max(S3_MULTIPART.minPartBytes, input.copyPartBytes, needed),
  );
  if (Math.ceil(rest / partBytes) > S3_MULTIPART.maxParts - 1)
    throw new JobError("ERR_JOB_INVALID_OPTION", `object of ${size} bytes is too large for a multipart copy`);
  let n = 2;
  for (let start = firstEnd; start < size; start += partBytes) {
    parts.push({ partNumber: n++, kind: "copy", start, end: Math.min(size, start + partBytes) });
  }
  return parts;
}
