/** `decrypt`: decrypts a whole rekey message held in memory. */
import { DecryptError, FormatError, LimitError } from "../errors.js";
import { resolveLimits, TAG_LENGTH } from "../format/constants.js";
import type { MessageHeader } from "../format/header.js";
import { parseMessagePrefix } from "../format/message.js";
import type { WrappedKeyEntry } from "../format/entries.js";
import { openFrame } from "../crypto/frame-cipher.js";
import { zeroize } from "../crypto/derive.js";
import { contentKeyOf, nextFrameHeader, unwrapDataKey, verifiedBody } from "./open.js";
import type { DecryptOptions } from "./options.js";

/** The result of {@link decrypt}. */
export interface DecryptResult {
  readonly plaintext: Buffer;
  /** The authenticated header (encryption context, frame length, message id). */
  readonly header: MessageHeader;
  /** The wrapped-key entries (not authenticated by the header tag; bound by the commitment). */
  readonly entries: readonly WrappedKeyEntry[];
}

/**
 * Decrypts a complete message. Fails with {@link DecryptError} on any authentication failure or
 * truncation, without saying which. A signed message's signature is verified before anything
 * else; nothing is returned unless the whole message verified.
 *
 * @example
 * ```ts
 * const { plaintext, header } = await decrypt(ciphertext, {
 *   keyring,
 *   requiredEncryptionContext: { tenant: "acme" },
 * });
 * ```
 */
export async function decrypt(ciphertext: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  const limits = resolveLimits(options.limits);
  const parsed = parseMessagePrefix(ciphertext, limits);
  if (parsed.status === "need") throw new FormatError("message is truncated before its body");
  const prefix = parsed.value;
  const { header } = prefix;
  // Signed: the signature is checked first, so a forged message costs no KMS call.
  if (header.signingKey !== undefined) ciphertext = verifiedBody(ciphertext, prefix);
  const contentKey = contentKeyOf(prefix, await unwrapDataKey(prefix, options));
  try {
    const pieces: Buffer[] = [];
    let at = prefix.bodyOffset;
    for (let seq = 1; ; seq++) {
      if (seq > limits.maxFrames) throw new LimitError("message has more frames than the limit");
      const fh = nextFrameHeader(ciphertext.subarray(at), seq, header.frameLength);
      if (!fh) throw new DecryptError();
      at += fh.byteLength;
      const end = at + fh.contentLength;
      if (end + TAG_LENGTH > ciphertext.length) throw new DecryptError();
      const plain = openFrame(
        contentKey,
        header.messageId,
        seq,
        fh.final,
        ciphertext.subarray(at, end),
        ciphertext.subarray(end, end + TAG_LENGTH),
      );
      if (!plain) throw new DecryptError();
      if (plain.length > 0) pieces.push(plain);
      at = end + TAG_LENGTH;
      if (fh.final) break;
    }
    if (at !== ciphertext.length) throw new DecryptError();
    if (pieces.length === 1) return { plaintext: pieces[0] as Buffer, header, entries: prefix.entries };
    const plaintext = Buffer.concat(pieces);
    for (const p of pieces) p.fill(0);
    return { plaintext, header, entries: prefix.entries };
  } finally {
    zeroize(contentKey);
  }
}
