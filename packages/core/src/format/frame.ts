/**
 * Frame framing (no crypto): a regular frame is `u32 sequence, ciphertext[frameLength], tag`;
 * the final frame is `u32 0xFFFFFFFF, u32 sequence, u32 contentLength, ciphertext, tag`. The
 * final frame may be empty, so a writer never has to look ahead to know a frame is the last.
 */
import { readU32, writeU32 } from "./bytes.js";
import {
  FINAL_FRAME_HEADER,
  FINAL_FRAME_MARKER,
  MESSAGE_ID_LENGTH,
  REGULAR_FRAME_HEADER,
  IV_LENGTH,
} from "./constants.js";
import { FormatError } from "../errors.js";

/** The plaintext bytes before a frame's ciphertext. */
export function regularFrameHeader(sequence: number): Uint8Array {
  const out = new Uint8Array(REGULAR_FRAME_HEADER);
  writeU32(out, 0, sequence);
  return out;
}

/** The bytes before the final frame's ciphertext. */
export function finalFrameHeader(sequence: number, contentLength: number): Uint8Array {
  const out = new Uint8Array(FINAL_FRAME_HEADER);
  writeU32(out, 0, FINAL_FRAME_MARKER);
  writeU32(out, 4, sequence);
  writeU32(out, 8, contentLength);
  return out;
}

/** A decoded frame header. */
export interface FrameHeader {
  readonly final: boolean;
  readonly sequence: number;
  readonly contentLength: number;
  /** Bytes the frame header occupies. */
  readonly byteLength: number;
}

/**
 * Decodes a frame header from `bytes` (which start at the frame), or `undefined` when more
 * bytes are needed. Checks the sequence number and the final content length.
 */
export function readFrameHeader(
  bytes: Uint8Array,
  expectedSequence: number,
  frameLength: number,
): FrameHeader | undefined {
  if (bytes.length < REGULAR_FRAME_HEADER) return undefined;
  const first = readU32(bytes, 0);
  if (first !== FINAL_FRAME_MARKER) {
    if (first !== expectedSequence) throw new FormatError("frame out of sequence");
    return { final: false, sequence: first, contentLength: frameLength, byteLength: REGULAR_FRAME_HEADER };
  }
  if (bytes.length < FINAL_FRAME_HEADER) return undefined;
  const sequence = readU32(bytes, 4);
  const contentLength = readU32(bytes, 8);
  if (sequence !== expectedSequence) throw new FormatError("frame out of sequence");
  if (contentLength > frameLength) throw new FormatError("final frame longer than the frame length");
  return { final: true, sequence, contentLength, byteLength: FINAL_FRAME_HEADER };
}

/**
 * Additional authenticated data of a frame: message id, sequence number, final flag, length.
 * Like {@link frameIv}, carved from Node's buffer pool: a small `Uint8Array` of its own lives in
 * the JavaScript heap, and node:crypto reading it gives it a backing store outside the heap first,
 * an allocation and a copy per frame that a pooled buffer does not need.
 */
export function frameAad(
  messageId: Uint8Array,
  sequence: number,
  final: boolean,
  contentLength: number,
): Uint8Array {
  // Every byte is written below, so the pool's unzeroed memory never shows.
  const out = Buffer.allocUnsafe(MESSAGE_ID_LENGTH + 9);
  out.set(messageId, 0);
  writeU32(out, MESSAGE_ID_LENGTH, sequence);
  out[MESSAGE_ID_LENGTH + 4] = final ? 1 : 0;
  writeU32(out, MESSAGE_ID_LENGTH + 5, contentLength);
  return out;
}

/** The 12-byte GCM nonce of a frame: eight zero bytes, then the sequence number. Zero is the header's. */
export function frameIv(sequence: number): Uint8Array {
  const out = Buffer.allocUnsafe(IV_LENGTH).fill(0, 0, IV_LENGTH - 4);
  writeU32(out, IV_LENGTH - 4, sequence);
  return out;
}
