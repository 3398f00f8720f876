/**
 * The flags that choose which of a source's objects a job takes and how unrelated objects count:
 * `--include` / `--exclude` globs (repeatable) and `--strict`. Defined once for `plan`,
 * `rewrap`, `reencrypt` and `alias cutover`.
 */
import type { Command } from "commander";
import type { SourceFilterOptions } from "../../sources/source-filter.js";
import { collect } from "../util/aws-options.js";
import { UsageError } from "../util/usage-error.js";

/** The filter flags, as commander parses them. */
export interface FilterFlags {
  readonly include?: string[];
  readonly exclude?: string[];
  readonly strict?: boolean;
}

/**
 * Adds `--include` and `--exclude`.
 *
 * @example
 * ```ts
 * withFilterFlags(program.command("plan")); // rekey plan --dir data --exclude '*.tmp'
 * ```
 */
export function withFilterFlags(command: Command): Command {
  return command
    .option(
      "--include <glob>",
      "only objects whose key (path below --dir) matches this glob (repeatable; *.bin matches at any depth, logs/** under logs/)",
      collect,
    )
    .option(
      "--exclude <glob>",
      "leave out objects whose key (path below --dir) matches this glob: never read, counted as excluded (repeatable)",
      collect,
    );
}

/**
 * Adds `--strict` (commands that run the job and set its exit code).
 *
 * @example
 * ```ts
 * withStrictFlag(program.command("rewrap"));
 * ```
 */
export function withStrictFlag(command: Command): Command {
  return command.option(
    "--strict",
    "objects that are not rekey or ESDK messages (foreign) make the exit code 2; without it they are left alone, counted, and do not change it",
  );
}

/**
 * The `--include` / `--exclude` globs given, as a source spec takes them.
 *
 * @throws UsageError for an empty pattern.
 * @example
 * ```ts
 * filterOf({ exclude: ["*.tmp"] }); // { exclude: ["*.tmp"] }
 * ```
 */
export function filterOf(flags: FilterFlags): SourceFilterOptions {
  for (const p of [...(flags.include ?? []), ...(flags.exclude ?? [])])
    if (p.trim() === "") throw new UsageError("--include and --exclude take a glob, not an empty string");
  return {
    ...(flags.include?.length ? { include: flags.include } : {}),
    ...(flags.exclude?.length ? { exclude: flags.exclude } : {}),
  };
}
