/**
 * `openPgTable`: connects to PostgreSQL and checks, before anything is read or written, that the
 * table and column the job was given can be rewrapped row by row: the table exists, the column
 * is `bytea` (a message as is) or `text`/`varchar` (a message in base64), and every row has one
 * key the job can page by and write back to — a single-column primary key, or a named column
 * that is NOT NULL and has a unique index of its own. Anything else is refused with one line.
 */
import { escapeIdentifier, Pool, type PoolConfig } from "pg";
import { JobError } from "../../errors.js";

/** Which table and column, in which database. */
export interface PgTableSpec {
  /**
   * A `postgres://` connection URL. Credentials not in it come from the usual `PG*` variables
   * (`PGPASSWORD`, `PGHOST`, …); TLS options (`sslmode`, …) are passed through.
   */
  readonly url: string;
  /** The table, optionally schema-qualified (`billing.invoices`). */
  readonly table: string;
  /** The column holding rekey messages. */
  readonly column: string;
  /** The key to page by and write back to. @default the table's single-column primary key */
  readonly keyColumn?: string;
  /**
   * Only the rows this SQL condition holds for (`tenant_id = 7`): put in the listing's `WHERE`
   * as it is, so it is trusted input, like the URL. @default every row
   */
  readonly where?: string;
}

/** How the column holds a message. */
export type PgValueEncoding = "bytea" | "base64";

/** An opened, checked table: its connection pool and the SQL the job runs on it. */
export interface PgTable {
  readonly pool: Pool;
  /** The table as PostgreSQL prints it (schema-qualified and quoted where needed). */
  readonly table: string;
  readonly keyColumn: string;
  readonly column: string;
  readonly encoding: PgValueEncoding;
  /** The listing's extra condition (SQL), if any. */
  readonly where?: string;
  /**
   * Quoted identifiers and type names, for SQL text: `keyType` is the key column's type
   * (`bigint`, `uuid`, …), `valueType` the type a value is sent as (`bytea` or `text`).
   */
  readonly sql: {
    readonly table: string;
    readonly key: string;
    readonly column: string;
    readonly keyType: string;
    readonly valueType: "bytea" | "text";
  };
  /** Closes the pool. */
  close(): Promise<void>;
}

/** Options of {@link openPgTable}. */
export interface OpenPgTableOptions {
  /** Connections in the pool. @default 10 */
  readonly maxConnections?: number;
}

/**
 * Connects and checks the table (see the module comment).
 *
 * @throws JobError `ERR_JOB_SOURCE`: the database cannot be reached, or the table, column or key
 * is missing or unusable; nothing was written.
 * @example
 * ```ts
 * const table = await openPgTable({ url: "postgres://app@db/app", table: "secrets", column: "payload" });
 * try { … } finally { await table.close(); }
 * ```
 */
