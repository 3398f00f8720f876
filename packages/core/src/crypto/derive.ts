/**
 * Key derivation for suite 1: HKDF-SHA512 from the 32-byte data key with the 32-byte message id
 * as salt. Two labelled outputs: the content key (AES-256-GCM key of the header tag and every
 * frame) and the key commitment stored in the header. Because the commitment is a function of the
 * data key, a message decrypts under exactly one data key: a wrapped-key entry swapped for one
 * that unwraps to a different key is caught before any ciphertext is touched.
 */
import { hkdfSync, timingSafeEqual } from "node:crypto";
import {
  COMMITMENT_LENGTH,
  DATA_KEY_LENGTH,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
} from "../format/constants.js";

const KEY_LABEL = Buffer.from("RKEY v1 content key", "ascii");
const COMMIT_LABEL = Buffer.from("RKEY v1 key commitment", "ascii");

function info(label: Buffer): Buffer {
  const suite = Buffer.alloc(2);
  suite.writeUInt16BE(SUITE_AES256_GCM_HKDF_SHA512_COMMIT);
  return Buffer.concat([label, suite]);
}
const KEY_INFO = info(KEY_LABEL);
const COMMIT_INFO = info(COMMIT_LABEL);

/** Keys derived for one message. */
export interface DerivedKeys {
  /** The AES-256-GCM key for the header tag and the frames. */
  contentKey: Buffer;
  /** The commitment value written in the header. */
  commitment: Buffer;
}

/** Derives the content key and the commitment of a message. */
export function deriveKeys(dataKey: Uint8Array, messageId: Uint8Array): DerivedKeys {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new RangeError("data key must be 32 bytes");
  const contentKey = Buffer.from(hkdfSync("sha512", dataKey, messageId, KEY_INFO, 32));
  const commitment = Buffer.from(hkdfSync("sha512", dataKey, messageId, COMMIT_INFO, COMMITMENT_LENGTH));
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
