/** An error that adds where it happened (a file, an object) to another error's one line. */

/**
 * Wraps a failure with its subject, keeping the original's stable `code` and the original as
 * `cause`, so the CLI's one line reads `rekey: data.rkey: unable to decrypt …`.
 *
 * @example
 * ```ts
 * catch (e) { throw new CommandError(`${file}: ${(e as Error).message}`, e); }
 * ```
 */
export class CommandError extends Error {
  /** The wrapped error's code (`ERR_DECRYPT_FAILED`, `ERR_KMS`, …), or `ERR_COMMAND`. */
  readonly code: string;

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    const code = (cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === "string" ? code : "ERR_COMMAND";
    this.name = "CommandError";
  }
}
