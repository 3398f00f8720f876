/**
 * The job over a PostgreSQL column, on a throwaway cluster (see helpers/postgres.ts) and the
 * test adapter's KMS: every row rewrapped after a rotation and still decrypting to its
 * plaintext, NULLs and other values left alone, a racing UPDATE a conflict that is never
 * overwritten, a resume after the checkpoint's last key, and tables the job cannot work on
 * refused with one line before anything is written.
 */
import { CreateKeyCommand, RotateKeyOnDemandCommand, type KMSClient } from "@aws-sdk/client-kms";
import { decrypt, encrypt, KmsKeyring } from "@rekey/core";
import { useLocalAws } from "@rekey/localstack/vitest";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  JobCounters,
  JobError,
  openPgTable,
  PgStore,
  planJob,
  runJob,
  type JobOptions,
  type ObjectResult,
  type PgTableSpec,
} from "../src/index.js";
import type { ObjectPlan } from "../src/model/object-plan.js";
import type { RowObjectRef } from "../src/model/object-ref.js";
import { runCliInProcess, spawnCli } from "./helpers/cli.js";
import { postgresBinDir, startPostgres, type TestPostgres } from "./helpers/postgres.js";

const aws = useLocalAws();
const bin = postgresBinDir();
/** Rows of the rotation test. */
const ROWS = 3000;
/** Distinct messages the rows share (each row is rewrapped on its own all the same). */
const MESSAGES = 40;

let kms: KMSClient;
let server: TestPostgres;
let db: pg.Client;

async function newKey(): Promise<string> {
  const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
  return KeyMetadata!.Arn!;
}

async function seal(keyId: string, plaintext: Buffer): Promise<Buffer> {
  const { ciphertext } = await encrypt(plaintext, {
    keyring: new KmsKeyring({ client: aws.kms, keyId }),
    encryptionContext: { table: "secrets" },
  });
  return ciphertext;
}

async function open(keyId: string, message: Uint8Array): Promise<Buffer> {
  const { plaintext } = await decrypt(message, {
    keyring: new KmsKeyring({ client: aws.kms, allowedKeyArns: [keyId] }),
  });
  return plaintext;
}

function job(table: string, extra: Partial<JobOptions> = {}): JobOptions {
  return {
    kms,
    source: source(table),
    target: "current",
    kmsRps: Infinity,
    ...extra,
  };
}

function source(table: string): JobOptions["source"] & { kind: "postgres" } {
  return { kind: "postgres", url: server.url, table, column: "payload" };
}

/** Every value of `column`, by key. */
async function values(table: string, column = "payload"): Promise<Map<string, unknown>> {
  const r = await db.query<{ k: string; v: unknown }>(`SELECT id::text AS k, ${column} AS v FROM ${table}`);
  return new Map(r.rows.map((row) => [row.k, row.v]));
}

