/**
 * Typed errors of the re-encrypt job, with a closed set of stable codes. The job's own failures
 * (a bad option, an unknown bucket, a checkpoint written for another target) are
 * {@link JobError}s; failures of `@rekey/core` keep their `RekeyError` class and code, and both
 * show up in a report as `{ code, reason }`.
 */
import {
  awsErrorNameOf,
  causeChain,
  errorNameOf,
  httpStatusOf,
  RekeyError,
  type RekeyErrorCode,
} from "@rekey/core";

/** The stable error codes of the re-encrypt job (`JobError`). */
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
  /** A database query failed. */
  | "ERR_JOB_DATABASE"
  /** The job was cancelled. */
  | "ERR_JOB_ABORTED"
  /** The store's capability probe could not run (no write permission under its prefix, …). */
  | "ERR_JOB_STORE_PROBE"
  /** The store ignores conditional writes, and not every writer was said to be stopped. */
  | "ERR_JOB_STORE_UNSAFE"
  /** The same permanent KMS error on the same key hit many objects in a row: the job stopped. */
  | "ERR_JOB_KEY_UNUSABLE"
  /** The object does not decrypt: it was damaged before the job, which left it alone. */
  | "ERR_JOB_UNREADABLE"
  /** A report to merge cannot be read, or belongs to another job (other target or mode). */
  | "ERR_JOB_REPORT";

/** The stable codes of `KeyToolError` (the key tooling). */
export type KeyToolErrorCode =
  /** An option or argument is malformed or out of range. */
  | "ERR_INVALID_ARGUMENT"
  /** The key or alias does not exist (KMS `NotFoundException`). */
  | "ERR_KEY_NOT_FOUND"
  /** A file given as a Terraform plan is not one. */
  | "ERR_NOT_A_PLAN"
  /** A key policy is not a readable policy document. */
  | "ERR_INVALID_POLICY"
  /** An on-demand rotation did not complete within the timeout. */
  | "ERR_ROTATION_TIMEOUT"
  /** The alias cutover preflight failed; nothing was changed. */
  | "ERR_PREFLIGHT_FAILED"
  /**
   * An alias does not resolve to the key a cutover moved it to: still the old key after the
   * bounded read-back (KMS aliases are eventually consistent), or moved again meanwhile.
   */
  | "ERR_ALIAS_MISMATCH"
  /** The command was interrupted (SIGINT) while waiting; what was already requested goes on. */
  | "ERR_INTERRUPTED"
  /** A KMS call failed (access denied, throttled, disabled key, network). */
  | "ERR_KMS";

/** The stable codes of `FileError` (the file commands). */
export type FileErrorCode =
  /** A malformed option: `--context` without `=`, no key given. */
  | "ERR_USAGE"
  /** The input cannot be read (missing, a directory, no permission, an unknown S3 object). */
  | "ERR_INPUT"
  /** The output cannot be written, or exists and `--force` was not given. */
  | "ERR_OUTPUT"
  /** The raw AES key file is not 32 bytes or 64 hex characters. */
  | "ERR_RAW_KEY";

/** The stable codes of the command line's own errors. */
export type CliErrorCode =
  /** A malformed command line. */
  | "ERR_USAGE"
  /** A command failed for a reason with no code of its own. */
  | "ERR_COMMAND"
  /** No AWS Region is configured. */
  | "ERR_AWS_REGION"
  /** AWS credentials are missing or were refused. */
  | "ERR_AWS_CREDENTIALS"
  /** A change to keys or aliases was not confirmed (declined, or no terminal and no `--yes`). */
  | "ERR_NOT_CONFIRMED"
  /** Ctrl-C (SIGINT) stopped the command; a file command deleted its temporary output. */
  | "ERR_INTERRUPTED";

/**
 * Every stable error code of rekey, one closed union: the SDK's (`@rekey/core`), the job's, the
 * key tooling's, the file commands' and the command line's. Every error is a `RekeyError` with
 * one of them.
 */
export type ErrorCode = RekeyErrorCode | JobErrorCode | KeyToolErrorCode | FileErrorCode | CliErrorCode;

/**
 * The exit codes of `rekey`, one table for every command:
 * - `ok` 0: done (every object on the target; no finding);
 * - `fatal` 1: the command could not run, or failed (bad arguments, unknown bucket or key, an
 *   error of any other code);
 * - `incomplete` 2: the job finished but some objects are not on the target and need a person;
 *   `findings` 2: an audit or check found something to fix;
 * - `failed` 3: the job finished and some objects failed; a re-run retries them;
 * - `unsafeStore` 4: the store does not honour conditional writes (or could not be probed);
 * - `keyUnusable` 5: the job stopped early on a key that fails every object;
 * - `interrupted` 130: SIGINT;
 * - `brokenPipe` 141: the reader of stdout went away (`rekey … | head`): the command stopped at
 *   once, as on a second Ctrl-C (128 + SIGPIPE, what a shell reports for a writer a pipe cut
 *   short).
 */
export const EXIT_CODES = {
  ok: 0,
  fatal: 1,
  incomplete: 2,
  findings: 2,
  failed: 3,
  unsafeStore: 4,
  keyUnusable: 5,
  interrupted: 130,
  brokenPipe: 141,
} as const;

/**
 * The exit code of a command that ended on an error of this code.
 *
 * @example
 * ```ts
 * exitCodeOf("ERR_JOB_STORE_UNSAFE"); // 4
 * ```
 */
export function exitCodeOf(code: string | undefined): number {
  switch (code) {
    case "ERR_JOB_STORE_UNSAFE":
    case "ERR_JOB_STORE_PROBE":
      return EXIT_CODES.unsafeStore;
    case "ERR_JOB_KEY_UNUSABLE":
      return EXIT_CODES.keyUnusable;
    case "ERR_INTERRUPTED":
    case "ERR_JOB_ABORTED":
      return EXIT_CODES.interrupted;
    default:
      return EXIT_CODES.fatal;
  }
}

/**
 * An error of the re-encrypt job. The `code` is the contract; the message is one line for people.
 *
 * @example
 * ```ts
 * try { await runJob(options); }
 * catch (e) { if (e instanceof JobError && e.code === "ERR_JOB_SOURCE") console.error(e.message); }
 * ```
 */
export class JobError extends RekeyError<JobErrorCode> {
  constructor(code: JobErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
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

export { awsErrorNameOf, causeChain, errorNameOf, httpStatusOf };
