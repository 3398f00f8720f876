/** Output helpers shared by commands: JSON or table choice, aligned tables, one-line writes. */
import type { OutputStream } from "./context.js";

/**
 * Whether to print JSON: `--json` forces it, `--table` forbids it, otherwise JSON when stdout is
 * not a terminal (a pipe or a CI log gets something a program can read).
 *
 * @example
 * ```ts
 * if (wantsJson(opts, ctx.stdout)) writeJson(ctx.stdout, report);
 * ```
 */
export function wantsJson(opts: { json?: boolean; table?: boolean }, stdout: OutputStream): boolean {
  if (opts.json) return true;
  if (opts.table) return false;
  return stdout.isTTY !== true;
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
