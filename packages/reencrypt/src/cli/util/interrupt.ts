/**
 * Ctrl-C, one rule for every command. The first SIGINT asks the running command to stop
 * gracefully: its {@link Interruptible.signal} aborts, and the command winds down its own way (a
 * job stops taking objects, finishes those in flight and writes its checkpoint, report and
 * summary; a file command aborts its stream and deletes its temporary file; `keys rotate` stops
 * waiting). The second SIGINT exits at once with 130: the files registered with `removeAtExit`
 * (temporary outputs, the directory store's temporary files, a checkpoint compaction) are
 * deleted synchronously on the way out, and a checkpoint keeps every line already written (a
 * resume tolerates a torn last line). A SIGINT
 * while no command is interruptible (before one started, or in one that has nothing to wind
 * down) is the second kind: exit at once.
 *
 * SIGTERM asks for the same graceful stop and never escalates: a process manager, or `pnpm exec`
 * (which answers Ctrl-C by sending its child SIGTERM while the child gets the terminal's SIGINT
 * too, and returns at once), gets a clean stop rather than an abrupt one.
 */
import { RekeyError } from "@rekey/core";
import { EXIT_CODES } from "../../errors.js";

/** Commands in their interruptible span now; outside any, Ctrl-C exits at once. */
let spans = 0;

/**
 * A command was stopped by Ctrl-C before it finished: code `ERR_INTERRUPTED`, exit 130.
 *
 * @example
 * ```ts
 * if (signal.aborted) throw new InterruptedError("interrupted: no output was written");
 * ```
 */
export class InterruptedError extends RekeyError<"ERR_INTERRUPTED"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_INTERRUPTED", message, options);
  }
}

/**
 * Ends the process now with exit code 130, after one line on stderr. Files registered with
 * `removeAtExit` are deleted in the `'exit'` event.
 */
function exitAtOnce(line: string): never {
  // stderr is synchronous for files, pipes and terminals on POSIX: the line is out before exit.
  process.stderr.write(`${line}\n`);
  process.exit(EXIT_CODES.interrupted);
}

/** A command's interruptible span: see {@link interruptible}. */
export interface Interruptible {
  /** Aborts on the first Ctrl-C. */
  readonly signal: AbortSignal;
  /** Ends the span: Ctrl-C no longer reaches this command. Idempotent. */
  end(): void;
}

/**
 * Starts a command's interruptible span: the first SIGINT (or a SIGTERM) aborts the returned
 * signal and calls `onFirst` (say what happens now: "Stopping: …"), a second SIGINT exits at once
 * with 130; SIGTERM never exits at once. Keep the span open until the command has written
 * everything it writes on a graceful stop (report, summary), so that a second Ctrl-C meanwhile
 * exits at once too.
 *
 * @param onFirst - Called once, on the first SIGINT or SIGTERM, after the signal aborted.
 *   @default nothing
 * @example
 * ```ts
 * const span = interruptible(() => progress.message("Stopping: no new objects."));
 * try { await runJob({ ...options, stopSignal: span.signal }); } finally { span.end(); }
 * ```
 */
export function interruptible(onFirst?: () => void): Interruptible {
  const controller = new AbortController();
  let ended = false;
  const stop = (): void => {
    if (controller.signal.aborted) return;
    controller.abort(new InterruptedError("interrupted"));
    onFirst?.();
  };
  // SIGINTs only: pnpm's SIGTERM may reach the command before or after the terminal's SIGINT.
  let sigints = 0;
  const onSigint = (): void => {
    if (++sigints > 1) exitAtOnce("rekey: interrupted again: exiting at once [ERR_INTERRUPTED]");
    stop();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", stop);
  spans++;
  return {
    signal: controller.signal,
    end: () => {
      if (ended) return;
      ended = true;
      spans--;
      process.removeListener("SIGINT", onSigint);
      process.removeListener("SIGTERM", stop);
    },
  };
}

/**
 * Runs `command` in an interruptible span (see {@link interruptible}): when it fails after a
 * Ctrl-C — its streams aborted, its waits cut short — the failure becomes `interrupted`, with
 * `message` as its one line. A command that completes despite a Ctrl-C (its output was already
 * in place) returns normally.
 *
 * @example
 * ```ts
 * await whileInterruptible("interrupted: no output file was written", (signal) =>
 *   transformFile({ input, output, transforms, stdin, stdout, signal }));
 * ```
 */
export async function whileInterruptible<T>(
  message: string,
  command: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const span = interruptible();
  try {
    return await command(span.signal);
  } catch (e) {
    if (span.signal.aborted && !(e instanceof InterruptedError))
      throw new InterruptedError(message, { cause: e });
    throw e;
  } finally {
    span.end();
  }
}

/**
 * For the executable: a SIGINT while no command is in its interruptible span exits at once with
 * 130 (deleting registered temporary files), instead of Node's default death by signal, which
 * runs no code at all.
 *
 * @example
 * ```ts
 * exitAtOnceOnInterruptOutsideCommands();
 * await buildProgram().parseAsync(process.argv);
 * ```
 */
export function exitAtOnceOnInterruptOutsideCommands(): void {
  process.on("SIGINT", () => {
    if (spans === 0) exitAtOnce("rekey: interrupted [ERR_INTERRUPTED]");
  });
}
