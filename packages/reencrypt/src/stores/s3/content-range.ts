/** The total size in a `Content-Range: bytes a-b/total` answer. */

/**
 * Parses the object's total size out of a `Content-Range` header value.
 *
 * @example
 * ```ts
 * totalSizeOf("bytes 0-4095/1048576"); // 1048576
 * ```
 */
export function totalSizeOf(contentRange: string | undefined): number | undefined {
  if (!contentRange) return undefined;
  const m = /\/(\d+)\s*$/.exec(contentRange);
  return m?.[1] ? Number(m[1]) : undefined;
}