export async function openPgTable(spec: PgTableSpec, options: OpenPgTableOptions = {}): Promise<PgTable> {
  let pool: Pool;
  try {
    pool = new Pool({
      connectionString: spec.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 30_000,
    } satisfies PoolConfig);
  } catch (e) {
    throw new JobError("ERR_JOB_SOURCE", `invalid PostgreSQL URL: ${messageOf(e)}`, { cause: e });
  }
  // An idle connection that breaks must not crash the process: the next query reports it.
  pool.on("error", () => undefined);
  try {
    try {
      await pool.query("SELECT 1");
    } catch (e) {
      throw new JobError("ERR_JOB_SOURCE", `cannot connect to PostgreSQL: ${messageOf(e)}`, { cause: e });
    }
    const checked = await checkTable(pool, spec);
    if (spec.where !== undefined) await checkWhere(pool, checked.table, spec.where);
    return {
      pool,
      ...checked,
      ...(spec.where !== undefined ? { where: spec.where } : {}),
      sql: {
        table: checked.table,
        key: escapeIdentifier(checked.keyColumn),
        column: escapeIdentifier(checked.column),
        keyType: checked.keyType,
        valueType: checked.encoding === "bytea" ? "bytea" : "text",
      },
      close: () => pool.end(),
    };
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
}

interface CheckedTable {
  readonly table: string;
  readonly keyColumn: string;
  /** The key column's type as SQL writes it (`format_type`). */
  readonly keyType: string;
  readonly column: string;
  readonly encoding: PgValueEncoding;
}

async function checkTable(pool: Pool, spec: PgTableSpec): Promise<CheckedTable> {
  let found;
  try {
    found = await pool.query<{ oid: number | null; name: string | null }>(
      "SELECT to_regclass($1)::oid AS oid, to_regclass($1)::text AS name",
      [spec.table],
    );
  } catch (e) {
    throw new JobError("ERR_JOB_SOURCE", `invalid table name "${spec.table}": ${messageOf(e)}`, { cause: e });
  }
  const oid = found.rows[0]?.oid;
  const table = found.rows[0]?.name;
  if (oid === null || oid === undefined || !table)
    throw new JobError("ERR_JOB_SOURCE", `table "${spec.table}" does not exist`);

  const column = await columnOf(pool, oid, spec.column);
  if (!column) throw new JobError("ERR_JOB_SOURCE", `table ${table} has no column "${spec.column}"`);
  const encoding = ENCODINGS[column.type];
  if (!encoding)
    throw new JobError(
      "ERR_JOB_SOURCE",
      `column ${spec.column} of ${table} is ${column.type}: it must be bytea, or text holding base64`,
    );

  const keyColumn = await keyColumnOf(pool, oid, table, spec.keyColumn);
  if (keyColumn === spec.column)
    throw new JobError("ERR_JOB_SOURCE", `the key column of ${table} cannot be the column rewrapped`);
  const key = (await columnOf(pool, oid, keyColumn)) as NonNullable<Awaited<ReturnType<typeof columnOf>>>;
  return { table, keyColumn, keyType: key.sqlType, column: spec.column, encoding };
}

const ENCODINGS: Partial<Record<string, PgValueEncoding>> = {
  bytea: "bytea",
  text: "base64",
  varchar: "base64",
};

async function columnOf(
  pool: Pool,
  oid: number,
  name: string,
): Promise<{ attnum: number; type: string; sqlType: string; notNull: boolean } | undefined> {
  const r = await pool.query<{ attnum: number; type: string; sqltype: string; notnull: boolean }>(
    `SELECT a.attnum, t.typname AS type, format_type(a.atttypid, NULL) AS sqltype, a.attnotnull AS notnull
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [oid, name],
  );
  const row = r.rows[0];
  return row ? { attnum: row.attnum, type: row.type, sqlType: row.sqltype, notNull: row.notnull } : undefined;
}

/** The key column: the primary key's only column, or `named` when it is unique and NOT NULL. */
async function keyColumnOf(
  pool: Pool,
  oid: number,
  table: string,
  named: string | undefined,
): Promise<string> {
  if (named === undefined) {
    const pk = await pool.query<{ n: number; name: string | null }>(
      `SELECT i.indnkeyatts AS n, a.attname AS name
         FROM pg_index i LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = $1 AND i.indisprimary`,
      [oid],
    );
    const row = pk.rows[0];
    if (!row)
      throw new JobError(
        "ERR_JOB_SOURCE",
        `table ${table} has no primary key: name a unique NOT NULL column as the key column`,
      );
    if (row.n !== 1 || !row.name)
      throw new JobError(
        "ERR_JOB_SOURCE",
        `table ${table} has a composite primary key (${row.n} columns): name a unique NOT NULL column as the key column`,
      );
    return row.name;
  }
  const column = await columnOf(pool, oid, named);
  if (!column) throw new JobError("ERR_JOB_SOURCE", `table ${table} has no key column "${named}"`);
  if (!column.notNull)
    throw new JobError("ERR_JOB_SOURCE", `key column ${named} of ${table} is not NOT NULL`);
  const unique = await pool.query(
    `SELECT 1 FROM pg_index i
      WHERE i.indrelid = $1 AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = $2
        AND i.indpred IS NULL AND i.indexprs IS NULL`,
    [oid, column.attnum],
  );
  if (unique.rowCount === 0)
    throw new JobError(
      "ERR_JOB_SOURCE",
      `key column ${named} of ${table} has no unique index of its own: it may not name one row`,
    );
  return named;
}

/** A condition that does not parse or names an unknown column is refused before the job starts. */
async function checkWhere(pool: Pool, table: string, where: string): Promise<void> {
  try {
    // Planned, not run: PostgreSQL checks the condition against the table without reading it.
    await pool.query(`EXPLAIN SELECT 1 FROM ${table} WHERE (${where})`);
  } catch (e) {
    throw new JobError("ERR_JOB_SOURCE", `the row condition does not apply to ${table}: ${messageOf(e)}`, {
      cause: e,
    });
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message || e.name : String(e);
}
