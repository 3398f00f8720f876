/**
 * Parses the part of a message before the body: header then wrapped-key section. Answers
 * `need` with a byte count instead of throwing on short input, so callers can read a file or a
 * ranged GET incrementally ("read 4 KiB; if need, read up to minBytes").
 */
import { resolveLimits, type FormatLimits } from "./constants.js";
import { parseEntries, serializeEntries, type WrappedKeyEntry } from "./entries.js";
import { parseHeader, type MessageHeader, type ParseResult } from "./header.js";
import { concatBytes } from "./bytes.js";

/** The header and wrapped keys of a message, and where its body starts. */
export interface MessagePrefix {
  readonly header: MessageHeader;
  readonly entries: readonly WrappedKeyEntry[];
  /** Length of the wrapped-key section, its length field included. */
  readonly entriesLength: number;
  /** Offset of the first frame: header length + entries length. */
  readonly bodyOffset: number;
}

/** Parses header + wrapped-key section from the start of `bytes`. */
export function parseMessagePrefix(
  bytes: Uint8Array,
  limits?: Partial<FormatLimits>,
): ParseResult<MessagePrefix> {
  const l = resolveLimits(limits);
  const header = parseHeader(bytes, l);
  if (header.status === "need") return header;
  const h = header.value;
  const section = parseEntries(bytes.subarray(h.headerLength), l);
  if (section.status === "need") return { status: "need", minBytes: h.headerLength + section.minBytes };
  return {
    status: "ok",
    value: {
      header: h,
      entries: section.value.entries,
      entriesLength: section.value.byteLength,
      bodyOffset: h.headerLength + section.value.byteLength,
    },
  };
}

/**
 * The bytes of a message prefix (header + a new wrapped-key section). A rewrap writes these in
 * front of the unchanged body: the header, tag included, is kept byte for byte.
 */
export function serializePrefixWithEntries(
  header: MessageHeader,
  entries: readonly WrappedKeyEntry[],
  limits?: Partial<FormatLimits>,
): Uint8Array {
  return concatBytes([
    header.authenticatedBytes,
    header.headerTag,
    serializeEntries(entries, resolveLimits(limits)),
  ]);
}
