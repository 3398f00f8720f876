/**
 * The job over a PostgreSQL column at scale: `REKEY_PG_ROWS` rows (10,000 in `pnpm test`, whose
 * time is budgeted; 100,000 with `REKEY_PG_ROWS=100000 pnpm vitest run
 * packages/reencrypt/test/pg-scale.integ.test.ts`) rewrapped after a rotation, and again after
 * an alias cutover, and every
 * row checked afterwards — it decrypts to its own plaintext, and after the cutover its KMS
 * entry names the new key. The rows share a few hundred messages (each encrypted on its own,
 * with its own data key) replicated by one `INSERT … SELECT`; every row is rewrapped on its own
 * all the same (one `ReEncrypt` per row) and decrypted on its own (one KMS `Decrypt` per row,
 * many at a time).
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import { decrypt, encrypt, KmsKeyring, parseMessagePrefix } from "@rekey/core";
import { useLocalAws } from "@rekey/localstack/vitest";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, type JobOptions } from "../src/index.js";
import { postgresBinDir, startPostgres, type TestPostgres } from "./helpers/postgres.js";

const aws = useLocalAws();
const bin = postgresBinDir();
const ROWS = Number(process.env["REKEY_PG_ROWS"] ?? 10_000);
/** Each test's budget, in proportion to the rows (a loaded 2-core machine did about 6 ms a row). */
const BUDGET_MS = 60_000 + ROWS * 30;
/** Distinct messages, each with its own data key; row i holds message i % MESSAGES. */
const MESSAGES = 300;
/** Rows read back per query while checking. */
const PAGE = 5000;
/** KMS Decrypt calls in flight while checking. */
const CHECKERS = 16;

let server: TestPostgres;
let db: pg.Client;

async function newKey(): Promise<string> {
  const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
  return KeyMetadata!.Arn!;
}

/** A table of ROWS rows, each one of MESSAGES messages encrypted under `keyId`. */
async function fill(table: string, keyId: string): Promise<Buffer[]> {
  await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, payload bytea NOT NULL)`);
  const keyring = new KmsKeyring({ client: aws.kms, keyId });
  const plaintexts = Array.from({ length: MESSAGES }, (_, i) =>
    Buffer.from(`row message ${i} ${randomBytes(24).toString("hex")}`),
  );
  const messages: Buffer[] = [];
  for (const p of plaintexts)
    messages.push((await encrypt(p, { keyring, encryptionContext: { table } })).ciphertext);
  await db.query(
    `INSERT INTO ${table} SELECT g, m.all[g % ${MESSAGES} + 1] FROM generate_series(1, ${ROWS}) AS g, (SELECT $1::bytea[] AS all) AS m`,
    [messages],
  );
  return plaintexts;
}

/**
 * Every row, page by page: `check(id, value)` for each, CHECKERS at a time. Returns the number
 * of rows checked.
 */
async function checkEveryRow(
  table: string,
  check: (id: number, value: Buffer) => Promise<void>,
): Promise<number> {
  let checked = 0;
  let after = 0;
  for (;;) {
    // Ordered by the bigint column, not by its text (`k`): 10 comes after 9.
    const page = await db.query<{ k: string; v: Buffer }>(
      `SELECT id::text AS k, payload AS v FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${PAGE}`,
      [after],
    );
    if (page.rows.length === 0) return checked;
    let next = 0;
    await Promise.all(
      Array.from({ length: CHECKERS }, async () => {
        while (next < page.rows.length) {
          const row = page.rows[next++] as { k: string; v: Buffer };
          await check(Number(row.k), row.v);
          checked++;
        }
      }),
    );
    after = Number((page.rows[page.rows.length - 1] as { k: string }).k);
  }
}

/** The KMS key ARNs a message's entries name (an `aws-kms` entry's first argument). */
function entryKeys(message: Buffer): string[] {
  const parsed = parseMessagePrefix(message);
  if (parsed.status !== "ok") throw new Error("row is shorter than its header");
  return parsed.value.entries.map((e) => `${e.type} ${e.args[0] ?? ""}`);
}

function job(table: string, extra: Partial<JobOptions>): JobOptions {
  return {
    kms: aws.createKmsClient({ maxAttempts: 1 }),
    source: { kind: "postgres", url: server.url, table, column: "payload" },
    target: "current",
    kmsRps: Infinity,
    concurrency: 32,
    ...extra,
  };
}

describe.skipIf(bin === undefined)(`${ROWS} PostgreSQL rows (needs initdb and pg_ctl)`, () => {
  beforeAll(async () => {
    server = await startPostgres(bin as string);
    db = new pg.Client({ connectionString: server.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it(
    `rotation → all ${ROWS} rows rewrapped, every one decrypting to its plaintext`,
    async () => {
      const key = await newKey();
      const plaintexts = await fill("rotated", key);
      const { rows: before } = await db.query<{ n: string }>(
        "SELECT count(DISTINCT payload)::text AS n FROM rotated",
      );
      expect(Number(before[0]?.n)).toBe(MESSAGES);
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));

      const report = await runJob(job("rotated", {}));
      expect(report.outcomes.rewrapped).toBe(ROWS);
      expect(report.objects).toBe(ROWS);
      expect(report.exitCode).toBe(0);
      expect(report.kms.byOperation["ReEncrypt"]).toBe(ROWS);
      expect(report.postgres.byOperation["UPDATE"]).toBeLessThan(ROWS);

      // Each row got its own ReEncrypt: no two rows share a value any more.
      const { rows: distinct } = await db.query<{ n: string }>(
        "SELECT count(DISTINCT payload)::text AS n FROM rotated",
      );
      expect(Number(distinct[0]?.n)).toBe(ROWS);
      const keyring = new KmsKeyring({ client: aws.kms, allowedKeyArns: [key] });
      const checked = await checkEveryRow("rotated", async (id, value) => {
        const { plaintext } = await decrypt(value, { keyring });
        if (!plaintext.equals(plaintexts[id % MESSAGES] as Buffer))
          throw new Error(`row ${id}: wrong plaintext`);
      });
      expect(checked).toBe(ROWS);
    },
    BUDGET_MS,
  );

  it(
    `alias cutover → all ${ROWS} rows rewrapped onto the new key, every one decrypting to its plaintext`,
    async () => {
      const oldKey = await newKey();
      const alias = `alias/pg-scale-${Date.now()}`;
      await aws.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: oldKey }));
      const plaintexts = await fill("cutover", alias);
      const newKey_ = await newKey();
      await aws.kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: newKey_ }));

      const report = await runJob(job("cutover", { target: `alias:${alias.slice("alias/".length)}` }));
      expect(report.outcomes.rewrapped).toBe(ROWS);
      expect(report.exitCode).toBe(0);

      // Only the new key may decrypt: a row still under the old key fails here.
      const keyring = new KmsKeyring({ client: aws.kms, allowedKeyArns: [newKey_] });
      const checked = await checkEveryRow("cutover", async (id, value) => {
        const keys = entryKeys(value);
        if (keys.length !== 1 || keys[0] !== `aws-kms ${newKey_}`)
          throw new Error(`row ${id}: entries name ${keys.join(", ")}`);
        const { plaintext } = await decrypt(value, { keyring });
        if (!plaintext.equals(plaintexts[id % MESSAGES] as Buffer))
          throw new Error(`row ${id}: wrong plaintext`);
      });
      expect(checked).toBe(ROWS);
    },
    BUDGET_MS,
  );
});
