/** Small big-endian byte helpers shared by the serializer and the parser. */

export function writeU16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 8;
  buf[offset + 1] = value & 0xff;
}

export function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

export function readU16(buf: Uint8Array, offset: number): number {
  return ((buf[offset] ?? 0) << 8) | (buf[offset + 1] ?? 0);
}

export function readU32(buf: Uint8Array, offset: number): number {
  return (
    (((buf[offset] ?? 0) << 24) |
      ((buf[offset + 1] ?? 0) << 16) |
      ((buf[offset + 2] ?? 0) << 8) |
      (buf[offset + 3] ?? 0)) >>>
    0
  );
}

/**
 * A copy of `bytes` from `start` to `end`, whatever its class: `Buffer#slice` does not copy (it is
 * `subarray`), so a parser whose result must not share its input's memory copies through this.
 * A small copy is carved from Node's shared buffer pool, as `Buffer.from` does: several times
 * cheaper than an `ArrayBuffer` of its own, which counts on a message of a few hundred bytes.
 * The result is a plain `Uint8Array`, whatever the input.
 */
export function copyBytes(bytes: Uint8Array, start: number, end: number): Uint8Array {
  // The copy reads through the input's ArrayBuffer, which may hold other data past the view (a
  // pooled Buffer): never outside the view.
  if (!(0 <= start && start <= end && end <= bytes.length))
    throw new RangeError(`copyBytes: [${start}, ${end}) is outside 0..${bytes.length}`);
  const pooled = Buffer.allocUnsafe(end - start);
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length);
  out.set(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start));
  return out;
}

/**
 * Freezes a parsed `value` with the bytes it was read from under `key` (the parsing module's own
 * symbol): not enumerable and, once frozen, not writable, so a copy of the value (a spread,
 * `Object.entries`) leaves them behind and nothing can change them. A property rather than a
 * WeakMap from value to bytes: the collector would have to scan such a map, one entry per message
 * parsed, at every minor collection.
 */
export function freezeWithSource<T extends object>(value: T, key: symbol, bytes: Uint8Array): T {
  Object.defineProperty(value, key, { value: bytes });
  return Object.freeze(value);
}

/** The bytes {@link freezeWithSource} attached to `value` under `key`, if it did. */
export function sourceOf(value: object, key: symbol): Uint8Array | undefined {
  return Object.hasOwn(value, key) ? (value as Record<symbol, Uint8Array>)[key] : undefined;
}

/** Concatenates byte arrays into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF is content, not a marker to strip — stripping it would give two
// byte encodings for one string and break the canonical encryption context.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no unpaired surrogate (so UTF-8 encoding is lossless). */
export function isWellFormedString(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Decodes UTF-8, throwing on invalid sequences (a hostile header must not decode "leniently"). */
export function decodeUtf8(b: Uint8Array): string {
  return utf8Strict.decode(b);
}
