/**
 * Starting a message: make and wrap a data key, derive the content key and commitment, and write
 * header + wrapped-key section. The plaintext data key is zeroed before this returns.
 */
import { EncryptionContextError, InvalidArgumentError } from "../errors.js";
import { integerOption } from "../integer-option.js";
import {
  DATA_KEY_LENGTH,
  DEFAULT_FRAME_LENGTH,
  DEFAULT_LIMITS,
  MIN_FRAME_LENGTH,
  SIGNING_KEY_CONTEXT_KEY,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
  SUITE_SIGNED_ECDSA_P384,
} from "../format/constants.js";
import { serializeEncryptionContext } from "../format/encryption-context.js";
import { sectionForWriting } from "../format/entries.js";
import { serializeHeaderBody } from "../format/header.js";
import { computeHeaderTag } from "../crypto/header-tag.js";
import { deriveKeys, zeroize } from "../crypto/derive.js";
import { newMessageId } from "../crypto/message-id.js";
import { generateSigningKey, MessageSigner } from "../crypto/signature.js";
import type { EncryptOptions } from "./options.js";

/** A message ready for its frames. */
export interface SealedStart {
  /** Header + wrapped-key section, to be written first, in pieces (header body, tag, section). */
  readonly prefix: readonly Uint8Array[];
  readonly contentKey: Buffer;
  readonly messageId: Uint8Array;
  readonly frameLength: number;
  /**
   * A signed message's signer, already fed the header: the writer feeds it every body byte and
   * appends its signature after the final frame.
   */
  readonly signer: MessageSigner | undefined;
}

/** The `signed` option: absent is false; anything but a boolean is refused. */
export function resolveSigned(signed: unknown): boolean {
  if (signed === undefined || typeof signed === "boolean") return signed === true;
  throw new InvalidArgumentError("signed must be true or false", { option: "signed" });
}

/**
 * The frame length a writer uses: the default when absent, else an integer a reader with the
 * default limits accepts (1 B to 16 MiB); anything else is an {@link InvalidArgumentError}.
 */
export function resolveFrameLength(frameLength: unknown): number {
  return integerOption("frameLength", frameLength, DEFAULT_FRAME_LENGTH, {
    min: MIN_FRAME_LENGTH,
    max: DEFAULT_LIMITS.maxFrameLength,
  });
}

/** Validates options, wraps a new data key and builds the message prefix. */
export async function startMessage(options: EncryptOptions, plaintextLength?: number): Promise<SealedStart> {
  const frameLength = resolveFrameLength(options.frameLength);
  const signed = resolveSigned(options.signed);
  const callerContext = options.encryptionContext ?? {};
  if (Object.hasOwn(callerContext, SIGNING_KEY_CONTEXT_KEY))
    throw new EncryptionContextError(
      `the context key "${SIGNING_KEY_CONTEXT_KEY}" is reserved for signed messages`,
    );
  // A signed message's public key joins the context: authenticated by the header tag, and the
  // context of every entry the keyring makes.
  const signing = signed ? generateSigningKey() : undefined;
  let encryptionContext = callerContext;
  if (signing) {
    // A copy made by spreading: every key stays an own property, "__proto__" too (Object.assign
    // would set the copy's prototype instead).
    const withKey: Record<string, string> = { ...callerContext };
    withKey[SIGNING_KEY_CONTEXT_KEY] = signing.publicKey;
    encryptionContext = withKey;
  }
  // Serialize first: an invalid context fails before any KMS call.
  const context = serializeEncryptionContext(encryptionContext, DEFAULT_LIMITS.maxContextBytes);
  const wrapped = await options.keyring.wrap({
    encryptionContext,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(plaintextLength !== undefined ? { plaintextLength } : {}),
  });
  if (wrapped.dataKey.length !== DATA_KEY_LENGTH) {
    zeroize(wrapped.dataKey);
    throw new InvalidArgumentError(`the keyring returned a ${wrapped.dataKey.length}-byte data key, not 32`);
  }
  const messageId = newMessageId();
  const { contentKey, commitment } = deriveKeys(wrapped.dataKey, messageId);
  zeroize(wrapped.dataKey);
  try {
    const entries = sectionForWriting(wrapped.entries, DEFAULT_LIMITS);
    const suiteId = signing ? SUITE_SIGNED_ECDSA_P384 : SUITE_AES256_GCM_HKDF_SHA512_COMMIT;
    const body = serializeHeaderBody(
      { suiteId, messageId, frameLength, context, commitment },
      DEFAULT_LIMITS,
    );
    const tag = computeHeaderTag(contentKey, body);
    const prefix = [body, tag, entries];
    let signer: MessageSigner | undefined;
    if (signing) {
      signer = new MessageSigner(signing.privateKey);
      signer.update(body);
      signer.update(tag);
    }
    return { prefix, contentKey, messageId, frameLength, signer };
  } catch (e) {
    zeroize(contentKey);
    throw e;
  }
}