/** A table of `rows` messages under `keyId` (row i holds message i % MESSAGES), plus NULL and foreign rows. */
async function fill(table: string, keyId: string, rows: number, type: "bytea" | "text" = "bytea") {
  await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, payload ${type})`);
  const plaintexts = Array.from({ length: MESSAGES }, () => randomBytes(64));
  const messages = await Promise.all(plaintexts.map((p) => seal(keyId, p)));
  const encode = (b: Buffer): Buffer | string => (type === "bytea" ? b : b.toString("base64"));
  await db.query(
    `INSERT INTO ${table} SELECT g, (SELECT m FROM unnest($1::${type}[]) WITH ORDINALITY AS u(m, n) WHERE n = g % ${MESSAGES} + 1)
       FROM generate_series(1, ${rows}) AS g`,
    [messages.map(encode)],
  );
  // Left alone: a NULL, a value that is no message, and (text) a value that is not base64.
  await db.query(`INSERT INTO ${table} VALUES ($1, NULL), ($2, $3)`, [
    rows + 1,
    rows + 2,
    encode(Buffer.from("plain text, not a message")),
  ]);
  if (type === "text") await db.query(`INSERT INTO ${table} VALUES ($1, 'not base64!')`, [rows + 3]);
  return { plaintextOf: (id: number) => plaintexts[id % MESSAGES] as Buffer };
}

describe.skipIf(bin === undefined)("runJob over a PostgreSQL column (needs initdb and pg_ctl)", () => {
  beforeAll(async () => {
    kms = aws.createKmsClient({ maxAttempts: 1 });
    server = await startPostgres(bin as string);
    db = new pg.Client({ connectionString: server.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it(`rotation → every one of ${ROWS} bytea rows rewrapped, each decrypting to its plaintext; NULL and foreign left alone`, async () => {
    const key = await newKey();
    const { plaintextOf } = await fill("secrets", key, ROWS);
    const before = await values("secrets");
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));

    const plan = await planJob(job("secrets"));
    expect(plan.classes.rewrap.objects).toBe(ROWS);
    expect(plan.classes.foreign.objects).toBe(2);

    const report = await runJob(job("secrets", { concurrency: 32 }));
    expect(report.outcomes.rewrapped).toBe(ROWS);
    expect(report.outcomes.foreign).toBe(2);
    expect(report.outcomes.failed + report.outcomes.conflict).toBe(0);
    // Concurrent writes share statements: fewer UPDATEs than rows written.
    expect(report.postgres.byOperation["UPDATE"]).toBeLessThan(ROWS);
    // Values that are not messages are left alone and counted; they do not change the exit code
    // (the same rule as foreign objects), unless strict.
    expect(report.complete).toBe(true);
    expect(report.exitCode).toBe(0);

    const after = await values("secrets");
    expect(after.get(String(ROWS + 1))).toBeNull();
    expect(after.get(String(ROWS + 2))).toEqual(before.get(String(ROWS + 2)));
    for (let id = 1; id <= ROWS; id++) {
      const value = after.get(String(id)) as Buffer;
      expect(value.equals(before.get(String(id)) as Buffer)).toBe(false);
      expect((await open(key, value)).equals(plaintextOf(id))).toBe(true);
    }
    // Nothing left on the old material: a second plan finds every row current.
    const again = await planJob(job("secrets"));
    expect(again.classes.current.objects).toBe(ROWS);
    expect(again.classes.rewrap.objects).toBe(0);
  }, 300_000);

  it("a text column of base64 is rewrapped in base64; text that is not base64 is left alone", async () => {
    const key = await newKey();
    const { plaintextOf } = await fill("secrets_b64", key, 50, "text");
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const report = await runJob(job("secrets_b64"));
    expect(report.outcomes.rewrapped).toBe(50);
    expect(report.outcomes.foreign).toBe(3);
    const after = await values("secrets_b64");
    expect(after.get("53")).toBe("not base64!");
    for (let id = 1; id <= 50; id++) {
      const text = after.get(String(id)) as string;
      expect(typeof text).toBe("string");
      expect((await open(key, Buffer.from(text, "base64"))).equals(plaintextOf(id))).toBe(true);
    }
  });

  // The UPDATE lands after the value was read and before the job's write: only the write's
  // compare-and-swap (`AND payload = $old`) stands between them.
  it("a row the application UPDATEs between plan and write is a conflict, and keeps the application's value", async () => {
    const key = await newKey();
    await fill("raced", key, 20);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const theirs = await seal(key, Buffer.from("written by the application"));
    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    const results: ObjectResult[] = [];
    try {
      const report = await runJob(
        job("raced", {
          hooks: {
            afterPlan: async (plan) => {
              if (plan.ref.kind === "row" && plan.ref.key === "7")
                await other.query("UPDATE raced SET payload = $1 WHERE id = 7", [theirs]);
            },
            onResult: (r) => results.push(r),
          },
        }),
      );
      expect(report.outcomes.conflict).toBe(1);
      expect(report.outcomes.rewrapped).toBe(19);
    } finally {
      await other.end();
    }
    const raced = results.find((r) => r.ref.kind === "row" && r.ref.key === "7");
    expect(raced?.outcome).toBe("conflict");
    expect(raced?.code).toBe("ERR_JOB_CONFLICT");
    expect(((await values("raced")).get("7") as Buffer).equals(theirs)).toBe(true);
  });

  /** A plan the store can write from: the row's value as read (its version token) and nothing else. */
  const planOf = (ref: RowObjectRef, etag: string): ObjectPlan => ({
    ref,
    class: "reencrypt",
    reason: "test",
    size: 0,
    etag,
    actions: [],
    recipients: [],
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    kmsCalls: 0,
    keptEntries: 0,
  });

  /**
   * Ten rows written through one PgStore whose batches hold ten writes: all ten writes go in ONE
   * statement. `during(id)` runs between the row's read and its write (inside its body).
   */
  async function writeTenInOneBatch(table: string, during: (id: number) => Promise<void>) {
    await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, payload bytea)`);
    await db.query(
      `INSERT INTO ${table} SELECT g, decode(lpad(g::text, 8, '0'), 'escape') FROM generate_series(1, 10) g`,
    );
    const opened = await openPgTable({ url: server.url, table, column: "payload" });
    const counters = new JobCounters();
    const store = new PgStore(
      { table: opened, counters },
      { headerReadBytes: 4096 },
      { maxRows: 10, windowMs: 600_000 },
    );
    try {
      const ref = (id: number): RowObjectRef => ({
        kind: "row",
        table,
        keyColumn: "id",
        column: "payload",
        key: String(id),
      });
      const heads = await Promise.all(Array.from({ length: 10 }, (_, i) => store.readHead(ref(i + 1))));
      const settled = await Promise.allSettled(
        heads.map((head, i) =>
          store.replaceWhole(
            planOf(ref(i + 1), head.etag as string),
            (async function* () {
              await during(i + 1);
              yield Buffer.from(`rewritten ${i + 1}`);
            })(),
          ),
        ),
      );
      return { settled, counters, after: await values(table) };
    } finally {
      await opened.close();
    }
  }

  it("a batch where only some rows raced: those rows are conflicts keeping the application's values, the rest of the batch is written", async () => {
    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    const raced = new Set([3, 7]);
    try {
      const { settled, counters, after } = await writeTenInOneBatch("batch_raced", async (id) => {
        if (raced.has(id))
          await other.query("UPDATE batch_raced SET payload = $1 WHERE id = $2", [
            Buffer.from(`theirs ${id}`),
            id,
          ]);
      });
      // One statement for the ten rows: the writes were batched.
      expect(counters.requests.byOperation["postgres:UPDATE"]).toBe(1);
      for (let id = 1; id <= 10; id++) {
        const r = settled[id - 1] as PromiseSettledResult<unknown>;
        if (raced.has(id)) {
          expect(r.status).toBe("rejected");
          expect(((r as PromiseRejectedResult).reason as JobError).code).toBe("ERR_JOB_CONFLICT");
          expect(after.get(String(id))).toEqual(Buffer.from(`theirs ${id}`));
        } else {
          expect(r.status).toBe("fulfilled");
          expect(after.get(String(id))).toEqual(Buffer.from(`rewritten ${id}`));
        }
      }
    } finally {
      await other.end();
    }
  });

  it("a batch one row of which the database refuses for good: that row fails in one line, unretried; the others are written", async () => {
    await db.query(`CREATE FUNCTION refuse_row_4() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 4 THEN RAISE EXCEPTION 'row 4 is frozen'; END IF; RETURN NEW; END $$`);
    const { settled, counters, after } = await writeTenInOneBatch("batch_refused", async (id) => {
      if (id === 1)
        await db.query(
          "CREATE TRIGGER frozen BEFORE UPDATE ON batch_refused FOR EACH ROW EXECUTE FUNCTION refuse_row_4()",
        );
    });
    // The batch failed as a whole, then each row ran on its own: 1 + 10 statements, no retry.
    expect(counters.requests.byOperation["postgres:UPDATE"]).toBe(11);
    expect(counters.requests.retries["postgres:UPDATE"]).toBeUndefined();
    for (let id = 1; id <= 10; id++) {
      const r = settled[id - 1] as PromiseSettledResult<unknown>;
      if (id === 4) {
        const error = (r as PromiseRejectedResult).reason as JobError;
        expect(error.code).toBe("ERR_JOB_DATABASE");
        expect(error.message).toBe("UPDATE on batch_refused failed: row 4 is frozen (SQLSTATE P0001)");
        expect(after.get("4")).toEqual(Buffer.from("00000004"));
      } else {
        expect(r.status).toBe("fulfilled");
        expect(after.get(String(id))).toEqual(Buffer.from(`rewritten ${id}`));
      }
    }
  });

  // Deterministic: another connection holds a row lock, so the job's batch UPDATE of that row is
  // certainly in flight (waiting on the lock) when every backend of the job is terminated.
  it("the job's backends terminated mid-run (pg_terminate_backend): the queries are retried and every row is rewrapped", async () => {
    const key = await newKey();
    const rows = 200;
    const { plaintextOf } = await fill("killed", key, rows);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const locker = new pg.Client({ connectionString: server.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT id FROM killed WHERE id = 150 FOR UPDATE");
      const url = `${server.url}&application_name=rekey-killed`;
      const running = runJob(job("killed", { source: { ...source("killed"), url }, concurrency: 8 }));
      let terminated = 0;
      for (let polls = 0; terminated === 0; polls++) {
        if (polls > 3000) throw new Error("the job's UPDATE never waited on the row lock");
        const waiting = await db.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'rekey-killed' AND wait_event_type = 'Lock'",
        );
        if (waiting.rowCount === 0) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        const killed = await db.query<{ ok: boolean }>(
          "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'rekey-killed'",
        );
        terminated = killed.rows.filter((r) => r.ok).length;
      }
      await locker.query("ROLLBACK");
      const report = await running;
      expect(terminated).toBeGreaterThanOrEqual(1);
      expect(report.postgres.retries).toBeGreaterThanOrEqual(1);
      expect(report.outcomes.rewrapped).toBe(rows);
      expect(report.outcomes.failed + report.outcomes.conflict).toBe(0);
      const after = await values("killed");
      for (let id = 1; id <= rows; id++)
        expect((await open(key, after.get(String(id)) as Buffer)).equals(plaintextOf(id))).toBe(true);
    } finally {
      await locker.end();
    }
  });

  it("a stopped job resumes after the checkpoint's last key: finished rows are not read again", async () => {
    const key = await newKey();
    await fill("resumed", key, 300);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const checkpoint = join(await mkdtemp(join(tmpdir(), "rekey-pg-cp-")), "job.checkpoint");
    const stop = new AbortController();
    let seen = 0;
    const first = await runJob(
      job("resumed", {
        checkpoint,
        concurrency: 4,
        stopSignal: stop.signal,
        hooks: { onResult: () => (++seen === 100 ? stop.abort() : undefined) },
      }),
    );
    expect(first.interrupted).toBe(true);
    expect(first.outcomes.rewrapped).toBeGreaterThanOrEqual(100);
    expect(first.outcomes.rewrapped).toBeLessThan(300);
    const second = await runJob(job("resumed", { checkpoint }));
    expect(second.outcomes.current).toBe(0);
    expect(first.outcomes.rewrapped + second.outcomes.rewrapped).toBe(300);
    expect(second.outcomes.foreign).toBe(2);
  });

  it("a row condition (where) limits the job to the rows it holds for", async () => {
    const key = await newKey();
    await fill("filtered", key, 30);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const before = await values("filtered");
    const report = await runJob(job("filtered", { source: { ...source("filtered"), where: "id % 3 = 0" } }));
    expect(report.outcomes.rewrapped).toBe(10);
    expect(report.objects).toBe(10);
    const after = await values("filtered");
    for (let id = 1; id <= 30; id++)
      expect((after.get(String(id)) as Buffer).equals(before.get(String(id)) as Buffer)).toBe(id % 3 !== 0);
  });

  it("rekey plan and rewrap --postgres URL --table T --column C: the same job from the command line", async () => {
    const key = await newKey();
    const { plaintextOf } = await fill("cli_rows", key, 25);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const dir = await mkdtemp(join(tmpdir(), "rekey-pg-cli-"));
    const flags = ["--postgres", server.url, "--table", "cli_rows", "--column", "payload", "--json"];
    const plan = await runCliInProcess(aws, ["plan", ...flags, "--report", join(dir, "plan.json")]);
    expect(plan.exitCode).toBe(0);
    const planned = JSON.parse(await readFile(join(dir, "plan.json"), "utf8")) as {
      classes: Record<string, { objects: number }>;
    };
    expect(planned.classes["rewrap"]?.objects).toBe(25);

    const run = await runCliInProcess(aws, ["rewrap", ...flags, "--report", join(dir, "run.json")]);
    // The NULL and the foreign value are left alone and counted (foreign): exit 0, 2 with --strict.
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(await readFile(join(dir, "run.json"), "utf8")) as {
      outcomes: Record<string, number>;
    };
    expect(report.outcomes["rewrapped"]).toBe(25);
    expect(report.outcomes["foreign"]).toBe(2);
    const after = await values("cli_rows");
    for (let id = 1; id <= 25; id++)
      expect((await open(key, after.get(String(id)) as Buffer)).equals(plaintextOf(id))).toBe(true);
    const strict = await runCliInProcess(aws, ["rewrap", ...flags, "--strict"]);
    expect(strict.exitCode).toBe(2);
  });

  it("bin/rekey.js rewrap --postgres killed with SIGKILL mid-run, then resumed from --checkpoint: every row rewrapped once and decrypting", async () => {
    const key = await newKey();
    const rows = 600;
    const { plaintextOf } = await fill("cli_killed", key, rows);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const dir = await mkdtemp(join(tmpdir(), "rekey-pg-kill-"));
    const checkpoint = join(dir, "rows.checkpoint.jsonl");
    const args = [
      "rewrap",
      ...["--postgres", server.url, "--table", "cli_killed", "--column", "payload"],
      ...["--checkpoint", checkpoint, "--json", "--concurrency", "8"],
    ];
    // Kills after a pseudo-random number of finished rows (so there are kills however fast the
    // machine is); the last run goes to the end.
    const killAfter = [7, 61, 23, 140];
    let kills = 0;
    for (const [round, after] of killAfter.entries()) {
      const child = spawnCli(aws, [...args, "--report", join(dir, `kill-${round}.json`)], { launcher: true });
      const outcome = await Promise.race([
        child.exited.then((code) => ({ code })),
        child.waitForLines(/"event":"object"/, after).then(() => undefined),
      ]);
      if (outcome) throw new Error(`run ${round} ended (${outcome.code}) before its kill: ${child.stderr()}`);
      child.process.kill("SIGKILL");
      expect(await child.exited).toBe("SIGKILL");
      kills++;
    }
    const last = spawnCli(aws, [...args, "--report", join(dir, "last.json")], { launcher: true });
    // The NULL and the foreign row are left alone, which does not change the exit code.
    expect(await last.exited).toBe(0);
    expect(kills).toBe(killAfter.length);

    // The checkpoint holds every row once: rewrapped, or current for a row whose write landed
    // just before a kill (re-planned on resume and found on the new material, not rewritten).
    const [, second] = (await readFile(checkpoint, "utf8")).split("\n");
    const { snapshot } = JSON.parse(second as string) as {
      snapshot: { after?: string; counts: Record<string, number>; retry: unknown[] };
    };
    expect(snapshot.after).toBe(String(rows + 2));
    expect((snapshot.counts["rewrapped"] ?? 0) + (snapshot.counts["current"] ?? 0)).toBe(rows);
    expect(snapshot.counts["failed"] ?? 0).toBe(0);
    expect(snapshot.counts["conflict"] ?? 0).toBe(0);
    const after = await values("cli_killed");
    for (let id = 1; id <= rows; id++)
      expect((await open(key, after.get(String(id)) as Buffer)).equals(plaintextOf(id))).toBe(true);
    const again = await planJob(job("cli_killed"));
    expect(again.classes.current.objects).toBe(rows);
    expect(again.classes.rewrap.objects).toBe(0);
  }, 300_000);

  it.each([
    [
      "a socket directory that does not exist",
      "postgres://nobody@/postgres?host=/nonexistent-socket-dir",
      /cannot connect to PostgreSQL: connect ENOENT /,
    ],
    [
      "a database that does not exist",
      "",
      /cannot connect to PostgreSQL: database "no_such_db" does not exist \[ERR_JOB_SOURCE\]$/,
    ],
  ])("rekey rewrap --postgres with %s: exit 1, one line, nothing written", async (_name, given, line) => {
    const key = await newKey();
    await fill("bad_url_rows", key, 5).catch(() => undefined);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const before = await values("bad_url_rows");
    const url = given || server.url.replace("/postgres?", "/no_such_db?");
    const dir = await mkdtemp(join(tmpdir(), "rekey-pg-bad-"));
    const run = spawnCli(
      aws,
      [
        "rewrap",
        ...["--postgres", url, "--table", "bad_url_rows", "--column", "payload"],
        ...["--report", join(dir, "run.json")],
      ],
      { launcher: true },
    );
    expect(await run.exited).toBe(1);
    const stderr = run.stderr().trim().split("\n");
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toContain("[ERR_JOB_SOURCE]");
    expect(stderr[0]).toMatch(line);
    expect(run.lines).toEqual([]);
    // Refused before the job: no report, no row touched.
    expect(await readdir(dir)).toEqual([]);
    expect(await values("bad_url_rows")).toEqual(before);
  });

  it.each([
    [["rewrap", "--table", "t", "--column", "c"], /--table needs --postgres/],
    [["rewrap", "--postgres", "postgres://db/app", "--table", "t"], /--postgres needs --table and --column/],
    [
      ["rewrap", "--postgres", "postgres://db/app", "--table", "t", "--column", "c", "--dir", "."],
      /name exactly one source/,
    ],
  ])("rekey %j is a usage error", async (args, line) => {
    const run = await runCliInProcess(aws, args);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(line);
  });

  it("rekey rewrap --postgres on a missing table: exit 1 and one line", async () => {
    const run = await runCliInProcess(aws, [
      "rewrap",
      ...["--postgres", server.url, "--table", "no_such_table", "--column", "payload", "--json"],
      ...["--report", join(await mkdtemp(join(tmpdir(), "rekey-pg-cli-")), "run.json")],
    ]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/table "no_such_table" does not exist$/),
    ]);
  });

  /** [case, DDL, row insert ($1: a message), source, the line]. */
  const refusals: [string, string, string, Partial<PgTableSpec>, RegExp][] = [
    ["a missing table", "", "", { table: "r_missing" }, /^table "r_missing" does not exist$/],
    [
      "a missing column",
      "CREATE TABLE r_col (id int PRIMARY KEY, data bytea)",
      "INSERT INTO r_col VALUES (1, $1)",
      { table: "r_col" },
      /^table r_col has no column "payload"$/,
    ],
    [
      "a column of the wrong type",
      "CREATE TABLE r_type (id int PRIMARY KEY, payload integer, data bytea)",
      "INSERT INTO r_type VALUES (1, 5, $1)",
      { table: "r_type" },
      /^column payload of r_type is int4: it must be bytea, or text holding base64$/,
    ],
    [
      "a table without a primary key",
      "CREATE TABLE r_nopk (id int, payload bytea)",
      "INSERT INTO r_nopk VALUES (1, $1)",
      { table: "r_nopk" },
      /^table r_nopk has no primary key: name a unique NOT NULL column as the key column$/,
    ],
    [
      "a composite primary key",
      "CREATE TABLE r_comp (a int, b int, payload bytea, PRIMARY KEY (a, b))",
      "INSERT INTO r_comp VALUES (1, 1, $1)",
      { table: "r_comp" },
      /^table r_comp has a composite primary key \(2 columns\): name a unique NOT NULL column as the key column$/,
    ],
    [
      "a key column that is not unique",
      "CREATE TABLE r_dup (id int PRIMARY KEY, k int NOT NULL, payload bytea)",
      "INSERT INTO r_dup VALUES (1, 1, $1)",
      { table: "r_dup", keyColumn: "k" },
      /^key column k of r_dup has no unique index of its own: it may not name one row$/,
    ],
    [
      "a key column that may be NULL",
      "CREATE TABLE r_null (id int PRIMARY KEY, k int UNIQUE, payload bytea)",
      "INSERT INTO r_null VALUES (1, 1, $1)",
      { table: "r_null", keyColumn: "k" },
      /^key column k of r_null is not NOT NULL$/,
    ],
    [
      "a bad URL",
      "CREATE TABLE r_url (id int PRIMARY KEY, payload bytea)",
      "INSERT INTO r_url VALUES (1, $1)",
      { table: "r_url", url: "postgres://nobody@/postgres?host=/nonexistent-socket-dir" },
      /^cannot connect to PostgreSQL: connect ENOENT /,
    ],
    [
      "a row condition that does not apply",
      "CREATE TABLE r_where (id int PRIMARY KEY, payload bytea)",
      "INSERT INTO r_where VALUES (1, $1)",
      { table: "r_where", where: "no_such_column = 1" },
      /^the row condition does not apply to r_where: column "no_such_column" does not exist$/,
    ],
  ];
  it.each(refusals)(
    "%s is refused with one line and nothing written",
    async (_name, ddl, insert, spec, line) => {
      const key = await newKey();
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
      const table = String(spec.table);
      if (ddl) await db.query(ddl);
      if (insert) await db.query(insert, [await seal(key, Buffer.from("kept"))]);
      const snapshot = ddl ? (await db.query(`SELECT * FROM ${table}`)).rows : [];
      const error = await runJob(job(table, { source: { ...source(table), ...spec } })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(JobError);
      expect((error as JobError).code).toBe("ERR_JOB_SOURCE");
      expect((error as JobError).message).toMatch(line);
      if (ddl) expect((await db.query(`SELECT * FROM ${table}`)).rows).toEqual(snapshot);
    },
  );
});
