/**
 * `pnpm demo`: the whole story on the built-in emulator, with the real `rekey` commands.
 * A file is encrypted and decrypted from the shell, with a local AES key and with KMS; an
 * application writes records through an alias; the key rotates on demand; the plan shows what is
 * still on the old material; the job rewraps it; then a manual rotation by alias cutover (with a
 * preflight) to a new key, rewrapped again; finally every record is checked — it decrypts through
 * the alias alone and sits under the new key, nothing is left under the old one — and only then
 * is that said. Nothing leaves this machine. The working directory (files and the job reports) is
 * kept, and printed, whether the demo succeeds or fails.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SingleBar } from "cli-progress";
import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import { KmsKeyring, inspect } from "@rekey/core";
import { startLocalAws } from "@rekey/localstack";
import { buildProgram } from "@rekey/reencrypt/cli";
import { provision, RecordStore } from "./app-encrypt-decrypt/index.js";

const RECORDS = Number(process.env.REKEY_DEMO_RECORDS ?? 300);
if (!Number.isSafeInteger(RECORDS) || RECORDS < 1) {
  console.error(
    `REKEY_DEMO_RECORDS must be a whole number of at least 1, not "${process.env.REKEY_DEMO_RECORDS}"`,
  );
  process.exit(1);
}
const tty = process.stdout.isTTY === true;
const paint =
  (on: string, off: string) =>
  (s: string): string =>
    tty ? `\x1b[${on}m${s}\x1b[${off}m` : s;
const bold = paint("1", "22");
const dim = paint("2", "22");
const green = paint("32", "39");
const red = paint("31", "39");

function step(n: number, title: string): void {
  console.log(`\n${bold(`${n}. ${title}`)}`);
}

/** Prints a checked fact: ✔ when it holds, ✘ when not. Returns whether it holds. */
function check(holds: boolean, text: string): boolean {
  console.log(`   ${holds ? green("✔") : red("✘")} ${text}`);
  return holds;
}

/** Runs one `rekey` command in this process, printed as a shell line first. */
async function rekey(args: string[], allowExit: number[] = [0]): Promise<number> {
  console.log(dim(`$ rekey ${args.join(" ")}`));
  process.exitCode = 0;
  await buildProgram().parseAsync(["node", "rekey", ...args]);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  if (!allowExit.includes(code)) throw new Error(`rekey ${args[0]} exited with ${code}`);
  return code;
}

