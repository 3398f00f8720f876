/**
 * The emulator's ciphertext blob: real AES-256-GCM under one key material.
 *
 * The layout is private to the emulator (real KMS blobs differ and nothing outside the emulator
 * may parse them), but it is real encryption, so a tampered blob or a wrong encryption context
 * fails exactly where KMS would fail:
 *
 * ```
 * offset  size  field
 *      0     1  layout version, 0x01
 *      1    16  key id (the UUID's 16 bytes)
 *     17    32  key material id (raw bytes; the hex form is the API's KeyMaterialId)
 *     49    12  AES-GCM nonce (random)
 *     61     n  AES-GCM ciphertext of the plaintext (n >= 1)
 *   61+n    16  AES-GCM tag
 * ```
 *
 * The additional authenticated data is bytes 0..48 (version, key id, material id) followed by
 * the canonical encryption context, so neither the header nor the context can be changed
 * without the tag failing. Canonical context: a big-endian u16 pair count, then for each pair,
 * sorted by the UTF-8 bytes of the key, a u16 length and the UTF-8 bytes of the key, then of the
 * value (the AWS Encryption SDK's serialization). An empty context adds nothing.
 *
 * The context is a `Map`, never a plain object: a JSON member named `__proto__` is an ordinary
 * pair of the context, and an object literal would silently drop it from the authenticated data.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = 0x01;
const KEY_ID_LENGTH = 16;
const MATERIAL_ID_LENGTH = 32;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + MATERIAL_ID_LENGTH;
const MIN_LENGTH = HEADER_LENGTH + NONCE_LENGTH + 1 + TAG_LENGTH;

/** An encryption context: pairs of UTF-8 strings, authenticated with the blob. */
export type EncryptionContext = ReadonlyMap<string, string>;

/** Largest UTF-8 length of a context key or value, and largest pair count: a u16 each. */
export const MAX_CONTEXT_FIELD_BYTES = 0xffff;

/** Which key and material a blob names (read from its unauthenticated-until-decrypt header). */
export interface CiphertextHeader {
  /** The KMS key id (a UUID). */
  keyId: string;
  /** The key material id, 64 lowercase hex characters. */
  keyMaterialId: string;
}

/**
 * Encodes an encryption context canonically, as described in the module comment.
 *
 * @throws RangeError when a key or value is longer than {@link MAX_CONTEXT_FIELD_BYTES} bytes or
 * there are more pairs than that; the KMS handlers refuse such a context before it gets here.
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  const entries = [...context].map(([key, value]) => [Buffer.from(key), Buffer.from(value)] as const);
  if (entries.length === 0) return Buffer.alloc(0);
  if (
    entries.length > MAX_CONTEXT_FIELD_BYTES ||
    entries.some(
      ([key, value]) => key.length > MAX_CONTEXT_FIELD_BYTES || value.length > MAX_CONTEXT_FIELD_BYTES,
    )
  ) {
    throw new RangeError(`encryption context fields are limited to ${MAX_CONTEXT_FIELD_BYTES} bytes`);
  }
  entries.sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [u16(entries.length)];
  for (const [key, value] of entries) parts.push(u16(key.length), key, u16(value.length), value);
  return Buffer.concat(parts);
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function header(keyId: string, keyMaterialId: string): Buffer {
  const uuid = Buffer.from(keyId.replaceAll("-", ""), "hex");
  const material = Buffer.from(keyMaterialId, "hex");
  if (uuid.length !== KEY_ID_LENGTH || material.length !== MATERIAL_ID_LENGTH) {
    throw new Error("ciphertext header needs a UUID key id and a 32-byte key material id");
  }
  return Buffer.concat([Buffer.of(VERSION), uuid, material]);
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Encrypts `plaintext` under one key material.
 *
 * @param material - The 32-byte AES key of the material.
 * @returns The blob described in the module comment.
 */
export function sealCiphertext(
  name: CiphertextHeader,
  material: Buffer,
  plaintext: Buffer,
  context: EncryptionContext,
): Buffer {
  const head = header(name.keyId, name.keyMaterialId);
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv("aes-256-gcm", material, nonce);
  cipher.setAAD(Buffer.concat([head, canonicalContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, nonce, body, cipher.getAuthTag()]);
}

/**
 * Reads the key and material a blob names, without decrypting it.
 *
 * @returns `undefined` when the bytes cannot be a blob of this layout.
 */
export function readCiphertextHeader(blob: Uint8Array): CiphertextHeader | undefined {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < MIN_LENGTH || bytes[0] !== VERSION) return undefined;
  return {
    keyId: formatUuid(bytes.subarray(1, 1 + KEY_ID_LENGTH)),
    keyMaterialId: bytes.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH).toString("hex"),
  };
}

/**
 * Decrypts a blob with the material its header names.
 *
 * @returns The plaintext, or `undefined` when the tag does not verify (tampered blob, wrong
 * material, wrong encryption context).
 */
export function openCiphertext(
  blob: Uint8Array,
  material: Buffer,
  context: EncryptionContext,
): Buffer | undefined {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < MIN_LENGTH) return undefined;
  const head = bytes.subarray(0, HEADER_LENGTH);
  const nonce = bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + NONCE_LENGTH);
  const body = bytes.subarray(HEADER_LENGTH + NONCE_LENGTH, bytes.length - TAG_LENGTH);
  const tag = bytes.subarray(bytes.length - TAG_LENGTH);
  try {
    const decipher = createDecipheriv("aes-256-gcm", material, nonce);
    decipher.setAAD(Buffer.concat([head, canonicalContext(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}
