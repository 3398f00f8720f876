/**
 * Sharding: N workers each take the objects whose identity hashes to their index, so a job can
 * be split across machines over the same listing or manifest without coordination.
 */
import { JobError } from "../errors.js";
import { refId, type ObjectRef } from "../model/object-ref.js";

/** This worker's share: `index` of `count` (0-based). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * Parses `i/n` (1-based on the command line: `--shard 2/8` is index 1 of 8).
 *
 * @example
 * ```ts
 * parseShard("2/8"); // { index: 1, count: 8 }
 * ```
 */
export function parseShard(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const i = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || !(n >= 1 && i >= 1 && i <= n))
    throw new JobError("ERR_JOB_INVALID_OPTION", `shard must be i/n with 1 ≤ i ≤ n, got "${value}"`);
  return { index: i - 1, count: n };
}

/**
 * True when `ref` belongs to `shard` (FNV-1a of its identity, modulo the shard count).
 *
 * @example
 * ```ts
 * inShard({ kind: "s3", bucket: "b", key: "k" }, { index: 0, count: 1 }); // true
 * ```
 */
export function inShard(ref: ObjectRef, shard: Shard): boolean {
  if (shard.count === 1) return true;
  const s = refId(ref);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shard.count === shard.index;
}
