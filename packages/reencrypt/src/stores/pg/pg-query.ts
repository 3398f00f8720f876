/**
 * Every query a job runs on its PostgreSQL table goes through {@link pgQuery}: counted, retried
 * with the job's backoff (the helper the KMS and S3 requests use) when the failure is transient —
 * a lost connection or a backend terminated, the server shutting down, a serialization failure
 * or deadlock, too many connections — and stopped by the job's signal. Any other failure (a
 * syntax or type error, a constraint, a trigger's exception) is not retried: it fails at once,
 * as one line with its SQLSTATE. Every query is safe to run twice: reads change nothing, and a
 * write is a compare-and-swap, so a retry of a write whose answer was lost finds the row no
 * longer holding the old value (the job's write safety then recognises its own write).
 */
import type { QueryResultRow } from "pg";
import { JobError, type JobErrorCode } from "../../errors.js";
import type { JobCounters } from "../../support/job-counters.js";
import { retry, type RetryOptions } from "../../support/retry.js";
import type { PgTable } from "./pg-table.js";

/** What the job's queries need: the table, the counters, the retry policy and the signal. */
export interface PgRuntime {
  readonly table: PgTable;
  readonly counters: JobCounters;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryOptions;
  readonly signal?: AbortSignal;
}

/** One query of {@link pgQuery}. */
export interface PgQuery {
  /** Names the query in the counters (`"SELECT"`, `"UPDATE"`) and in the error line. */
  readonly operation: string;
  readonly text: string;
  readonly values: unknown[];
  /** The code of the error thrown after the retries. @default "ERR_JOB_DATABASE" */
  readonly failure?: JobErrorCode;
  /** What failed, for the error line. @default `${operation} on ${table}` */
  readonly what?: string;
}

/**
 * Runs one query with retries (see the module comment).
 *
 * @throws JobError `ERR_JOB_DATABASE` (or `query.failure`) once the query failed for good:
 * `"<what> failed: <message> (SQLSTATE <code>)"`, the driver's error as its `cause`.
 * @example
 * ```ts
 * const r = await pgQuery(rt, { operation: "SELECT", text: "SELECT 1 AS one", values: [] });
 * ```
 */
export async function pgQuery<R extends QueryResultRow = QueryResultRow>(
  rt: PgRuntime,
  query: PgQuery,
): Promise<{ rows: R[]; rowCount: number | null }> {
  try {
    return await retry(
      () => {
        rt.counters.request("postgres", query.operation);
        return rt.table.pool.query<R>(query.text, query.values);
      },
      Object.assign({}, rt.retry, rt.signal ? { signal: rt.signal } : undefined, {
        onRetry: () => rt.counters.retried("postgres", query.operation, false),
      }),
    );
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const state = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : "";
    const message = e instanceof Error ? e.message || e.name : String(e);
    throw new JobError(
      query.failure ?? "ERR_JOB_DATABASE",
      `${query.what ?? `${query.operation} on ${rt.table.table}`} failed: ${message}${state}`,
      { cause: e },
    );
  }
}
