/**
 * Errors of the file commands (`rekey encrypt | decrypt | inspect`): one class, a closed set of
 * stable codes, one line of message. Errors of `@rekey/core` (a message that does not decrypt,
 * a KMS refusal) keep their own class and code.
 */

/** The stable codes of {@link FileError}. */
export type FileErrorCode =
  /** A malformed option: `--context` without `=`, no key given. */
  | "ERR_USAGE"
  /** The input cannot be read (missing, a directory, no permission, an unknown S3 object). */
  | "ERR_INPUT"
  /** The output cannot be written, or exists and `--force` was not given. */
  | "ERR_OUTPUT"
  /** The raw AES key file is not 32 bytes or 64 hex characters. */
  | "ERR_RAW_KEY";

/**
 * A failure of a file command.
 *
 * @example
 * ```ts
 * try { parseContextArgs(["tenant"]); }
 * catch (e) { if (e instanceof FileError && e.code === "ERR_USAGE") console.error(e.message); }
 * ```
 */
export class FileError extends Error {
  /** A stable, machine-readable code. */
  readonly code: FileErrorCode;

  constructor(code: FileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "FileError";
  }
}

/** A short reason for a failed file system call (`no such file`, `permission denied`, …). */
export function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
      return "permission denied";
    case "EPERM":
      return "operation not permitted";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "a parent is not a directory";
    case "EEXIST":
      return "already exists";
    case "ENOSPC":
      return "no space left on the device";
    default:
      return e instanceof Error ? e.message : String(e);
  }
}
