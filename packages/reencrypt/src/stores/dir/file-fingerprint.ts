/**
 * The version token of a local file: device, inode, size and modification time in
 * nanoseconds. A rewrite proceeds only if the file still has the fingerprint it had when it was
 * read — the file-system stand-in for S3's `If-Match`.
 */
import type { BigIntStats } from "node:fs";
import { stat } from "node:fs/promises";

/**
 * The fingerprint of a stat result.
 *
 * @example
 * ```ts
 * fingerprintOf(await stat(path, { bigint: true })); // "2049:131:1048590:1718000000123456789"
 * ```
 */
export function fingerprintOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

/**
 * The current fingerprint of `path`, or `undefined` if it no longer exists.
 *
 * @example
 * ```ts
 * if ((await currentFingerprint(path)) !== plan.etag) throw conflict;
 * ```
 */
export async function currentFingerprint(path: string): Promise<string | undefined> {
  try {
    return fingerprintOf(await stat(path, { bigint: true }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}
