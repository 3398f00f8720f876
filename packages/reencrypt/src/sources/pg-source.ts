/**
 * `pgRowSource`: every row of a checked table, in key order, read in pages by keyset
 * pagination (`WHERE key > $last ORDER BY key LIMIT n`): memory for one page whatever the table's
 * size, and a resumed job starts right after the last key it finished. Only the keys are read
 * here; each value is read by the store when its row is planned.
 */
import { JobError } from "../errors.js";
import type { RowObjectRef } from "../model/object-ref.js";
import type { PgTable } from "../stores/pg/pg-table.js";

/** Options of {@link pgRowSource}. */
export interface PgRowSourceOptions {
  /** Yield only the rows after this key (a resumed job), as PostgreSQL prints it. @default the first */
  readonly after?: string;
  /** Keys per page. @default 1000 */
  readonly pageSize?: number;
}

/**
 * Pages through the table's keys.
 *
 * @example
 * ```ts
 * for await (const ref of pgRowSource(table)) console.log(ref.key);
 * ```
 */
export async function* pgRowSource(
  table: PgTable,
  options: PgRowSourceOptions = {},
): AsyncGenerator<RowObjectRef> {
  const pageSize = options.pageSize ?? 1000;
  const { sql } = table;
  const where = table.where !== undefined ? `(${table.where})` : "TRUE";
  let after = options.after;
  for (;;) {
    let keys: string[];
    try {
      const r = await table.pool.query<{ k: string }>(
        after === undefined
          ? `SELECT ${sql.key}::text AS k FROM ${sql.table} WHERE ${where} ORDER BY ${sql.key} LIMIT $1`
          : `SELECT ${sql.key}::text AS k FROM ${sql.table} WHERE ${where} AND ${sql.key} > $2 ORDER BY ${sql.key} LIMIT $1`,
        after === undefined ? [pageSize] : [pageSize, after],
      );
      keys = r.rows.map((row) => row.k);
    } catch (e) {
      throw new JobError(
        "ERR_JOB_SOURCE",
        `cannot list the rows of ${table.table}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    for (const key of keys)
      yield { kind: "row", table: table.table, keyColumn: table.keyColumn, column: table.column, key };
    if (keys.length < pageSize) return;
    after = keys[keys.length - 1];
  }
}
