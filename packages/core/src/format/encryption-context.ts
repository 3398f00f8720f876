/**
 * The encryption context: a map of UTF-8 strings, authenticated in the header and passed to KMS
 * as its encryption context. Serialized canonically (pairs sorted by the key's UTF-8 bytes, no
 * duplicate keys) so that the same map always yields the same header bytes.
 */
import { FormatError, EncryptionContextError, LimitError } from "../errors.js";
import {
  decodeUtf8,
  encodeUtf8,
  freezeWithSource,
  isWellFormedString,
  readU16,
  sourceOf,
  writeU16,
} from "./bytes.js";

/** An encryption context: non-secret, authenticated key/value pairs. */
export type EncryptionContext = Readonly<Record<string, string>>;

const MAX_PAIRS = 0xffff;
const MAX_FIELD = 0xffff;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Serializes a context canonically: `u16 count`, then per pair `u16 keyLen, key, u16 valueLen,
 * value`, sorted by key bytes.
 */
export function serializeEncryptionContext(context: EncryptionContext, maxBytes: number): Uint8Array {
  const pairs: [Uint8Array, Uint8Array][] = [];
  for (const [k, v] of Object.entries(context)) {
    if (typeof v !== "string")
      throw new EncryptionContextError(`encryption context value for "${k}" is not a string`);
    if (k.length === 0) throw new EncryptionContextError("encryption context keys must not be empty");
    // An unpaired surrogate has no UTF-8 form (the encoder substitutes U+FFFD): refuse it rather
    // than write a context that reads back differently, or not at all.
    if (!isWellFormedString(k) || !isWellFormedString(v)) {
      throw new EncryptionContextError(`encryption context entry "${k}" is not well-formed Unicode`);
    }
    const kb = encodeUtf8(k);
    const vb = encodeUtf8(v);
    if (kb.length > MAX_FIELD || vb.length > MAX_FIELD)
      throw new LimitError("encryption context entry too large");
    pairs.push([kb, vb]);
  }
  if (pairs.length > MAX_PAIRS) throw new LimitError("too many encryption context pairs");
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  for (let i = 1; i < pairs.length; i++) {
    if (
      compareBytes(
        (pairs[i - 1] as [Uint8Array, Uint8Array])[0],
        (pairs[i] as [Uint8Array, Uint8Array])[0],
      ) === 0
    ) {
      throw new EncryptionContextError("encryption context has two keys with the same UTF-8 bytes");
    }
  }
  let size = 2;
  for (const [k, v] of pairs) size += 4 + k.length + v.length;
  if (size > maxBytes) throw new LimitError(`encryption context is ${size} bytes; the limit is ${maxBytes}`);
  const out = new Uint8Array(size);
  writeU16(out, 0, pairs.length);
  let at = 2;
  for (const [k, v] of pairs) {
    writeU16(out, at, k.length);
    out.set(k, at + 2);
    at += 2 + k.length;
    writeU16(out, at, v.length);
    out.set(v, at + 2);
    at += 2 + v.length;
  }
  return out;
}

/** Where a parsed (frozen) context keeps the canonical bytes it was read from. */
const CONTEXT_BYTES = Symbol("encryption context bytes");

/**
 * The bytes a context was parsed from, or `undefined` for a context built in memory: what
 * {@link serializeEncryptionContext} would return for it (the parser accepts only the canonical
 * form), without serializing again. The parsed context is frozen, so the two cannot drift apart.
 */
export function parsedContextBytesOf(context: EncryptionContext): Uint8Array | undefined {
  return sourceOf(context, CONTEXT_BYTES);
}

/** The context of every message that has none: one frozen object, its bytes remembered once. */
const EMPTY_CONTEXT: EncryptionContext = freezeWithSource({}, CONTEXT_BYTES, Uint8Array.of(0, 0));

/**
 * Parses a serialized context, rejecting anything that is not canonical. The result is frozen;
 * `bytes` is remembered with it (see {@link parsedContextBytesOf}), so pass bytes that do not keep
 * a larger buffer alive.
 */
export function parseEncryptionContext(bytes: Uint8Array): Readonly<Record<string, string>> {
  if (bytes.length < 2) throw new FormatError("encryption context is truncated");
  const count = readU16(bytes, 0);
  // Pairs, not properties set one by one: Object.fromEntries defines each key as an own data
  // property, so a "__proto__" key is a key like any other and sets no prototype.
  const pairs: [string, string][] = [];
  let at = 2;
  let previous: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const k = readField(bytes, at);
    at += 2 + k.length;
    const v = readField(bytes, at);
    at += 2 + v.length;
    if (k.length === 0) throw new FormatError("encryption context has an empty key");
    if (previous && compareBytes(previous, k) >= 0)
      throw new FormatError("encryption context is not canonical");
    previous = k;
    try {
      pairs.push([decodeUtf8(k), decodeUtf8(v)]);
    } catch (cause) {
      throw new FormatError("encryption context is not valid UTF-8", { cause });
    }
  }
  if (at !== bytes.length) throw new FormatError("encryption context has trailing bytes");
  if (count === 0) return EMPTY_CONTEXT;
  return freezeWithSource(Object.fromEntries(pairs), CONTEXT_BYTES, bytes);
}

function readField(bytes: Uint8Array, at: number): Uint8Array {
  if (at + 2 > bytes.length) throw new FormatError("encryption context is truncated");
  const len = readU16(bytes, at);
  if (at + 2 + len > bytes.length) throw new FormatError("encryption context is truncated");
  return bytes.subarray(at + 2, at + 2 + len);
}

/**
 * Throws {@link EncryptionContextError} unless every pair of `required` is in `actual` (own
 * properties only: a `__proto__` or `constructor` key is a key like any other).
 */
export function requireEncryptionContext(
  actual: Readonly<Record<string, string>>,
  required: Readonly<Record<string, string>> | undefined,
): void {
  for (const [k, v] of Object.entries(required ?? {})) {
    if (!Object.hasOwn(actual, k) || actual[k] !== v)
      throw new EncryptionContextError("the message's encryption context does not match the required one");
  }
}
