/**
 * Reads just the header of a stored object: a first read of `initialBytes` (4 KiB by default),
 * then more only when `parseMessagePrefix` answers "need N bytes" — a message with a large
 * encryption context or many wrapped keys. Storage-agnostic: the caller passes how to read a
 * byte range (ranged GET, file read).
 */
import { hasMagic, parseMessagePrefix, type FormatLimits } from "@rekey/core";
import { describeError } from "../errors.js";
import type { PrefixRead } from "../model/object-store.js";

export type { PrefixRead };

/** Bytes read by the first request when the caller sets nothing: 4 KiB. */
export const DEFAULT_HEADER_READ_BYTES = 4096;

/**
 * Completes the header read from the first bytes of an object of `size` bytes. `readRange(start,
 * end)` returns bytes `[start, end)` of the same version of the object.
 *
 * @example
 * ```ts
 * const read = await completePrefix(first, size, (s, e) => readFileRange(fd, s, e));
 * if (read.kind === "ok") console.log(read.prefix.bodyOffset);
 * ```
 */
export async function completePrefix(
  first: Uint8Array,
  size: number,
  readRange: (start: number, end: number) => Promise<Uint8Array>,
  limits?: Partial<FormatLimits>,
): Promise<PrefixRead> {
  if (size === 0 || first.length === 0) return { kind: "foreign", reason: "empty object" };
  if (!hasMagic(first)) return { kind: "foreign", reason: "not a rekey message (no magic)" };
  let bytes = first;
  for (;;) {
    let parsed;
    try {
      parsed = parseMessagePrefix(bytes, limits);
    } catch (e) {
      const { code, reason } = describeError(e);
      return { kind: "unreadable", code, reason: `header does not parse: ${reason}` };
    }
    if (parsed.status === "ok") return { kind: "ok", prefix: parsed.value, bytes };
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
