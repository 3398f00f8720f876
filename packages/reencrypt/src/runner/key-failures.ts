/**
 * Fail fast on key-wide errors. When a key is disabled, pending deletion, gone, or refuses the
 * job's principal, every object under it fails the same way: thousands of doomed `ReEncrypt`
 * calls, each after its retries. The tracker watches results in completion order and trips when
 * the same permanent KMS error has hit `threshold` objects under the same keys in a row (a
 * success under those keys starts the count again); the job then stops taking objects, and the
 * untried ones stay for a re-run.
 */
import type { ObjectResult } from "../model/object-result.js";

/** KMS errors that fail every object under a key until a person acts. */
export const KEY_WIDE_ERRORS: ReadonlySet<string> = new Set([
  "DisabledException",
  "KMSInvalidStateException",
  "NotFoundException",
  "AccessDeniedException",
  "InvalidKeyUsageException",
]);

/** Objects in a row that stop a job by default. */
export const DEFAULT_MAX_KEY_FAILURES = 20;

/**
 * Counts key-wide failures per set of keys.
 *
 * @example
 * ```ts
 * const tracker = new KeyFailureTracker(20);
 * const stop = tracker.add(result); // a one-line reason once 20 in a row failed alike
 * ```
 */
export class KeyFailureTracker {
  private readonly streaks = new Map<string, { name: string; count: number }>();

  /** @param threshold objects in a row; 0 never trips. */
  constructor(private readonly threshold: number = DEFAULT_MAX_KEY_FAILURES) {}

  /** Adds one result; returns why the job should stop, once the threshold is reached. */
  add(r: ObjectResult): string | undefined {
    if (this.threshold === 0 || r.sourceKeyArns.length === 0) return undefined;
    const keys = [...new Set(r.sourceKeyArns)].sort().join(", ");
    const name = r.errorName;
    if (r.outcome !== "failed" || name === undefined || !KEY_WIDE_ERRORS.has(name)) {
      if (r.outcome !== "failed") this.streaks.delete(keys);
      return undefined;
    }
    const streak = this.streaks.get(keys);
    const next = streak?.name === name ? { name, count: streak.count + 1 } : { name, count: 1 };
    this.streaks.set(keys, next);
    if (next.count < this.threshold) return undefined;
    return (
      `${next.count} objects in a row under ${keys} failed with ${name} (${r.reason}); ` +
      "stopped: the objects not yet tried are left for a re-run once the key is usable"
    );
  }
}
