/**
 * The re-encrypt job over a PostgreSQL column, against a throwaway cluster (initdb, pg_ctl, a
 * Unix socket, fsync off) and the built-in emulator with 10 ms of injected KMS latency, printed
 * as a ratio against a baseline measured in the same run: a bare loop of the same SQL and the
 * same KMS calls at the same concurrency — the keys and values read a page at a time by keyset
 * pagination (`SELECT key, value … WHERE key > $last ORDER BY key LIMIT 1000`), then per row one
 * `ReEncrypt` and one autocommit compare-and-swap `UPDATE … WHERE key = $1 AND value = $old`,
 * each call retried with the job's retry policy, with none of the job's classification, batching,
 * read-back verification, rate limit or report (the job also reads each value once to plan it
 * and once to verify its write, both batched like its writes). Both sides use a pool of 10 connections (the
 * job's default). Rounds are interleaved (loop, job, loop, job, …), the key rotated before each
 * side, so every row is on old key material each time.
 *
 * Run: `pnpm bench pg` (this section only; see bench/run.ts). Needs PostgreSQL's server binaries
 * (`initdb`, `pg_ctl`: on PATH or Debian's `/usr/lib/postgresql/<version>/bin`).
 * `REKEY_BENCH_QUICK=1` shrinks the row count for a smoke run.
 */
import { encrypt, kmsApiOf, KmsKeyring } from "@rekey/core";
import { startLocalAws, type LocalAws } from "@rekey/localstack";
import { runJob, type JobReport } from "@rekey/reencrypt";
import pg from "pg";
import { retry } from "./built.js";
import { postgresBinDir, startPostgres } from "../packages/reencrypt/test/helpers/postgres.js";
import {
  fmt,
  fmtRatio,
  fmtSpread,
  interleave,
  rates,
  type Report,
  speedRatios,
  spread,
  withCpu,
} from "./lib.js";
import { bareReEncrypt, send } from "./reencrypt.js";

const QUICK = process.env.REKEY_BENCH_QUICK === "1";
const ROWS = QUICK ? 500 : 3000;
/** Distinct messages (each with its own data key) the rows are filled from. */
const MESSAGES = 200;
const KMS_LATENCY_MS = 10;
const ROUNDS = 3;
const PAGE = 1000;
/** Connections per side: the job's default pool. */
const CONNECTIONS = 10;

/** The bare loop (see the module comment): seconds, and the queries it sent. */
async function bareRewrap(
  db: pg.Pool,
  kms: LocalAws["kms"],
  table: string,
  concurrency: number,
): Promise<{ seconds: number; queries: number }> {
  const api = kmsApiOf(kms);
  let queries = 0;
  const query = <R extends pg.QueryResultRow>(text: string, values: unknown[]) =>
    retry(() => {
      queries++;
      return db.query<R>(text, values);
    });
  const t = performance.now();
  let after = 0;
  for (;;) {
    const page = await query<{ id: string; v: Buffer }>(
      `SELECT id, payload AS v FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${PAGE}`,
      [after],
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < page.rows.length) {
          const row = page.rows[next++] as { id: string; v: Buffer };
          const value = await bareReEncrypt(api, row.v);
          const updated = await query(`UPDATE ${table} SET payload = $2 WHERE id = $1 AND payload = $3`, [
            row.id,
            value,
            row.v,
          ]);
          if (updated.rowCount !== 1) throw new Error(`row ${row.id} changed under the loop`);
        }
      }),
    );
    if (page.rows.length < PAGE) break;
    after = Number((page.rows[page.rows.length - 1] as { id: string }).id);
  }
  return { seconds: (performance.now() - t) / 1000, queries };
}

