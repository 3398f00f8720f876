/**
 * A keyring has two verbs: wrap a data key for its recipients, and unwrap one from a message's
 * entries. "None of these entries is mine" is an expected outcome (`undefined`), not an error.
 */
import type { EncryptionContext } from "../format/encryption-context.js";
import type { WrappedKeyEntry } from "../format/entries.js";

/** What {@link Keyring.wrap} is asked to do. */
export interface WrapRequest {
  /** The message's encryption context; KMS keyrings pass it to KMS, others bind it as AAD. */
  readonly encryptionContext: EncryptionContext;
  /** A data key to wrap. When absent, the keyring makes one (KMS GenerateDataKey, or random). */
  readonly dataKey?: Uint8Array;
  /** Cancels KMS calls. */
  readonly signal?: AbortSignal;
  /** Plaintext size when known (buffer API); lets a data-key cache enforce a byte budget. */
  readonly plaintextLength?: number;
}

/** The data key and its wrapped copies. */
export interface WrapResult {
  /** The plaintext data key (32 bytes). The caller zeroes it after use. */
  readonly dataKey: Uint8Array;
  /** One entry per recipient key. */
  readonly entries: readonly WrappedKeyEntry[];
}

/** What {@link Keyring.unwrap} gets besides the entries. */
export interface UnwrapRequest {
  readonly encryptionContext: EncryptionContext;
  readonly signal?: AbortSignal;
  /**
   * Indexes of the entries already sent to KMS for this message. A `MultiKeyring` passes one set
   * to each of its keyrings so that no entry costs more than one KMS call per message; a KMS
   * keyring skips the entries in it and adds those it sends. @default a new set per call
   */
  readonly triedEntries?: Set<number>;
}

/**
 * Wraps and unwraps data keys.
 *
 * @example
 * ```ts
 * const keyring: Keyring = new RawAesKeyring({ name: "demo", key: randomBytes(32) });
 * ```
 */
export interface Keyring {
  /** Wraps `dataKey` (or a new one) for every recipient of this keyring. */
  wrap(request: WrapRequest): Promise<WrapResult>;
  /**
   * Unwraps the data key from the first entry this keyring can open; `undefined` when no entry is
   * for it, or a `NoMatchingKeyError` whose cause lists the refusals when it tried some.
   */
  unwrap(entries: readonly WrappedKeyEntry[], request: UnwrapRequest): Promise<Uint8Array | undefined>;
}
