/**
 * The PostgreSQL source flags of the job commands: `--postgres URL --table T --column C
 * [--key-column K] [--where SQL]`, one column of one table as the job's objects.
 */
import type { Command } from "commander";
import type { JobSource } from "../../runner/job-options.js";
import { UsageError } from "../util/usage-error.js";

/** The PostgreSQL flags, as commander parses them. */
export interface PostgresFlags {
  readonly postgres?: string;
  readonly table?: string;
  readonly column?: string;
  readonly keyColumn?: string;
  readonly where?: string;
}

/**
 * Adds the PostgreSQL source flags.
 *
 * @example
 * ```ts
 * withPostgresFlags(program.command("rewrap"));
 * ```
 */
export function withPostgresFlags(command: Command): Command {
  return command
    .option("--postgres <url>", "rows of a PostgreSQL table (postgres:// URL; PG* variables apply)")
    .option("--table <name>", "with --postgres: the table (schema.table)")
    .option("--column <name>", "with --postgres: the column holding messages (bytea, or text in base64)")
    .option("--key-column <name>", "with --postgres: a unique NOT NULL key (default: the primary key)")
    .option("--where <sql>", "with --postgres: only the rows this SQL condition holds for");
}

/**
 * The PostgreSQL source the flags name, or `undefined` without `--postgres`.
 *
 * @throws UsageError when `--table` or `--column` is missing, or a table flag comes without `--postgres`.
 * @example
 * ```ts
 * postgresSourceOf({ postgres: "postgres://db/app", table: "secrets", column: "payload" });
 * ```
 */
export function postgresSourceOf(flags: PostgresFlags): (JobSource & { kind: "postgres" }) | undefined {
  if (flags.postgres === undefined) {
    const stray = (["table", "column", "keyColumn", "where"] as const).find((f) => flags[f] !== undefined);
    if (stray) throw new UsageError(`--${stray === "keyColumn" ? "key-column" : stray} needs --postgres`);
    return undefined;
  }
  if (flags.table === undefined || flags.column === undefined)
    throw new UsageError("--postgres needs --table and --column");
  return {
    kind: "postgres",
    url: flags.postgres,
    table: flags.table,
    column: flags.column,
    ...(flags.keyColumn !== undefined ? { keyColumn: flags.keyColumn } : {}),
    ...(flags.where !== undefined ? { where: flags.where } : {}),
  };
}
