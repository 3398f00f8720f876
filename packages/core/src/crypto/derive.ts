/**
 * Key derivation for suite 1: HKDF-SHA512 from the 32-byte data key with the 32-byte message id
 * as salt. Two labelled outputs: the content key (AES-256-GCM key of the header tag and every
 * frame) and the key commitment stored in the header. Because the commitment is a function of the
 * data key, a message decrypts under exactly one data key: a wrapped-key entry swapped for one
 * that unwraps to a different key is caught before any ciphertext is touched.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  COMMITMENT_LENGTH,
  DATA_KEY_LENGTH,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
} from "../format/constants.js";

const KEY_LABEL = Buffer.from("RKEY v1 content key", "ascii");
const COMMIT_LABEL = Buffer.from("RKEY v1 key commitment", "ascii");

/** HKDF `info || 0x01`: the input of the first (and, for ≤ 64 bytes, only) expand block. */
function firstBlockInput(label: Buffer): Buffer {
  const suite = Buffer.alloc(2);
  suite.writeUInt16BE(SUITE_AES256_GCM_HKDF_SHA512_COMMIT);
  return Buffer.concat([label, suite, Buffer.of(1)]);
}
const KEY_BLOCK = firstBlockInput(KEY_LABEL);
const COMMIT_BLOCK = firstBlockInput(COMMIT_LABEL);

/** Keys derived for one message. */
export interface DerivedKeys {
  /** The AES-256-GCM key for the header tag and the frames. */
  contentKey: Buffer;
  /** The commitment value written in the header. */
  commitment: Buffer;
}

/**
 * Derives the content key and the commitment of a message: two HKDF-SHA512 outputs (RFC 5869)
 * with the same key and salt and different info. Written as one extract and two one-block
 * expands rather than two `hkdfSync` calls: the same bytes (the tests check it against
 * `hkdfSync`), at a third of the cost, which dominates small messages.
 */
export function deriveKeys(dataKey: Uint8Array, messageId: Uint8Array): DerivedKeys {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new RangeError("data key must be 32 bytes");
  const prk = createHmac("sha512", messageId).update(dataKey).digest();
  const keyBlock = createHmac("sha512", prk).update(KEY_BLOCK).digest();
  const contentKey = Buffer.from(keyBlock.subarray(0, DATA_KEY_LENGTH));
  const commitment = createHmac("sha512", prk).update(COMMIT_BLOCK).digest().subarray(0, COMMITMENT_LENGTH);
  zeroize(prk, keyBlock);
  return { contentKey, commitment };
}

/** Constant-time comparison of the derived and the stored commitment. */
export function commitmentMatches(derived: Uint8Array, stored: Uint8Array): boolean {
  return derived.length === stored.length && timingSafeEqual(derived, stored);
}

/** Overwrites key material in place (best effort: JavaScript may hold copies we cannot reach). */
export function zeroize(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
