/**
 * Confirmation of commands that change keys or aliases: on a terminal the command asks; `--yes`
 * answers in advance; without a terminal and without `--yes` it refuses, because nobody can
 * answer and a script must say what it means.
 */
import { createInterface } from "node:readline/promises";
import { RekeyError } from "@rekey/core";
import type { CliContext } from "./context.js";

/** The change was not confirmed: declined at the prompt, or no terminal and no `--yes`. */
export class ConfirmationError extends RekeyError<"ERR_NOT_CONFIRMED"> {
  constructor(message: string) {
    super("ERR_NOT_CONFIRMED", message);
  }
}

/**
 * Goes on only when the change is confirmed: `yes` given, or "y"/"yes" answered on a terminal.
 *
 * @param change - What the command is about to do, e.g. "point alias/app at arn:…".
 * @throws ConfirmationError when stdin is not a terminal and `yes` is not given, or the answer is not yes.
 * @example
 * ```ts
 * await confirmChange(ctx, flags.yes, `rotate the key material of ${key}`);
 * ```
 */
export async function confirmChange(
  ctx: CliContext,
  yes: boolean | undefined,
  change: string,
): Promise<void> {
  if (yes === true) return;
  if (ctx.stdin.isTTY !== true)
    throw new ConfirmationError(
      `about to ${change}, but stdin is not a terminal to ask on: pass --yes to confirm`,
    );
  const rl = createInterface({ input: ctx.stdin, output: ctx.stderr });
  let answer: string;
  try {
    answer = await rl.question(`About to ${change}. Proceed? [y/N] `);
  } finally {
    rl.close();
  }
  if (!/^\s*y(es)?\s*$/i.test(answer)) throw new ConfirmationError(`not confirmed: nothing was changed`);
}
