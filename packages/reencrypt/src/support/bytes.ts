/** Byte comparison shared by the stores and the operations. */
/**
 * Constant-shape byte comparison.
 *
 * @example
 * ```ts
 * sameBytes(readBack, newPrefix); // true when equal
 * ```
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
