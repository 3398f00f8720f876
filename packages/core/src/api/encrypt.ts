/** `encrypt`: encrypts a buffer into a rekey message. */
import type { EncryptOptions } from "./options.js";
import { encryptChunks } from "./encrypt-chunks.js";

/** The result of {@link encrypt}. */
export interface EncryptResult {
  /** The complete message. */
  readonly ciphertext: Buffer;
  /** The random message id (hex), for logs. */
  readonly messageId: string;
}

/**
 * Encrypts `plaintext` under a new data key wrapped by `options.keyring`. The message is returned
 * in one buffer, which costs one copy of it; {@link encryptChunks} returns the same message as
 * pieces, without that copy.
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
  const { chunks, byteLength, messageId } = await encryptChunks(plaintext, options);
  return { ciphertext: Buffer.concat(chunks, byteLength), messageId };
}