async function pgThroughput(report: Report): Promise<void> {
  report.heading(
    `Re-encrypt job over a PostgreSQL column: ${ROWS} rows, emulator with ${KMS_LATENCY_MS} ms KMS latency`,
  );
  const bin = postgresBinDir();
  if (bin === undefined) {
    report.para("Not measured: no PostgreSQL server binaries (initdb, pg_ctl) on this machine.");
    return;
  }
  const server = await startPostgres(bin);
  const aws = await startLocalAws({ backend: "builtin", log: false });
  const db = new pg.Pool({ connectionString: server.url, max: CONNECTIONS });
  try {
    const kms = aws.createKmsClient({ maxAttempts: 1 });
    const key = (await send<{ KeyMetadata: { Arn: string } }>(aws.kms, "CreateKeyCommand", {})).KeyMetadata
      .Arn;
    const rotate = async (): Promise<void> => {
      await send(aws.kms, "RotateKeyOnDemandCommand", { KeyId: key });
    };
    const keyring = new KmsKeyring({ client: aws.kms, keyId: key });
    const messages: Buffer[] = [];
    for (let i = 0; i < MESSAGES; i++)
      messages.push(
        (await encrypt(Buffer.alloc(256, i), { keyring, encryptionContext: { table: "bench" } })).ciphertext,
      );
    const fill = async (table: string, rows: number): Promise<void> => {
      await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, payload bytea NOT NULL)`);
      await db.query(
        `INSERT INTO ${table} SELECT g, m.all[g % ${MESSAGES} + 1] FROM generate_series(1, ${rows}) AS g, (SELECT $1::bytea[] AS all) AS m`,
        [messages],
      );
    };
    const job = (table: string, concurrency: number): Promise<JobReport> =>
      runJob({
        kms,
        source: { kind: "postgres", url: server.url, table, column: "payload" },
        target: "current",
        concurrency,
        kmsRps: Infinity,
      });

    report.para(
      "Rows/s and ratio job / bare loop at the same concurrency: median (min–max) of " +
        `${ROUNDS} interleaved rounds, the key rotated before each side. Queries per row count ` +
        "every statement each side sent (the job: its listing, the batched reads of the values to " +
        "plan and to read back, the batched compare-and-swap UPDATEs; the loop: its pages and one " +
        "UPDATE per row). CPU per row is this process's (client, in-process emulator; the " +
        "PostgreSQL server runs in its own processes and is not in it).",
    );
    // Warm-up: both paths once on a small table, so neither pays the JIT in the measurement.
    await fill("warm", 200);
    await rotate();
    await bareRewrap(db, kms, "warm", 16);
    await rotate();
    await job("warm", 16);

    const rows: string[][] = [
      [
        "concurrency",
        "bare loop rows/s",
        "job rows/s",
        "ratio",
        "queries/row: loop, job",
        "UPDATE statements/round: loop, job",
        "CPU ms/row: loop, job",
      ],
    ];
    for (const concurrency of [16, 64]) {
      const table = `rows_${concurrency}`;
      await fill(table, ROWS);
      aws.faults!.inject("kms:*", { latencyMs: KMS_LATENCY_MS });
      const cpu = { bare: [] as number[], job: [] as number[] };
      const queries = { bare: 0, job: 0 };
      const updates = { bare: 0, job: 0 };
      const t = await interleave(ROUNDS, {
        bare: async () => {
          await rotate();
          const { value, cpu: used } = await withCpu(() => bareRewrap(db, kms, table, concurrency));
          cpu.bare.push(used / ROWS);
          queries.bare = value.queries / ROWS;
          updates.bare = ROWS;
          return value.seconds;
        },
        job: async () => {
          await rotate();
          const { value: r, cpu: used } = await withCpu(() => job(table, concurrency));
          if (r.outcomes.rewrapped !== ROWS)
            throw new Error(`job rewrapped ${r.outcomes.rewrapped} of ${ROWS}`);
          cpu.job.push(used / ROWS);
          queries.job = r.postgres.requests / ROWS;
          updates.job = r.postgres.byOperation["UPDATE"] ?? 0;
          return r.durationMs / 1000;
        },
      });
      aws.faults!.clear();
      const ms = (xs: number[]): string => fmt(spread(xs).median * 1000, 2);
      rows.push([
        String(concurrency),
        fmtSpread(rates(t.bare, ROWS)),
        fmtSpread(rates(t.job, ROWS)),
        fmtRatio(speedRatios(t.job, t.bare)),
        `${fmt(queries.bare, 2)}, ${fmt(queries.job, 2)}`,
        `${fmt(updates.bare)}, ${fmt(updates.job)}`,
        `${ms(cpu.bare)}, ${ms(cpu.job)}`,
      ]);
    }
    report.table(rows);
  } finally {
    await db.end();
    await aws.stop();
    await server.stop();
  }
}

/** The PostgreSQL section, by the name `bench/run.ts` selects it with (only when named). */
export const pgSections = {
  pg: pgThroughput,
} as const;
