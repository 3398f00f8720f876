/**
 * The wrapped-key section: the data key wrapped once per recipient. It sits after the header
 * tag and is not covered by it, so a rewrap can replace this section alone (KMS ReEncrypt, no
 * plaintext data key in the client). An entry swapped for one that unwraps to another data key
 * fails the key commitment check on decrypt.
 *
 * Each entry names its own type (like an age stanza), carries string arguments whose meaning
 * belongs to that type, and an opaque body (the wrapped key). Readers skip types they do not
 * know, so a new wrapping scheme needs no format change.
 */
import { FormatError, LimitError } from "../errors.js";
import {
  copyBytes,
  decodeUtf8,
  encodeUtf8,
  freezeWithSource,
  readU16,
  readU32,
  sourceOf,
  writeU16,
  writeU32,
} from "./bytes.js";
import { ENTRY_LIMITS, type FormatLimits } from "./constants.js";
import type { ParseResult } from "./header.js";

/** One wrapped copy of the data key. */
export interface WrappedKeyEntry {
  /** The wrapping scheme, e.g. `aws-kms` or `raw-aes`: lowercase ASCII letters, digits, `-`. */
  readonly type: string;
  /** Scheme-specific string arguments (for `aws-kms`: key ARN, requested key id, key material id). */
  readonly args: readonly string[];
  /** The wrapped data key. */
  readonly body: Uint8Array;
}

/** A parsed wrapped-key section. */
export interface EntriesSection {
  readonly entries: readonly WrappedKeyEntry[];
  /** Bytes the section occupies, its length field included. */
  readonly byteLength: number;
}

const TYPE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** Where a parsed (frozen) list of entries keeps the section bytes it was read from. */
const SECTION = Symbol("wrapped-key section");

/**
 * The serialized section a list of entries was parsed from, or `undefined` for a list built in
 * memory: what {@link serializeEntries} would return for it, without serializing again (a data-key
 * cache keys its lookups on these bytes). The list and its entries are frozen by the parser, so
 * the bytes and the entries cannot drift apart.
 */
export function parsedSectionOf(entries: readonly WrappedKeyEntry[]): Uint8Array | undefined {
  return sourceOf(entries, SECTION);
}

/**
 * The section a writer puts in a new message: a copy of the bytes the entries were parsed from
 * when they are within `limits` (a copy: the caller owns what it writes, and the remembered bytes
 * must stay as they are), else the entries serialized. The same bytes either way.
 */
export function sectionForWriting(entries: readonly WrappedKeyEntry[], limits: FormatLimits): Uint8Array {
  const remembered = parsedSectionOf(entries);
  if (remembered && remembered.length <= limits.maxEntriesBytes && entries.length <= limits.maxEntries)
    return copyBytes(remembered, 0, remembered.length);
  return serializeEntries(entries, limits);
}

/**
 * `entries` as a parser would return them (frozen, every body a view of one private copy of the
 * section), with the section's bytes remembered so that {@link sectionForWriting} copies them
 * instead of serializing again. For a keyring that hands the same entries to many messages (a
 * data-key cache). The remembered bytes are a second private copy, not the one the bodies view: a
 * caller that writes into a body it was handed (a `Uint8Array` cannot be frozen) changes no
 * message written after. Entries that do not serialize within `limits` are returned as they are:
 * the writer then fails on them with the error it always gave.
 */
export function withRememberedSection(
  entries: readonly WrappedKeyEntry[],
  limits: FormatLimits,
): readonly WrappedKeyEntry[] {
  let bytes: Uint8Array;
  try {
    bytes = serializeEntries(entries, limits);
  } catch {
    return entries;
  }
  // parseEntries copies `bytes` for the bodies, so `bytes` itself stays this function's alone.
  const parsed = parseEntries(bytes, limits);
  if (parsed.status !== "ok") return entries;
  return freezeWithSource([...parsed.value.entries], SECTION, bytes);
}

/**
 * Serializes the section: `u32 length` (bytes that follow), `u16 count`, then per entry
 * `u8 typeLen, type, u8 argCount, (u16 argLen, arg)*, u16 bodyLen, body`.
 */
