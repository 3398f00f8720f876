/** An error that adds where it happened (a file, an object) to another error's one line. */
import { RekeyError } from "@rekey/core";
import type { ErrorCode } from "../../errors.js";

/**
 * Wraps a failure with its subject, keeping the original's stable `code` and the original as
 * `cause`, so the CLI's one line reads `rekey: data.rkey: unable to decrypt …`.
 *
 * @example
 * ```ts
 * catch (e) { throw new CommandError(`${file}: ${(e as Error).message}`, e); }
 * ```
 */
export class CommandError extends RekeyError<ErrorCode> {
  constructor(message: string, cause: unknown) {
    super(codeOf(cause), message, { cause });
  }
}

/** The wrapped error's code when it is a rekey error (`ERR_DECRYPT_FAILED`, `ERR_KMS`, …), else `ERR_COMMAND`. */
function codeOf(cause: unknown): ErrorCode {
  return cause instanceof RekeyError ? (cause.code as ErrorCode) : "ERR_COMMAND";
}
