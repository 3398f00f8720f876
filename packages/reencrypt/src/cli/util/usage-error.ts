/** The error of a malformed command line: one line for people, code `ERR_USAGE`. */
import { RekeyError } from "@rekey/core";

/**
 * A command-line argument or option is malformed.
 *
 * @example
 * ```ts
 * throw new UsageError("--timeout must be a number of seconds, not \"soon\"");
 * ```
 */
export class UsageError extends RekeyError<"ERR_USAGE"> {
  constructor(message: string) {
    super("ERR_USAGE", message);
  }
}

/**
 * Parses a whole number option within bounds.
 *
 * @throws UsageError when the value is not a whole number in `[min, max]`.
 * @example
 * ```ts
 * const days = parseWholeNumber(opts.graceDays, "--grace-days", 0, 3650);
 * ```
 */
export function parseWholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return n;
}

/**
 * Parses a duration in seconds (`90`, `1.5`, `2m`, `500ms`) into milliseconds.
 *
 * @throws UsageError for anything else, or a non-positive duration.
 * @example
 * ```ts
 * parseDuration("5m", "--timeout"); // 300000
 * ```
 */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const ms = m ? Number(m[1]) * unit[(m[2] ?? "s") as keyof typeof unit] : Number.NaN;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new UsageError(`${flag} must be a duration such as 90, 90s, 5m or 500ms, not "${value}"`);
  }
  return ms;
}

/**
 * A commander argument parser for a whole-number option, so the option's value (and the default
 * its help shows) is a number: `(default: 16)`, not `(default: "16")`.
 *
 * @example
 * ```ts
 * command.option("--concurrency <n>", "objects in flight", wholeNumberArg("--concurrency", 1, 1024), 16);
 * ```
 */
export function wholeNumberArg(flag: string, min: number, max: number): (value: string) => number {
  return (value) => parseWholeNumber(value, flag, min, max);
}
