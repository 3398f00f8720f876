/**
 * Output shared by commands: the `--output json|text` rule, aligned tables, one-line writes.
 *
 * The rule, the same for every command: text unless JSON is asked for (`--output json`, or its
 * synonym `--json`), whether stdout is a terminal, a pipe or a file. Long jobs (`plan`, `rewrap`,
 * `reencrypt`, `alias cutover` with its rewrap) print JSON lines: events, then the report; every
 * other command prints one JSON document.
 */
import { Option, type Command } from "commander";
import type { OutputStream } from "./context.js";
import { UsageError } from "./usage-error.js";

/** The output flags as commander parses them. */
export interface OutputFlags {
  readonly output?: string;
  readonly json?: boolean;
  /** Hidden synonym of `--output text`, kept for scripts written before `--output`. */
  readonly table?: boolean;
}

/** The one-line statement of the output rule, shown in every command's help. */
export const OUTPUT_RULE =
  "Output: text by default (terminal, pipe or file alike); --output json (or --json) prints JSON.";

/**
 * Adds `--output <format>`, `--json` and (unless `legacyTable: false`) the hidden `--table` to a
 * command.
 *
 * @param jsonShape - What JSON looks like for this command, e.g. "one JSON document".
 * @example
 * ```ts
 * withOutputOptions(program.command("status <key>"), "one JSON document").action(...);
 * ```
 */
export function withOutputOptions(
  command: Command,
  jsonShape: string,
  options: { readonly legacyTable?: boolean } = {},
): Command {
  command
    .addOption(
      new Option("--output <format>", `json or text (json: ${jsonShape})`)
        .choices(["json", "text"])
        .default("text"),
    )
    .addOption(new Option("--json", "same as --output json"));
  // The job commands never had `--table` (and `--table` names a database table there).
  if (options.legacyTable !== false)
    command.addOption(new Option("--table", "same as --output text").hideHelp());
  return command.addHelpText("after", `\n${OUTPUT_RULE}`);
}

/**
 * Whether to print JSON: `--output json` or `--json`; text otherwise, wherever stdout goes.
 *
 * @throws UsageError when `--table` is given with `--json` or `--output json`.
 * @example
 * ```ts
 * if (wantsJson(flags)) writeJson(ctx.stdout, report);
 * ```
 */
export function wantsJson(flags: Omit<OutputFlags, "table"> & { readonly table?: unknown }): boolean {
  const asked = flags.json === true || flags.output === "json";
  if (asked && flags.table === true)
    throw new UsageError("--table asks for text and --json for JSON: pass one");
  return asked;
}

/** Writes a value as indented JSON and a newline. */
export function writeJson(out: OutputStream, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes lines, each ended by a newline. */
export function writeLines(out: OutputStream, lines: readonly string[]): void {
  if (lines.length > 0) out.write(`${lines.join("\n")}\n`);
}

/**
 * Renders rows as columns aligned with two spaces, headers first.
 *
 * @example
 * ```ts
 * renderTable(["KEY", "STATE"], [["1234", "Enabled"]]); // ["KEY   STATE", "1234  Enabled"]
 * ```
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** The date part of an ISO string, or `-`. */
export function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : "-";
}
