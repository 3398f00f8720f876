/**
 * Typed errors of the re-encrypt job, with a closed set of stable codes. The job's own failures
 * (a bad option, an unknown bucket, a checkpoint written for another target) are
 * {@link JobError}s; failures of `@rekey/core` keep their `RekeyError` class and code, and both
 * show up in a report as `{ code, reason }`.
 */

/** The stable error codes of the re-encrypt job. */
export type JobErrorCode =
  /** An option or CLI argument is invalid. */
  | "ERR_JOB_INVALID_OPTION"
  /** The target (`current`, `alias:NAME`, `key:ARN`) cannot be resolved or is not usable. */
  | "ERR_JOB_TARGET"
  /** The source cannot be read: unknown bucket, missing manifest or directory. */
  | "ERR_JOB_SOURCE"
  /** One line of a manifest is not `bucket,key[,versionId]`. */
  | "ERR_JOB_MANIFEST_LINE"
  /** The checkpoint file cannot be read, or was written by a job with another target or mode. */
  | "ERR_JOB_CHECKPOINT"
  /** Another writer changed or deleted the object since it was read (HTTP 412, changed file). */
  | "ERR_JOB_CONFLICT"
  /** The object written back does not read back as expected. */
  | "ERR_JOB_VERIFY"
  /** The object cannot be moved by this mode (e.g. no KMS entry and no keyring for its entries). */
  | "ERR_JOB_NOT_REWRAPPABLE"
  /** An S3 request failed after its retries. */
  | "ERR_JOB_S3"
  /** A file system operation failed. */
  | "ERR_JOB_IO"
  /** The job was cancelled. */
  | "ERR_JOB_ABORTED"
  /** The store's capability probe could not run (no write permission under its prefix, …). */
  | "ERR_JOB_STORE_PROBE"
  /** The store ignores conditional writes, and not every writer was said to be stopped. */
  | "ERR_JOB_STORE_UNSAFE"
  /** The same permanent KMS error on the same key hit many objects in a row: the job stopped. */
  | "ERR_JOB_KEY_UNUSABLE"
  /** The object does not decrypt: it was damaged before the job, which left it alone. */
  | "ERR_JOB_UNREADABLE";

/**
 * An error of the re-encrypt job. The `code` is the contract; the message is one line for people.
 *
 * @example
 * ```ts
 * try { await runJob(options); }
 * catch (e) { if (e instanceof JobError && e.code === "ERR_JOB_SOURCE") console.error(e.message); }
 * ```
 */
export class JobError extends Error {
  /** A stable, machine-readable code. */
  readonly code: JobErrorCode;

  constructor(code: JobErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "JobError";
  }
}

/**
 * The `{ code, reason }` of any thrown value, for reports and logs: a `JobError` or a core
 * `RekeyError` keeps its code; anything else is described by its name and message.
 *
 * @example
 * ```ts
 * const { code, reason } = describeError(e); // { code: "ERR_KMS", reason: "KMS ReEncrypt failed: DisabledException" }
 * ```
 */
export function describeError(e: unknown): { code: string; reason: string } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const reason = e.message || e.name;
    if (typeof code === "string" && code.startsWith("ERR_")) return { code, reason };
    const status = httpStatusOf(e);
    return { code: e.name || "Error", reason: status ? `${reason} (HTTP ${status})` : reason };
  }
  return { code: "Error", reason: String(e) };
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
 * The name of the AWS error behind a failure (`DisabledException`, `AccessDenied`, `SlowDown`,
 * `NoSuchKey`, …), looked for along the `cause` chain: a core `KmsError` names it as
 * `kmsErrorName`, an SDK error carries `$metadata`. `undefined` when no AWS error is behind it.
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

/**
 * An error and its `cause`s, outermost first, at most six deep (a cycle or a deep chain ends
 * there).
 *
 * @example
 * ```ts
 * for (const at of causeChain(e)) if (isRetryableError(at)) return true;
 * ```
 */
export function* causeChain(e: unknown): Generator<object> {
  let at: unknown = e;
  for (let depth = 0; depth < 6 && typeof at === "object" && at !== null; depth++) {
    yield at;
    at = (at as { cause?: unknown }).cause;
  }
}
