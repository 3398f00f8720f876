/**
 * `pgRowSource`: every row of a checked table, in key order, read in pages by keyset
 * pagination (`WHERE key > $last ORDER BY key LIMIT n`): memory for one page whatever the table's
 * size, and a resumed job starts right after the last key it finished. Only the keys are read
 * here; each value is read by the store when its row is planned. A page whose query fails on a
 * transient error (a lost connection, a server restarting) is asked again with the job's backoff.
 */
import type { RowObjectRef } from "../model/object-ref.js";
import { JobCounters } from "../support/job-counters.js";
import type { RetryOptions } from "../support/retry.js";
import { pgQuery } from "../stores/pg/pg-query.js";
import type { PgTable } from "../stores/pg/pg-table.js";

/** Options of {@link pgRowSource}. */
export interface PgRowSourceOptions {
  /** Yield only the rows after this key (a resumed job), as PostgreSQL prints it. @default the first */
  readonly after?: string;
  /** Keys per page. @default 1000 */
  readonly pageSize?: number;
  /** Backoff of a page query that failed on a transient error. @default DEFAULT_RETRY */
  readonly retry?: RetryOptions;
  /** Stops the retries. */
  readonly signal?: AbortSignal;
  /** Where the page queries are counted (`postgres:SELECT`). @default counters of its own */
  readonly counters?: JobCounters;
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
  const rt = {
    table,
    counters: options.counters ?? new JobCounters(),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  for (;;) {
    const r = await pgQuery<{ k: string }>(rt, {
      operation: "SELECT",
      text:
        after === undefined
          ? `SELECT ${sql.key}::text AS k FROM ${sql.table} WHERE ${where} ORDER BY ${sql.key} LIMIT $1`
          : `SELECT ${sql.key}::text AS k FROM ${sql.table} WHERE ${where} AND ${sql.key} > $2 ORDER BY ${sql.key} LIMIT $1`,
      values: after === undefined ? [pageSize] : [pageSize, after],
      failure: "ERR_JOB_SOURCE",
      what: `listing the rows of ${table.table}`,
    });
    const keys = r.rows.map((row) => row.k);
    for (const key of keys)
      yield { kind: "row", table: table.table, keyColumn: table.keyColumn, column: table.column, key };
    if (keys.length < pageSize) return;
    after = keys[keys.length - 1];
  }
}
