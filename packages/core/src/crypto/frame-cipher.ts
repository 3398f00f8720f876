/**
 * Frame encryption and decryption with node:crypto AES-256-GCM. The frame's plaintext may arrive
 * in several pieces (stream chunks): each piece is fed to the cipher as is, without copying.
 * Decryption returns plaintext only after the frame's tag verified.
 */
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from "node:crypto";
import { TAG_LENGTH } from "../format/constants.js";
import { frameAad, frameIv } from "../format/frame.js";

/** Encrypts one frame given as pieces; returns ciphertext pieces followed by the tag. */
export function sealFrame(
  contentKey: Uint8Array,
  messageId: Uint8Array,
  sequence: number,
  final: boolean,
  pieces: readonly Uint8Array[],
  contentLength: number,
): Buffer[] {
  const c: CipherGCM = createCipheriv("aes-256-gcm", contentKey, frameIv(sequence), {
    authTagLength: TAG_LENGTH,
  });
  c.setAAD(frameAad(messageId, sequence, final, contentLength));
  const out: Buffer[] = [];
  for (const p of pieces) out.push(c.update(p));
  const tail = c.final();
  if (tail.length > 0) out.push(tail);
  out.push(c.getAuthTag());
  return out;
}

/**
 * An open frame being decrypted piece by piece. Plaintext is held until {@link FrameOpener.finish}
 * verifies the tag.
 */
export class FrameOpener {
  private readonly d: DecipherGCM;
  private readonly held: Buffer[] = [];

  constructor(
    contentKey: Uint8Array,
    messageId: Uint8Array,
    sequence: number,
    final: boolean,
    contentLength: number,
  ) {
    this.d = frameDecipher(contentKey, messageId, sequence, final, contentLength);
  }

  /** Feeds ciphertext. */
  update(ciphertext: Uint8Array): void {
    if (ciphertext.length > 0) this.held.push(this.d.update(ciphertext));
  }

  /** Verifies the tag; returns the frame's plaintext pieces, or `undefined` if it did not verify. */
  finish(tag: Uint8Array): Buffer[] | undefined {
    this.d.setAuthTag(tag);
    try {
      const tail = this.d.final();
      if (tail.length > 0) this.held.push(tail);
    } catch {
      for (const b of this.held) b.fill(0);
      return undefined;
    }
    return this.held;
  }
}

/**
 * Opens one frame held whole (ciphertext and tag in memory): its plaintext, or `undefined` if the
 * tag did not verify. What {@link FrameOpener} does for a frame in one piece, without holding
 * pieces.
 */
export function openFrame(
  contentKey: Uint8Array,
  messageId: Uint8Array,
  sequence: number,
  final: boolean,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Buffer | undefined {
  const d = frameDecipher(contentKey, messageId, sequence, final, ciphertext.length);
  d.setAuthTag(tag);
  const plain = d.update(ciphertext);
  try {
    d.final();
  } catch {
    plain.fill(0);
    return undefined;
  }
  return plain;
}

function frameDecipher(
  contentKey: Uint8Array,
  messageId: Uint8Array,
  sequence: number,
  final: boolean,
  contentLength: number,
): DecipherGCM {
  const d = createDecipheriv("aes-256-gcm", contentKey, frameIv(sequence), { authTagLength: TAG_LENGTH });
  d.setAAD(frameAad(messageId, sequence, final, contentLength));
  return d;
}
