/**
 * Fixed numbers of the rekey message format, version 1. SPEC.md describes every byte; this file
 * holds the constants the serializer and parser share.
 */
import { InvalidArgumentError } from "../errors.js";
import { integerOption } from "../integer-option.js";

/** The first four bytes of every rekey message: ASCII "RKEY". */
export const MAGIC = Uint8Array.of(0x52, 0x4b, 0x45, 0x59);
/** Format version written by this implementation. */
export const FORMAT_VERSION = 1;
/** Algorithm suite 1: AES-256-GCM, HKDF-SHA512 key derivation, key commitment. */
export const SUITE_AES256_GCM_HKDF_SHA512_COMMIT = 0x0001;
/** Algorithm suite 2: suite 1 plus an ECDSA P-384 signature over the header and the body. */
export const SUITE_SIGNED_ECDSA_P384 = 0x0002;
/** Bytes of a suite 2 signature (`r || s`), the last bytes of a signed message. */
export const SIGNATURE_LENGTH = 96;
/**
 * The encryption-context key that carries a signed message's public key (base64 of the
 * compressed P-384 point). Reserved: a caller's context may not use it.
 */
export const SIGNING_KEY_CONTEXT_KEY = "rekey-signing-key";

export const MESSAGE_ID_LENGTH = 32;
export const COMMITMENT_LENGTH = 32;
export const TAG_LENGTH = 16;
export const IV_LENGTH = 12;
export const DATA_KEY_LENGTH = 32;

/** Offsets of the fixed part of the header. */
export const HEADER_FIXED = {
  magic: 0,
  version: 4,
  suite: 5,
  headerLength: 7,
  messageId: 11,
  frameLength: 43,
  contextLength: 47,
  /** First byte of the encryption context. */
  context: 49,
} as const;

/** Header bytes that are not the encryption context: fixed part + commitment + tag. */
export const HEADER_OVERHEAD = HEADER_FIXED.context + COMMITMENT_LENGTH + TAG_LENGTH;

/** Sequence-number field value that marks the final frame. */
export const FINAL_FRAME_MARKER = 0xffffffff;
/** The largest sequence number a frame may carry (the marker value is reserved). */
export const MAX_SEQUENCE_NUMBER = 0xfffffffe;
/** Bytes before the ciphertext of a regular frame (sequence number). */
export const REGULAR_FRAME_HEADER = 4;
/** Bytes before the ciphertext of the final frame (marker, sequence number, content length). */
export const FINAL_FRAME_HEADER = 12;

/**
 * Default frame length: 1 MiB. Streaming runs at about the speed of raw node:crypto GCM from
 * 64 KiB frames up, and the per-frame cost is under 1 % at 1 MiB; memory stays a small multiple
 * of the frame length. The figures and the reasoning are in SPEC.md and BENCHMARKS.md.
 */
export const DEFAULT_FRAME_LENGTH = 1024 * 1024;
/** Smallest frame length a writer may choose. */
export const MIN_FRAME_LENGTH = 1;

/** Limits that bound the work and memory a hostile message can cause. */
export interface FormatLimits {
  /** Most wrapped-key entries. @default 16 */
  maxEntries: number;
  /** Most bytes of the authenticated header (fixed part, context, commitment, tag). @default 65536 */
  maxHeaderBytes: number;
  /** Most bytes of the wrapped-key section. @default 65536 */
  maxEntriesBytes: number;
  /** Most bytes of the serialized encryption context. @default 8192 */
  maxContextBytes: number;
  /** Largest frame length a reader accepts. @default 16777216 (16 MiB) */
  maxFrameLength: number;
  /** Most frames in a message. @default 4294967294 */
  maxFrames: number;
}

/** The limits in force when a caller sets none. */
export const DEFAULT_LIMITS: Readonly<FormatLimits> = Object.freeze({
  maxEntries: 16,
  maxHeaderBytes: 65536,
  maxEntriesBytes: 65536,
  maxContextBytes: 8192,
  maxFrameLength: 16 * 1024 * 1024,
  maxFrames: MAX_SEQUENCE_NUMBER,
});

/** Limits for one entry's type name, argument count and sizes. */
export const ENTRY_LIMITS = {
  maxTypeLength: 32,
  maxArgs: 16,
  maxArgBytes: 2048,
  maxBodyBytes: 4096,
} as const;

/**
 * The largest value each limit may take: what the format's length fields can express (a u16
 * entry count and context length, u32 section and frame lengths, the last sequence number).
 */
export const LIMIT_MAXIMA: Readonly<FormatLimits> = Object.freeze({
  maxEntries: 0xffff,
  maxHeaderBytes: HEADER_OVERHEAD + 0xffff,
  maxEntriesBytes: 4 + 0xffffffff,
  maxContextBytes: 0xffff,
  maxFrameLength: 0xffffffff,
  maxFrames: MAX_SEQUENCE_NUMBER,
});

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof FormatLimits)[];

/**
 * Merges caller limits over the defaults (the frozen defaults themselves when there are none). Each limit is `undefined` (its default) or an integer
 * from 1 to its {@link LIMIT_MAXIMA} entry; `NaN`, `Infinity`, `null`, a negative or fractional
 * number, a string, or a name that is not a limit is an {@link InvalidArgumentError} naming it,
 * so no caller can switch a limit off by accident.
 */
export function resolveLimits(limits?: Partial<FormatLimits>): Readonly<FormatLimits> {
  if (limits === undefined || limits === DEFAULT_LIMITS) return DEFAULT_LIMITS;
  if (typeof limits !== "object" || limits === null)
    throw new InvalidArgumentError("limits must be an object", { option: "limits" });
  for (const name of Object.keys(limits)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, name))
      throw new InvalidArgumentError(`limits.${name} is not a limit`, { option: `limits.${name}` });
  }
  const out = {} as FormatLimits;
  for (const name of LIMIT_NAMES) {
    out[name] = integerOption(`limits.${name}`, limits[name], DEFAULT_LIMITS[name], {
      max: LIMIT_MAXIMA[name],
    });
  }
  return out;
}