export function serializeEntries(entries: readonly WrappedKeyEntry[], limits: FormatLimits): Uint8Array {
  if (entries.length === 0) throw new FormatError("a message needs at least one wrapped key");
  if (entries.length > limits.maxEntries)
    throw new LimitError(`${entries.length} entries; the limit is ${limits.maxEntries}`);
  const encoded = entries.map((e) => {
    if (!TYPE_PATTERN.test(e.type) || e.type.length > ENTRY_LIMITS.maxTypeLength)
      throw new FormatError(`invalid entry type "${e.type}"`);
    if (e.args.length > ENTRY_LIMITS.maxArgs) throw new LimitError("too many entry arguments");
    const args = e.args.map((a) => {
      const b = encodeUtf8(a);
      if (b.length > ENTRY_LIMITS.maxArgBytes) throw new LimitError("entry argument too large");
      return b;
    });
    if (e.body.length > ENTRY_LIMITS.maxBodyBytes) throw new LimitError("entry body too large");
    return { type: encodeUtf8(e.type), args, body: e.body };
  });
  let size = 4 + 2;
  for (const e of encoded)
    size += 1 + e.type.length + 1 + e.args.reduce((n, a) => n + 2 + a.length, 0) + 2 + e.body.length;
  if (size > limits.maxEntriesBytes) throw new LimitError(`wrapped-key section would be ${size} bytes`);
  const out = new Uint8Array(size);
  writeU32(out, 0, size - 4);
  writeU16(out, 4, encoded.length);
  let at = 6;
  for (const e of encoded) {
    out[at++] = e.type.length;
    out.set(e.type, at);
    at += e.type.length;
    out[at++] = e.args.length;
    for (const a of e.args) {
      writeU16(out, at, a.length);
      out.set(a, at + 2);
      at += 2 + a.length;
    }
    writeU16(out, at, e.body.length);
    out.set(e.body, at + 2);
    at += 2 + e.body.length;
  }
  return out;
}

/** Parses the section at the start of `bytes`, answering `need` when more bytes are required. */
export function parseEntries(bytes: Uint8Array, limits: FormatLimits): ParseResult<EntriesSection> {
  if (bytes.length < 4) return { status: "need", minBytes: 4 };
  const length = readU32(bytes, 0);
  // The limit counts the whole section, its length field included, as the serializer does.
  if (4 + length > limits.maxEntriesBytes) throw new LimitError("wrapped-key section exceeds the limit");
  if (length < 2) throw new FormatError("wrapped-key section is too short");
  const total = 4 + length;
  if (bytes.length < total) return { status: "need", minBytes: total };
  // One copy of the section, every body a view of it: the entries share no memory with the input
  // (they keep no whole message alive), and the bodies and the remembered section bytes cannot
  // drift apart.
  const view = copyBytes(bytes, 0, total);
  const count = readU16(view, 4);
  if (count === 0) throw new FormatError("a message needs at least one wrapped key");
  if (count > limits.maxEntries) throw new LimitError(`${count} entries; the limit is ${limits.maxEntries}`);
  const entries: WrappedKeyEntry[] = [];
  let at = 6;
  for (let i = 0; i < count; i++) {
    if (at + 1 > total) throw overrun();
    const typeLength = view[at++] ?? 0;
    if (at + typeLength > total) throw overrun();
    const type = readType(view, at, typeLength);
    at += typeLength;
    if (at + 1 > total) throw overrun();
    const argCount = view[at++] ?? 0;
    if (argCount > ENTRY_LIMITS.maxArgs) throw new LimitError("too many entry arguments");
    const args: string[] = [];
    for (let j = 0; j < argCount; j++) {
      if (at + 2 > total) throw overrun();
      const len = readU16(view, at);
      at += 2;
      if (len > ENTRY_LIMITS.maxArgBytes) throw new LimitError("entry argument too large");
      if (at + len > total) throw overrun();
      args.push(decodeString(view.subarray(at, at + len)));
      at += len;
    }
    if (at + 2 > total) throw overrun();
    const bodyLength = readU16(view, at);
    at += 2;
    if (bodyLength > ENTRY_LIMITS.maxBodyBytes) throw new LimitError("entry body too large");
    if (at + bodyLength > total) throw overrun();
    entries.push(
      Object.freeze({ type, args: Object.freeze(args), body: view.subarray(at, at + bodyLength) }),
    );
    at += bodyLength;
  }
  if (at !== total) throw new FormatError("wrapped-key section has trailing bytes");
  freezeWithSource(entries, SECTION, view);
  return { status: "ok", value: { entries, byteLength: total } };
}

function overrun(): FormatError {
  return new FormatError("wrapped-key entry overruns its section");
}

/**
 * An entry type read from its bytes: 1 to {@link ENTRY_LIMITS.maxTypeLength} of `a-z`, `0-9`
 * and `-`, not starting with `-` (what `TYPE_PATTERN` accepts). Checked byte by byte, so no
 * UTF-8 decoding is needed: every accepted byte is ASCII.
 */
function readType(view: Uint8Array, at: number, length: number): string {
  if (length === 0 || length > ENTRY_LIMITS.maxTypeLength) throw invalidType();
  let type = "";
  for (let i = at; i < at + length; i++) {
    const c = view[i] ?? 0;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || (c === 0x2d && i > at);
    if (!ok) throw invalidType();
    type += String.fromCharCode(c);
  }
  return type;
}

function invalidType(): FormatError {
  return new FormatError("invalid wrapped-key entry type");
}

function decodeString(b: Uint8Array): string {
  try {
    return decodeUtf8(b);
  } catch (cause) {
    throw new FormatError("wrapped-key entry is not valid UTF-8", { cause });
  }
}
