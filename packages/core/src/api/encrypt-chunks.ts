/** `encryptChunks`: encrypts a buffer into a rekey message returned as pieces, without joining them. */
import { LimitError } from "../errors.js";
import { MAX_SEQUENCE_NUMBER } from "../format/constants.js";
import { finalFrameHeader, regularFrameHeader } from "../format/frame.js";
import { sealFrame } from "../crypto/frame-cipher.js";
import { zeroize } from "../crypto/derive.js";
import type { EncryptOptions } from "./options.js";
import { startMessage } from "./seal.js";

/** The result of {@link encryptChunks}. */
export interface EncryptChunksResult {
  /** The message in order: writing these one after another writes the message. */
  readonly chunks: readonly Uint8Array[];
  /** The message's length: the sum of the chunks' lengths. */
  readonly byteLength: number;
  /** The random message id (hex), for logs. */
  readonly messageId: string;
}

/**
 * Encrypts `plaintext` like {@link encrypt}, but returns the message as the pieces it is made of
 * (header, wrapped keys, then per frame its header, ciphertext and tag) instead of copying them
 * into one buffer: for large messages that go to a socket, a file or a multipart upload, the copy
 * `encrypt` makes is most of its cost above the cipher. The ciphertext chunks are fresh buffers
 * owned by the caller; no chunk is a view of `plaintext`.
 *
 * @example
 * ```ts
 * const { chunks } = await encryptChunks(bigBuffer, { keyring });
 * for (const chunk of chunks) socket.write(chunk);
 * ```
 */
export async function encryptChunks(
  plaintext: Uint8Array,
  options: EncryptOptions,
): Promise<EncryptChunksResult> {
  const start = await startMessage(options, plaintext.length);
  const { contentKey, messageId, frameLength } = start;
  try {
    // The writer knows where the plaintext ends, so a plaintext of whole frames ends on a full
    // final frame rather than on an empty one after them: one cipher fewer (the format allows a
    // final frame of 0 to frameLength bytes; an empty plaintext is one empty final frame).
    const regular = plaintext.length === 0 ? 0 : Math.ceil(plaintext.length / frameLength) - 1;
    if (regular + 1 > MAX_SEQUENCE_NUMBER)
      throw new LimitError("plaintext needs more frames than the format allows");
    const chunks: Uint8Array[] = [...start.prefix];
    let at = 0;
    let seq = 1;
    for (; seq <= regular; seq++, at += frameLength) {
      chunks.push(regularFrameHeader(seq));
      const sealed = sealFrame(
        contentKey,
        messageId,
        seq,
        false,
        [plaintext.subarray(at, at + frameLength)],
        frameLength,
      );
      for (const c of sealed) chunks.push(c);
    }
    const rest = plaintext.length - at;
    chunks.push(finalFrameHeader(seq, rest));
    for (const c of sealFrame(contentKey, messageId, seq, true, [plaintext.subarray(at)], rest))
      chunks.push(c);
    // Signed: the signature covers the header (fed already) and the body, not the entries.
    if (start.signer) {
      for (let i = start.prefix.length; i < chunks.length; i++) start.signer.update(chunks[i] as Uint8Array);
      chunks.push(start.signer.finish());
    }
    let byteLength = 0;
    for (const c of chunks) byteLength += c.length;
    return { chunks, byteLength, messageId: Buffer.from(messageId).toString("hex") };
  } finally {
    zeroize(contentKey);
  }
}
