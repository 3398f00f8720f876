/**
 * Errors of the file commands (`rekey encrypt | decrypt | inspect`): one class, a closed set of
 * stable codes, one line of message. Errors of `@rekey/core` (a message that does not decrypt,
 * a KMS refusal) keep their own class and code.
 */

import { RekeyError } from "@rekey/core";
import type { FileErrorCode } from "../errors.js";

export type { FileErrorCode };

/**
 * A failure of a file command.
 *
 * @example
 * ```ts
 * try { parseContextArgs(["tenant"]); }
 * catch (e) { if (e instanceof FileError && e.code === "ERR_USAGE") console.error(e.message); }
 * ```
 */
export class FileError extends RekeyError<FileErrorCode> {
  constructor(code: FileErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
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
