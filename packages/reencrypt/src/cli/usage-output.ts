/**
 * Usage errors in one line: `rekey plan: unknown option '--x' (see 'rekey plan --help')`,
 * instead of commander's error followed by the whole help.
 */
import type { Command } from "commander";

/**
 * The command path a command line names: `rekey keys rotate` for `rekey keys rotate --x`,
 * `rekey` when it names no command.
 *
 * @example
 * ```ts
 * commandPath(program, ["keys", "rotate", "--yes"]); // "rekey keys rotate"
 * ```
 */
export function commandPath(program: Command, args: readonly string[]): string {
  let command = program;
  let path = program.name();
  for (const arg of args) {
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    command = sub;
    path = `${path} ${sub.name()}`;
  }
  return path;
}

/**
 * The one line a usage error prints: the message, where it applies, and where help is.
 *
 * @example
 * ```ts
 * usageLine("rekey plan", "error: unknown option '--x'\n"); // "rekey plan: unknown option '--x' (see 'rekey plan --help')\n"
 * ```
 */
export function usageLine(path: string, message: string): string {
  const text = message
    .replace(/^error: /, "")
    .replace(/\s*\n\s*/g, " ")
    .trim();
  return `${path}: ${text} (see '${path} --help')\n`;
}

/**
 * Makes every command of `program` print usage errors as {@link usageLine}, without the help
 * after them. Call it once all commands are registered.
 *
 * @example
 * ```ts
 * const program = new Command("rekey");
 * registerFileCommands(program);
 * oneLineUsageErrors(program);
 * ```
 */
export function oneLineUsageErrors(program: Command, path = program.name()): void {
  program.showHelpAfterError(false).configureOutput({
    outputError: (message, write) => write(usageLine(path, message)),
  });
  for (const sub of program.commands) oneLineUsageErrors(sub, `${path} ${sub.name()}`);
}
