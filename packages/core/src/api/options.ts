/** Options shared by the encrypt and decrypt entry points. */
import type { EncryptionContext } from "../format/encryption-context.js";
import type { FormatLimits } from "../format/constants.js";
import type { Keyring } from "../keyring/types.js";

/** Options of `encrypt` and `encryptStream`. */
export interface EncryptOptions {
  /** Wraps the data key (KMS, raw AES, multi). */
  readonly keyring: Keyring;
  /** Non-secret context, authenticated in the header and passed to KMS. @default {} */
  readonly encryptionContext?: EncryptionContext;
  /** Plaintext bytes per frame. @default 1048576 (1 MiB) */
  readonly frameLength?: number;
  /**
   * Sign the message (suite 2): an ECDSA P-384 signature over the header and the body, with a
   * key pair made for this message whose public key goes into the encryption context (under
   * `rekey-signing-key`) and so into every KMS entry's context. A reader who can decrypt cannot
   * then forge a message under this header; a rewrap keeps the signature valid.
   * @default false
   */
  readonly signed?: boolean;
  /** Cancels the KMS call. */
  readonly signal?: AbortSignal;
}

/** Options of `decrypt` and `decryptStream`. */
export interface DecryptOptions {
  /** Unwraps the data key. */
  readonly keyring: Keyring;
  /** Pairs that must be present, with these values, in the message's context. @default {} */
  readonly requiredEncryptionContext?: EncryptionContext;
  /** Limits against hostile input. @default DEFAULT_LIMITS */
  readonly limits?: Partial<FormatLimits>;
  /** Cancels the KMS call. */
  readonly signal?: AbortSignal;
}
