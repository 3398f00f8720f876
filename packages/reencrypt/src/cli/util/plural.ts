/** Counted nouns for messages: "1 key", "2 keys". */

/**
 * The noun, plural unless the count is one.
 *
 * @param plural - The plural when it is not `noun` + "s". @default `${noun}s`
 * @example
 * ```ts
 * `${n} ${plural(n, "key")}`; // "1 key", "2 keys"
 * ```
 */
export function plural(count: number, noun: string, pluralForm = `${noun}s`): string {
  return count === 1 ? noun : pluralForm;
}

/**
 * The count and its noun.
 *
 * @example
 * ```ts
 * counted(1, "error"); // "1 error"
 * ```
 */
export function counted(count: number, noun: string, pluralForm = `${noun}s`): string {
  return `${count} ${plural(count, noun, pluralForm)}`;
}
