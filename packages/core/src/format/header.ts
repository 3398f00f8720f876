/**
 * The authenticated header: magic, version, suite, header length, message id, frame length,
 * encryption context, key commitment and header tag. Bytes <-> struct only; the tag and the
 * commitment are computed elsewhere.
 */
import { FormatError, LimitError } from "../errors.js";
import { copyBytes, readU16, readU32, writeU16, writeU32 } from "./bytes.js";
import {
  COMMITMENT_LENGTH,
  FORMAT_VERSION,
  HEADER_FIXED,
  HEADER_OVERHEAD,
  MAGIC,
  MESSAGE_ID_LENGTH,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
  SUITE_SIGNED_ECDSA_P384,
  TAG_LENGTH,
  type FormatLimits,
} from "./constants.js";
import { parseEncryptionContext, type EncryptionContext } from "./encryption-context.js";
import { signingKeyOf } from "./signing-key.js";

/** A parsed header. */
export interface MessageHeader {
  /** Format version (1). */
  readonly version: number;
  /** Algorithm suite id (1: AES-256-GCM, HKDF-SHA512, committing; 2: the same, signed). */
  readonly suiteId: number;
  /** Suite 2: the public key the signature verifies under (from the encryption context). */
  readonly signingKey: string | undefined;
  /** Random 32-byte message id; the HKDF salt. */
  readonly messageId: Uint8Array;
  /** Plaintext bytes per regular frame. */
  readonly frameLength: number;
  /** The authenticated encryption context. */
  readonly encryptionContext: EncryptionContext;
  /** The key commitment value derived from the data key. */
  readonly commitment: Uint8Array;
  /** The header authentication tag. */
  readonly headerTag: Uint8Array;
  /** Total header length in bytes, tag included: the offset of the wrapped-key section. */
  readonly headerLength: number;
  /** The bytes the header tag authenticates (everything before the tag). */
  readonly authenticatedBytes: Uint8Array;
}

/** Header fields a writer chooses. */
export interface HeaderFields {
  /** @default 1 (unsigned) */
  suiteId?: number;
  messageId: Uint8Array;
  frameLength: number;
  /** Serialized (canonical) encryption context. */
  context: Uint8Array;
  commitment: Uint8Array;
}

/** True when `bytes` start like a rekey message (as far as they go). */
export function hasMagic(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

/**
 * Serializes the header up to (not including) the tag. The caller computes the tag over these
 * bytes and appends it.
 */
export function serializeHeaderBody(fields: HeaderFields, limits: FormatLimits): Uint8Array {
  if (fields.messageId.length !== MESSAGE_ID_LENGTH) throw new FormatError("message id must be 32 bytes");
  if (fields.commitment.length !== COMMITMENT_LENGTH) throw new FormatError("commitment must be 32 bytes");
  const headerLength = HEADER_OVERHEAD + fields.context.length;
  if (headerLength > limits.maxHeaderBytes) throw new LimitError(`header would be ${headerLength} bytes`);
  const out = new Uint8Array(headerLength - TAG_LENGTH);
  out.set(MAGIC, HEADER_FIXED.magic);
  out[HEADER_FIXED.version] = FORMAT_VERSION;
  writeU16(out, HEADER_FIXED.suite, fields.suiteId ?? SUITE_AES256_GCM_HKDF_SHA512_COMMIT);
  writeU32(out, HEADER_FIXED.headerLength, headerLength);
  out.set(fields.messageId, HEADER_FIXED.messageId);
  writeU32(out, HEADER_FIXED.frameLength, fields.frameLength);
  writeU16(out, HEADER_FIXED.contextLength, fields.context.length);
  out.set(fields.context, HEADER_FIXED.context);
  out.set(fields.commitment, HEADER_FIXED.context + fields.context.length);
  return out;
}

/** Result of a parse that may need more bytes. */
export type ParseResult<T> =
  { readonly status: "need"; readonly minBytes: number } | { readonly status: "ok"; readonly value: T };

/**
 * Parses the header at the start of `bytes`. Answers `need` (with the total number of bytes
 * required so far) instead of throwing when the input is short, so a streaming reader or a
 * ranged GET can fetch more.
 */
export function parseHeader(bytes: Uint8Array, limits: FormatLimits): ParseResult<MessageHeader> {
  if (!hasMagic(bytes)) throw new FormatError("not a rekey message");
  if (bytes.length < HEADER_FIXED.context) return { status: "need", minBytes: HEADER_FIXED.context };
  const version = bytes[HEADER_FIXED.version] ?? 0;
  if (version !== FORMAT_VERSION) throw new FormatError(`unsupported format version ${version}`);
  const suiteId = readU16(bytes, HEADER_FIXED.suite);
  if (suiteId !== SUITE_AES256_GCM_HKDF_SHA512_COMMIT && suiteId !== SUITE_SIGNED_ECDSA_P384)
    throw new FormatError(`unsupported algorithm suite ${suiteId}`);
  const headerLength = readU32(bytes, HEADER_FIXED.headerLength);
  const contextLength = readU16(bytes, HEADER_FIXED.contextLength);
  if (contextLength > limits.maxContextBytes) throw new LimitError("encryption context exceeds the limit");
  if (headerLength !== HEADER_OVERHEAD + contextLength) throw new FormatError("inconsistent header length");
  if (headerLength > limits.maxHeaderBytes) throw new LimitError("header exceeds the limit");
  const frameLength = readU32(bytes, HEADER_FIXED.frameLength);
  if (frameLength === 0) throw new FormatError("frame length is zero");
  if (frameLength > limits.maxFrameLength) throw new LimitError("frame length exceeds the limit");
  if (bytes.length < headerLength) return { status: "need", minBytes: headerLength };

  const contextEnd = HEADER_FIXED.context + contextLength;
  const tagStart = headerLength - TAG_LENGTH;
  // One copy of the header, every field a view of it: the parsed header shares no memory with
  // the input (it keeps no whole message alive, and a caller writing to its buffer later cannot
  // change what was parsed), and costs one allocation, not one per field.
  const own = copyBytes(bytes, 0, headerLength);
  const authenticatedBytes = own.subarray(0, tagStart);
  const encryptionContext = parseEncryptionContext(own.subarray(HEADER_FIXED.context, contextEnd));
  const signingKey = signingKeyOf(suiteId, encryptionContext);
  return {
    status: "ok",
    value: {
      version,
      suiteId,
      signingKey,
      messageId: own.subarray(HEADER_FIXED.messageId, HEADER_FIXED.messageId + MESSAGE_ID_LENGTH),
      frameLength,
      encryptionContext,
      commitment: own.subarray(contextEnd, contextEnd + COMMITMENT_LENGTH),
      headerTag: own.subarray(tagStart, headerLength),
      headerLength,
      authenticatedBytes,
    },
  };
}
