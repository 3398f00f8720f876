/** `encrypt`: encrypts a buffer into a rekey message. */
import { LimitError } from "../errors.js";
import { MAX_SEQUENCE_NUMBER } from "../format/constants.js";
import { finalFrameHeader, regularFrameHeader } from "../format/frame.js";
import { sealFrame } from "../crypto/frame-cipher.js";
import { zeroize } from "../crypto/derive.js";
import type { EncryptOptions } from "./options.js";
import { startMessage } from "./seal.js";

/** The result of {@link encrypt}. */
export interface EncryptResult {
  /** The complete message. */
  readonly ciphertext: Buffer;
  /** The random message id (hex), for logs. */
  readonly messageId: string;
}

/**
 * Encrypts `plaintext` under a new data key wrapped by `options.keyring`.
 *
 * @example
 * ```ts
 * const { ciphertext } = await encrypt(Buffer.from("secret"), {
 *   keyring: new KmsKeyring({ client, keyId: "alias/app" }),
 *   encryptionContext: { tenant: "acme" },
 * });
 * ```
 */
export async function encrypt(plaintext: Uint8Array, options: EncryptOptions): Promise<EncryptResult> {
  const start = await startMessage(options, plaintext.length);
  const { contentKey, messageId, frameLength } = start;
  try {
    const regular = Math.floor(plaintext.length / frameLength);
    if (regular + 1 > MAX_SEQUENCE_NUMBER)
      throw new LimitError("plaintext needs more frames than the format allows");
    const out: Uint8Array[] = [...start.prefix];
    let at = 0;
    let seq = 1;
    for (; seq <= regular; seq++, at += frameLength) {
      out.push(regularFrameHeader(seq));
      out.push(
        ...sealFrame(
          contentKey,
          messageId,
          seq,
          false,
          [plaintext.subarray(at, at + frameLength)],
          frameLength,
        ),
      );
    }
    const rest = plaintext.length - at;
    out.push(finalFrameHeader(seq, rest));
    out.push(...sealFrame(contentKey, messageId, seq, true, [plaintext.subarray(at)], rest));
    return { ciphertext: Buffer.concat(out), messageId: Buffer.from(messageId).toString("hex") };
  } finally {
    zeroize(contentKey);
  }
}
