/**
 * Checking numeric caller options. A limit that reads `undefined`, `NaN` or `Infinity` as "no
 * limit" is a limit a plain-JavaScript caller can switch off by accident (`{ maxEntries:
 * undefined }` from a config file, `Number("")`): every numeric option is therefore either
 * absent (`undefined`, the default) or a finite integer in its range, and anything else is an
 * {@link InvalidArgumentError} naming the option, thrown when the option is given.
 */
import { InvalidArgumentError } from "./errors.js";

/** The range of an integer option. */
export interface IntegerRange {
  /** Smallest value allowed. @default 1 */
  readonly min?: number;
  /** Largest value allowed. @default Number.MAX_SAFE_INTEGER */
  readonly max?: number;
}

/**
 * `value` when it is an integer in range, `fallback` when it is `undefined`; otherwise throws
 * {@link InvalidArgumentError} whose `option` is `name`.
 *
 * @example
 * ```ts
 * const capacity = integerOption("capacity", options.capacity, 100); // 100 when absent
 * ```
 */
export function integerOption<D>(
  name: string,
  value: unknown,
  fallback: D,
  range: IntegerRange = {},
): number | D {
  if (value === undefined) return fallback;
  const min = range.min ?? 1;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `${name} must be an integer from ${min} to ${max}, not ${describe(value)}`,
      {
        option: name,
      },
    );
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  return value === null ? "null" : typeof value;
}
