/**
 * Reads just the header of a stored object, rekey or AWS Encryption SDK: a first read of
 * `initialBytes` (4 KiB by default), then more only when the format's parser answers "need N
 * bytes" — a message with a large encryption context or many wrapped keys. The growth is bounded
 * by each format's limits (a rekey header by `FormatLimits`; an ESDK header by its fields'
 * 16-bit lengths and `maxEncryptedDataKeys`). Storage-agnostic: the caller passes how to read a
 * byte range (ranged GET, file read).
 */
import {
  hasMagic,
  isEsdkMessage,
  parseEsdkHeader,
  parseMessagePrefix,
  type EsdkHeader,
  type FormatLimits,
  type MessagePrefix,
  type ParseResult,
} from "@rekey/core";
import { describeError } from "../errors.js";
import type { PrefixRead } from "../model/object-store.js";

export type { PrefixRead };

/** Bytes read by the first request when the caller sets nothing: 4 KiB. */
export const DEFAULT_HEADER_READ_BYTES = 4096;

/** Most encrypted data keys an ESDK header may carry: the rekey limit on wrapped-key entries. */
function esdkMaxKeys(limits: Partial<FormatLimits> | undefined): number {
  return limits?.maxEntries ?? 16;
}

/**
 * Completes the header read from the first bytes of an object of `size` bytes. `readRange(start,
 * end)` returns bytes `[start, end)` of the same version of the object.
 *
 * @example
 * ```ts
 * const read = await completePrefix(first, size, (s, e) => readFileRange(fd, s, e));
 * if (read.kind === "ok") console.log(read.prefix.bodyOffset);
 * if (read.kind === "esdk") console.log(read.header.suite.name);
 * ```
 */
export async function completePrefix(
  first: Uint8Array,
  size: number,
  readRange: (start: number, end: number) => Promise<Uint8Array>,
  limits?: Partial<FormatLimits>,
): Promise<PrefixRead> {
  if (size === 0 || first.length === 0) return { kind: "foreign", reason: "empty object" };
  if (hasMagic(first)) {
    const r = await readHeader<MessagePrefix>(first, size, readRange, (b) => parseMessagePrefix(b, limits));
    return r.kind === "parsed" ? { kind: "ok", prefix: r.value, bytes: r.bytes } : r;
  }
  if (isEsdkMessage(first)) {
    const r = await readHeader<EsdkHeader>(first, size, readRange, (b) =>
      parseEsdkHeader(b, { maxEncryptedDataKeys: esdkMaxKeys(limits) }),
    );
    if (r.kind !== "parsed") return Object.assign({}, r, { reason: `AWS Encryption SDK ${r.reason}` });
    return { kind: "esdk", header: r.value, bytes: r.bytes };
  }
  return { kind: "foreign", reason: "not a rekey message (no magic), nor an AWS Encryption SDK message" };
}

type HeaderRead<T> =
  | { readonly kind: "parsed"; readonly value: T; readonly bytes: Uint8Array }
  | { readonly kind: "unreadable"; readonly code: string; readonly reason: string };

/** The "need more" loop shared by both formats. */
async function readHeader<T>(
  first: Uint8Array,
  size: number,
  readRange: (start: number, end: number) => Promise<Uint8Array>,
  parse: (bytes: Uint8Array) => ParseResult<T>,
): Promise<HeaderRead<T>> {
  let bytes = first;
  for (;;) {
    let parsed;
    try {
      parsed = parse(bytes);
    } catch (e) {
      const { code, reason } = describeError(e);
      return { kind: "unreadable", code, reason: `header does not parse: ${reason}` };
    }
    if (parsed.status === "ok") return { kind: "parsed", value: parsed.value, bytes };
    if (parsed.minBytes > size)
      return {
        kind: "unreadable",
        code: "ERR_FORMAT",
        reason: `header is truncated: it needs ${parsed.minBytes} bytes, the object has ${size}`,
      };
    // Grow geometrically so a header just past the first read costs one more request, not many.
    const end = Math.min(size, Math.max(parsed.minBytes, bytes.length * 2));
    const more = await readRange(bytes.length, end);
    if (more.length !== end - bytes.length)
      return { kind: "unreadable", code: "ERR_FORMAT", reason: "object ended while reading its header" };
    const next = new Uint8Array(end);
    next.set(bytes, 0);
    next.set(more, bytes.length);
    bytes = next;
  }
}
