/**
 * Rewrap of records stored in a PostgreSQL column. An application encrypts one field of each
 * row with `@rekey/core` and keeps the message in a `bytea` column; after the KMS key rotates,
 * the re-encrypt job moves every row's wrapped data key onto the new key material — one KMS
 * ReEncrypt per row, the payload bytes untouched, each write a compare-and-swap on the value the
 * job read — and every row is then decrypted again and compared with what was written.
 *
 * Run against a PostgreSQL database named by `REKEY_EXAMPLE_POSTGRES_URL` (the README says how
 * to start a local cluster): `pnpm exec tsx --conditions=rekey-source examples/postgres-column-rewrap/index.ts`.
 * KMS is the built-in emulator unless `shared/aws.ts` picks another. The example makes its own
 * table and drops it at the end.
 */
import { CreateKeyCommand, DescribeKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { decrypt, encrypt, inspect, KmsKeyring } from "@rekey/core";
import { planJob, runJob, type JobReport, type PlanReport } from "@rekey/reencrypt";
import pg from "pg";
import { cleanupCommands, connect, isMain, suffix, type ExampleOptions } from "../shared/aws.js";

/** What the example found, for its test. */
export interface PostgresRewrapOutcome {
  readonly table: string;
  readonly keyArn: string;
  readonly plan: PlanReport;
  readonly run: JobReport;
  /** Key material of the rows' wrapped keys before and after the run (one id each, if reported). */
  readonly materialBefore: readonly string[];
  readonly materialAfter: readonly string[];
  /** The key's current material after the rotation (undefined on a backend that does not say). */
  readonly currentMaterial: string | undefined;
  /** Rows decrypted after the run whose plaintext is what the application wrote. */
  readonly decrypted: number;
  /** A second plan after the run: rows left to rewrap. */
  readonly leftToRewrap: number;
}

/** The variable naming the database. */
export const POSTGRES_URL_VARIABLE = "REKEY_EXAMPLE_POSTGRES_URL";

/** The card number the application stored in row `id`. */
const cardOf = (id: number): string => `4000 0000 0000 ${String(id).padStart(4, "0")}`;

export async function main(options: ExampleOptions = {}): Promise<PostgresRewrapOutcome> {
  const log = options.log ?? console.log;
  const count = options.count ?? 200;
  const env = options.env ?? process.env;
  const url = env[POSTGRES_URL_VARIABLE];
  if (!url)
    throw new Error(
      `set ${POSTGRES_URL_VARIABLE} to a PostgreSQL URL (see examples/postgres-column-rewrap/README.md)`,
    );
  const aws = await connect(env);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const table = `rekey_example_${suffix().replace(/-/g, "_")}`;
  try {
    log(`Using ${aws.where}; PostgreSQL table ${table}`);
    const created = await aws.kms.send(new CreateKeyCommand({ Description: "rekey PostgreSQL example" }));
    const keyArn = created.KeyMetadata?.Arn as string;
    aws.created.keys.push(keyArn);

    // The application: one encrypted field per row, the message as it is in a bytea column.
    await db.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, card bytea)`);
    const keyring = new KmsKeyring({ client: aws.kms, keyId: keyArn });
    for (let id = 1; id <= count; id++) {
      const { ciphertext } = await encrypt(Buffer.from(cardOf(id)), {
        keyring,
        encryptionContext: { table, id: String(id) },
      });
      await db.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [id, `customer ${id}`, ciphertext]);
    }
    const materialBefore = await materials(db, table);
    log(`Wrote ${count} rows; their wrapped keys are under ${keyArn}, material ${materialBefore.join(", ")}`);

    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyArn }));
    const currentMaterial = (await aws.kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata
      ?.CurrentKeyMaterialId;
    log(`Rotated ${keyArn}: new material ${currentMaterial ?? "(not reported)"}`);

    const source = { kind: "postgres" as const, url, table, column: "card" };
    const plan = await planJob({ kms: aws.kms, source, target: "current" });
    log(
      `Plan: ${plan.classes.rewrap.objects} rows to rewrap, ${plan.classes.current.objects} already current`,
    );
    const run = await runJob({ kms: aws.kms, source, target: "current" });
    log(
      `Run: ${run.outcomes.rewrapped} rewrapped, ${run.outcomes.conflict} conflicts, ` +
        `${run.kms.requests} KMS calls, ${run.postgres.byOperation["UPDATE"] ?? 0} UPDATE statements, exit code ${run.exitCode}`,
    );

    // Every row read back and decrypted: the application's data is intact.
    const materialAfter = await materials(db, table);
    let decrypted = 0;
    const reader = new KmsKeyring({ client: aws.kms, allowedKeyArns: [keyArn] });
    const rows = await db.query<{ id: string; card: Buffer }>(
      `SELECT id::text, card FROM ${table} ORDER BY id`,
    );
    for (const row of rows.rows) {
      const { plaintext } = await decrypt(row.card, {
        keyring: reader,
        requiredEncryptionContext: { table, id: row.id },
      });
      if (plaintext.toString() === cardOf(Number(row.id))) decrypted++;
    }
    const again = await planJob({ kms: aws.kms, source, target: "current" });
    log(
      `Checked: ${decrypted}/${count} rows decrypt to what was written; material now ${materialAfter.join(", ")}; ` +
        `${again.classes.rewrap.objects} left to rewrap`,
    );
    return {
      table,
      keyArn,
      plan,
      run,
      materialBefore,
      materialAfter,
      currentMaterial,
      decrypted,
      leftToRewrap: again.classes.rewrap.objects,
    };
  } finally {
    await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db.end();
    for (const line of cleanupCommands(aws.target, aws.created)) log(line);
    await aws.close();
  }
}

/** The distinct key material ids the rows' wrapped keys name. */
async function materials(db: pg.Client, table: string): Promise<string[]> {
  const seen = new Set<string>();
  const rows = await db.query<{ card: Buffer }>(`SELECT card FROM ${table}`);
  for (const row of rows.rows) seen.add(inspect(row.card).entries[0]?.keyMaterialId ?? "(not recorded)");
  return [...seen].sort();
}

if (isMain(import.meta.url)) await main();
