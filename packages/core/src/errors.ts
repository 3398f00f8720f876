/**
 * Typed errors with a closed set of stable codes. Every error a public path throws is a
 * {@link RekeyError}; the `code` is the contract, the message is for people.
 *
 * Decryption failures deliberately say little: a bad header tag, a failed key commitment, a
 * failed frame tag and a truncated body all surface as {@link DecryptError} with the same
 * message, so a caller (or an attacker probing with crafted messages) cannot tell which check
 * failed.
 */

/** The stable error codes of rekey. */
export type RekeyErrorCode =
  | "ERR_DECRYPT_FAILED"
  | "ERR_FORMAT"
  | "ERR_LIMIT"
  | "ERR_NO_MATCHING_KEY"
  | "ERR_KMS"
  | "ERR_ENCRYPTION_CONTEXT"
  | "ERR_INVALID_ARGUMENT";

/**
 * Base class of every rekey error, in every package: the SDK's errors have a
 * {@link RekeyErrorCode}; the job's and the command line's extend it with codes of their own
 * (`C`), each a closed set.
 *
 * @example
 * ```ts
 * try { await decrypt(bytes, { keyring }); }
 * catch (e) { if (e instanceof RekeyError && e.code === "ERR_DECRYPT_FAILED") { ... } }
 * ```
 */
export class RekeyError<C extends string = RekeyErrorCode> extends Error {
  /** A stable, machine-readable code. */
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The message did not authenticate: header tag, key commitment, a frame tag, or truncation.
 * Which one is intentionally not said.
 *
 * @example
 * ```ts
 * await expect(decrypt(tampered, { keyring })).rejects.toBeInstanceOf(DecryptError);
 * ```
 */
export class DecryptError extends RekeyError {
  constructor() {
    super("ERR_DECRYPT_FAILED", "unable to decrypt: the message is not authentic or is incomplete");
  }
}

/**
 * The bytes are not a well-formed rekey message (bad magic, unknown version or suite,
 * inconsistent lengths).
 *
 * @example
 * ```ts
 * inspect(Buffer.from("not rekey")); // throws FormatError
 * ```
 */
export class FormatError extends RekeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_FORMAT", message, options);
  }
}

/**
 * A limit that protects against hostile input was exceeded (entry count, header size,
 * encryption-context size, frame length, frame count).
 *
 * @example
 * ```ts
 * await decrypt(bytes, { keyring, limits: { maxFrames: 10 } }); // LimitError past 10 frames
 * ```
 */
export class LimitError extends RekeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_LIMIT", message, options);
  }
}

/**
 * No wrapped data key in the message could be unwrapped by the keyring (none is for it, or
 * KMS refused every one it tried: then `cause` is an `AggregateError` of KMS's answers).
 *
 * @example
 * ```ts
 * await decrypt(bytes, { keyring: otherKeyring }); // NoMatchingKeyError
 * ```
 */
export class NoMatchingKeyError extends RekeyError {
  constructor(options?: { cause?: unknown }) {
    super(
      "ERR_NO_MATCHING_KEY",
      "no wrapped data key in the message can be unwrapped by this keyring",
      options,
    );
  }
}

/**
 * A KMS call failed for a reason other than "not this key" (throttling, a disabled key,
 * access denied, network). `cause` is the SDK error; `kmsErrorName` its name.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof KmsError && e.kmsErrorName === "ThrottlingException") retry(); }
 * ```
 */
export class KmsError extends RekeyError {
  /** The KMS error name (e.g. `ThrottlingException`, `DisabledException`), when known. */
  readonly kmsErrorName: string | undefined;

  constructor(operation: string, cause: unknown) {
    const name = errorNameOf(cause);
    super("ERR_KMS", `KMS ${operation} failed${name ? `: ${name}` : ""}`, { cause });
    this.kmsErrorName = name;
  }
}

/**
 * The encryption context is invalid (empty or duplicate key, a string that is not well-formed
 * UTF-16, a non-string value) or does not contain what the caller required. A context over the
 * size limit is a {@link LimitError}.
 *
 * @example
 * ```ts
 * await decrypt(bytes, { keyring, requiredEncryptionContext: { tenant: "b" } }); // throws
 * ```
 */
export class EncryptionContextError extends RekeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_ENCRYPTION_CONTEXT", message, options);
  }
}

/**
 * A caller passed an invalid option (a frame length or a limit out of range, `NaN`, a malformed
 * key). Numeric options are checked when they are given (a keyring's constructor, `encryptStream`,
 * `decryptStream`, the start of `encrypt` / `decrypt` / `inspect`), before any KMS call.
 *
 * @example
 * ```ts
 * await encrypt(data, { keyring, frameLength: 0 }); // InvalidArgumentError, option "frameLength"
 * ```
 */
export class InvalidArgumentError extends RekeyError {
  /** The option at fault (e.g. `limits.maxEntries`, `maxBytes`), when one option is. */
  readonly option: string | undefined;

  constructor(message: string, options?: { cause?: unknown; option?: string }) {
    super(
      "ERR_INVALID_ARGUMENT",
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.option = options?.option;
  }
}

/**
 * The `name` of an error-like value, if it has one.
 *
 * @example
 * ```ts
 * errorNameOf(sdkError); // "ThrottlingException"
 * ```
 */
export function errorNameOf(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "name" in e && typeof e.name === "string") return e.name;
  return undefined;
}

/**
 * The HTTP status an AWS SDK error carries, if any.
 *
 * @example
 * ```ts
 * httpStatusOf(sdkError); // 412
 * ```
 */
export function httpStatusOf(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const meta = (e as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  const status = meta?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * An error and its `cause`s, outermost first, at most six deep (a cycle or a deep chain ends
 * there).
 *
 * @example
 * ```ts
 * for (const at of causeChain(e)) if (isRetryable(at)) return true;
 * ```
 */
export function* causeChain(e: unknown): Generator<object> {
  let at: unknown = e;
  for (let depth = 0; depth < 6 && typeof at === "object" && at !== null; depth++) {
    yield at;
    at = (at as { cause?: unknown }).cause;
  }
}

/**
 * The name of the AWS error behind a failure (`DisabledException`, `AccessDenied`, `SlowDown`,
 * `NoSuchKey`, …), looked for along the `cause` chain: an error that names it as `kmsErrorName`
 * (core's `KmsError`, the key tooling's errors), or an SDK error (it carries `$metadata`).
 * `undefined` when no AWS error is behind it. The one helper every package uses.
 *
 * @example
 * ```ts
 * awsErrorNameOf(new KmsError("ReEncrypt", sdkError)); // "DisabledException"
 * ```
 */
export function awsErrorNameOf(e: unknown): string | undefined {
  for (const at of causeChain(e)) {
    const kmsName = (at as { kmsErrorName?: unknown }).kmsErrorName;
    if (typeof kmsName === "string") return kmsName;
    if (typeof (at as { $metadata?: unknown }).$metadata === "object") return errorNameOf(at);
  }
  return undefined;
}
