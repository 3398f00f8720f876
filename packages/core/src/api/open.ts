/**
 * Opening a message: check the required encryption context, unwrap the data key, verify the key
 * commitment (constant time) and the header tag — all before any frame is decrypted.
 */
import { DecryptError, EncryptionContextError, FormatError, NoMatchingKeyError } from "../errors.js";
import { readFrameHeader, type FrameHeader } from "../format/frame.js";
import { deriveKeys, commitmentMatches, zeroize } from "../crypto/derive.js";
import { verifyHeaderTag } from "../crypto/header-tag.js";
import type { MessagePrefix } from "../format/message.js";
import type { DecryptOptions } from "./options.js";

/** Returns the content key of a message whose prefix has been parsed. */
export async function openMessage(prefix: MessagePrefix, options: DecryptOptions): Promise<Buffer> {
  const ctx = prefix.header.encryptionContext;
  for (const [k, v] of Object.entries(options.requiredEncryptionContext ?? {})) {
    if (ctx[k] !== v)
      throw new EncryptionContextError("the message's encryption context does not match the required one");
  }
  const dataKey = await options.keyring.unwrap(prefix.entries, {
    encryptionContext: ctx,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!dataKey) throw new NoMatchingKeyError();
  const { contentKey, commitment } = deriveKeys(dataKey, prefix.header.messageId);
  zeroize(dataKey);
  const ok =
    commitmentMatches(commitment, prefix.header.commitment) &&
    verifyHeaderTag(contentKey, prefix.header.authenticatedBytes, prefix.header.headerTag);
  if (!ok) {
    zeroize(contentKey);
    throw new DecryptError();
  }
  return contentKey;
}

/**
 * Reads a frame header once the message is authenticated. A malformed frame header there (a
 * wrong sequence number, an oversized final frame) is tampering like any other and reported as
 * the same {@link DecryptError}; `undefined` means more bytes are needed.
 */
export function nextFrameHeader(
  bytes: Uint8Array,
  sequence: number,
  frameLength: number,
): FrameHeader | undefined {
  try {
    return readFrameHeader(bytes, sequence, frameLength);
  } catch (e) {
    if (e instanceof FormatError) throw new DecryptError();
    throw e;
  }
}
