/**
 * The header authentication tag: AES-256-GCM under the content key with the all-zero nonce
 * (frames use nonces 1..2^32-2, so it is never reused), no plaintext, and the header bytes as AAD.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { IV_LENGTH, TAG_LENGTH } from "../format/constants.js";

const ZERO_IV = Buffer.alloc(IV_LENGTH);

/** Computes the header tag over the header bytes that precede it. */
export function computeHeaderTag(contentKey: Uint8Array, authenticatedBytes: Uint8Array): Buffer {
  const c = createCipheriv("aes-256-gcm", contentKey, ZERO_IV, { authTagLength: TAG_LENGTH });
  c.setAAD(authenticatedBytes);
  c.final();
  return c.getAuthTag();
}

/** Verifies the header tag; false on any mismatch. */
export function verifyHeaderTag(
  contentKey: Uint8Array,
  authenticatedBytes: Uint8Array,
  tag: Uint8Array,
): boolean {
  const d = createDecipheriv("aes-256-gcm", contentKey, ZERO_IV, { authTagLength: TAG_LENGTH });
  d.setAAD(authenticatedBytes);
  d.setAuthTag(tag);
  try {
    d.final();
    return true;
  } catch {
    return false;
  }
}
