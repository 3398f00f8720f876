/**
 * Opening a message: check the required encryption context, unwrap the data key, verify the key
 * commitment (constant time) and the header tag — all before any frame is decrypted.
 */
import { DecryptError, FormatError, InvalidArgumentError, NoMatchingKeyError } from "../errors.js";
import { DATA_KEY_LENGTH, SIGNATURE_LENGTH } from "../format/constants.js";
import { requireEncryptionContext } from "../format/encryption-context.js";
import { readFrameHeader, type FrameHeader } from "../format/frame.js";
import { deriveKeys, commitmentMatches, zeroize } from "../crypto/derive.js";
import { verifyHeaderTag } from "../crypto/header-tag.js";
import { MessageVerifier } from "../crypto/signature.js";
import type { MessagePrefix } from "../format/message.js";
import type { DecryptOptions } from "./options.js";

/** Returns the content key of a message whose prefix has been parsed. */
export async function openMessage(prefix: MessagePrefix, options: DecryptOptions): Promise<Buffer> {
  return contentKeyOf(prefix, await unwrapDataKey(prefix, options));
}

/**
 * The first half of {@link openMessage}: checks the required encryption context, then asks the
 * keyring for the data key. A caller that awaits it itself spares a promise per message.
 */
export function unwrapDataKey(
  prefix: MessagePrefix,
  options: DecryptOptions,
): Promise<Uint8Array | undefined> {
  const ctx = prefix.header.encryptionContext;
  requireEncryptionContext(ctx, options.requiredEncryptionContext);
  const signal = options.signal;
  return options.keyring.unwrap(
    prefix.entries,
    signal ? { encryptionContext: ctx, signal } : { encryptionContext: ctx },
  );
}

/**
 * The second half of {@link openMessage}: derives the content key from the data key the keyring
 * returned (zeroed here), and verifies the key commitment (constant time) and the header tag.
 */
export function contentKeyOf(prefix: MessagePrefix, dataKey: Uint8Array | undefined): Buffer {
  if (!dataKey) throw new NoMatchingKeyError();
  if (dataKey.length !== DATA_KEY_LENGTH) {
    zeroize(dataKey);
    throw new InvalidArgumentError(`the keyring returned a ${dataKey.length}-byte data key, not 32`);
  }
  const { contentKey, commitment } = deriveKeys(dataKey, prefix.header.messageId);
  zeroize(dataKey);
  // Both checks always run, so a failed commitment and a failed tag take the same time.
  const committed = commitmentMatches(commitment, prefix.header.commitment);
  const tagged = verifyHeaderTag(contentKey, prefix.header.authenticatedBytes, prefix.header.headerTag);
  if (!committed || !tagged) {
    zeroize(contentKey);
    throw new DecryptError();
  }
  return contentKey;
}

/**
 * The body of a signed message held whole, once its signature (the last 96 bytes) verified over
 * the header and the body: the bytes without the signature. Any failure is the same
 * {@link DecryptError} as a failed tag.
 */
export function verifiedBody(bytes: Uint8Array, prefix: MessagePrefix): Uint8Array {
  const end = bytes.length - SIGNATURE_LENGTH;
  if (end < prefix.bodyOffset) throw new DecryptError();
  const verifier = new MessageVerifier(prefix.header.signingKey as string);
  verifier.update(bytes.subarray(0, prefix.header.headerLength));
  verifier.update(bytes.subarray(prefix.bodyOffset, end));
  if (!verifier.finish(bytes.subarray(end))) throw new DecryptError();
  return bytes.subarray(0, end);
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