const started = performance.now();
const aws = await startLocalAws({ backend: "builtin", log: false });
const work = await mkdtemp(join(tmpdir(), "rekey-demo-"));
const kmsCalls = (): number => aws.faults?.calls("kms:*") ?? 0;
try {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
  });
  // Short relative paths in the commands shown.
  process.chdir(work);
  await mkdir("reports");
  console.log(bold("rekey demo — envelope encryption whose data follows key rotation"));
  console.log(dim(`Built-in AWS emulator (KMS + S3) at ${aws.endpoint}; nothing leaves this machine.`));
  const { alias, bucket, keyArn } = await provision(aws.kms, aws.s3, "rekey-demo");
  console.log(dim(`KMS key ${keyArn} behind ${alias}; bucket s3://${bucket}; files in ${work}`));

  step(1, "Encrypt and decrypt a file from the shell: with a local AES key, then with KMS");
  const note = Buffer.from("Quarterly numbers: revenue up, costs down. Do not forward.\n");
  await writeFile("note.txt", note);
  await writeFile("demo.key", `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  const beforeRaw = kmsCalls();
  await rekey([
    "encrypt",
    "note.txt",
    "-o",
    "note.raw.rkey",
    "--raw-key-file",
    "demo.key",
    "--context",
    "doc=q3",
  ]);
  await rekey([
    "decrypt",
    "note.raw.rkey",
    "-o",
    "note.raw.txt",
    "--raw-key-file",
    "demo.key",
    "--context",
    "doc=q3",
  ]);
  const rawCalls = kmsCalls() - beforeRaw;
  const rawOk = check(
    (await readFile("note.raw.txt")).equals(note) && rawCalls === 0,
    `note.raw.txt is note.txt again — raw AES key from demo.key, ${rawCalls} KMS calls`,
  );
  const beforeKms = kmsCalls();
  await rekey(["encrypt", "note.txt", "-o", "note.kms.rkey", "--key", alias, "--context", "doc=q3"]);
  await rekey(["decrypt", "note.kms.rkey", "-o", "note.kms.txt", "--key", alias, "--context", "doc=q3"]);
  const kmsOk = check(
    (await readFile("note.kms.txt")).equals(note),
    `note.kms.txt is note.txt again — data key from KMS through ${alias}, ${kmsCalls() - beforeKms} KMS calls`,
  );
  if (!rawOk || !kmsOk) throw new Error("a file did not decrypt to what was encrypted");

  step(2, `An application writes ${RECORDS} records to S3 through the alias`);
  const store = new RecordStore(aws.s3, bucket, new KmsKeyring({ client: aws.kms, keyId: alias }));
  const bar = new SingleBar({ format: "   {bar} {value}/{total} records", hideCursor: true, barsize: 24 });
  if (tty) bar.start(RECORDS, 0);
  for (let i = 0; i < RECORDS; i++) {
    await store.put(i % 3 === 0 ? "acme" : "globex", `r-${i}`, {
      id: i,
      balance: 1000 + i,
      note: "x".repeat(i % 50),
    });
    if (tty) bar.increment();
  }
  if (tty) bar.stop();
  console.log(`   ${RECORDS} records in s3://${bucket}, each with its own data key from ${alias}`);
  await rekey(["inspect", `s3://${bucket}/acme/r-0.rkey`]);

  step(3, "The key is rotated on demand: new key material, same key");
  await rekey(["keys", "rotate", alias, "--yes"]);

  step(4, "Plan: which objects are still wrapped under the old material? (header reads only)");
  await rekey([
    "plan",
    "--source",
    `s3://${bucket}`,
    "--target",
    "current",
    "--report",
    "reports/plan-1.json",
  ]);

  step(5, "Rewrap onto the current material: one KMS ReEncrypt per object, payload untouched");
  await rekey([
    "rewrap",
    "--source",
    `s3://${bucket}`,
    "--target",
    "current",
    "--report",
    "reports/run-1.json",
  ]);

  step(6, "Manual rotation: move the alias to a new key after a preflight, then rewrap");
  await rekey([
    "alias",
    "cutover",
    alias,
    "--to",
    "new",
    "--source",
    `s3://${bucket}`,
    "--report",
    "reports/run-2.json",
    "--yes",
  ]);

  step(7, "Verify every record: it decrypts through the alias alone, and sits under the new key");
  const newKeyArn = (await aws.kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn;
  let listed = 0;
  let decrypted = 0;
  let underNew = 0;
  let underOld = 0;
  for await (const { tenant, id } of store.list()) {
    listed++;
    const keys = inspect(await store.raw(tenant, id)).entries.map((e) => e.keyArn);
    if (keys.length > 0 && keys.every((k) => k === newKeyArn)) underNew++;
    if (keys.includes(keyArn)) underOld++;
    try {
      if (`r-${((await store.get(tenant, id)) as { id: number }).id}` === id) decrypted++;
    } catch {
      // counted as not decrypted: the check below fails and says how many
    }
  }
  const oldState = (await aws.kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata?.KeyState;
  const verified = [
    check(listed === RECORDS, `${listed}/${RECORDS} records listed in s3://${bucket}`),
    check(decrypted === RECORDS, `${decrypted}/${RECORDS} decrypt through ${alias}`),
    check(underNew === RECORDS, `${underNew}/${RECORDS} are wrapped under the new key ${newKeyArn}`),
    check(underOld === 0, `${underOld} are left under the old key ${keyArn}`),
    check(oldState === "Enabled", `the old key is ${oldState}: left for you to retire once nothing needs it`),
  ];
  if (verified.includes(false)) throw new Error("verification failed");

  console.log(`\nFiles and job reports: ${work}`);
  console.log(bold(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`));
} catch (e) {
  console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
  console.error(`Evidence kept in ${work} (files, job reports).`);
  process.exitCode = 1;
} finally {
  await aws.stop();
}
