/** Byte sizes on the command line: `16777216`, `16MiB`, `16M`, `512KiB`, `1GiB`. */
import { UsageError } from "../util/usage-error.js";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parses a size with an optional binary unit (K, M, G = 1024-based).
 *
 * @example
 * ```ts
 * parseSize("16MiB", "--multipart-threshold"); // 16777216
 * ```
 */
export function parseSize(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = UNITS[(m?.[2] ?? "").toLowerCase()];
  const n = m?.[1] !== undefined && unit !== undefined ? Math.floor(Number(m[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`${flag} must be a size such as 16777216, 16MiB or 512KiB, not "${value}"`);
  return n;
}

/**
 * A byte count for people: `1.5 GiB`, `12.0 MiB`, `700 B`.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * ```
 */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
