/**
 * `pnpm demo`: the whole story on the built-in emulator, with the real `rekey` commands.
 * An application writes records through an alias; the key rotates on demand; the plan shows what
 * is still on the old material; the job rewraps it; then a manual rotation by alias cutover (with a
 * preflight) to a new key, rewrapped again; finally every record is decrypted through the alias
 * alone. Nothing leaves this machine.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SingleBar } from "cli-progress";
import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { KmsKeyring, inspect } from "@rekey/core";
import { startLocalAws } from "@rekey/localstack";
import { buildProgram } from "@rekey/reencrypt/cli";
import { provision, RecordStore } from "./app-encrypt-decrypt/index.js";

const RECORDS = Number(process.env.REKEY_DEMO_RECORDS ?? 300);
const tty = process.stdout.isTTY === true;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[22m` : s);
const dim = (s: string): string => (tty ? `\x1b[2m${s}\x1b[22m` : s);
const green = (s: string): string => (tty ? `\x1b[32m${s}\x1b[39m` : s);

function step(n: number, title: string): void {
  console.log(`\n${bold(`${n}. ${title}`)}`);
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

const aws = await startLocalAws({ backend: "builtin", log: false });
const reports = await mkdtemp(join(tmpdir(), "rekey-demo-"));
try {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
  });
  console.log(bold("rekey demo — envelope encryption whose data follows key rotation"));
  console.log(dim(`Built-in AWS emulator (KMS + S3) at ${aws.endpoint}; nothing leaves this machine.`));

  step(1, `An application writes ${RECORDS} records to S3 through an alias`);
  const { alias, bucket, keyArn } = await provision(aws.kms, aws.s3, "rekey-demo");
  const store = new RecordStore(aws.s3, bucket, new KmsKeyring({ client: aws.kms, keyId: alias }));
  const bar = new SingleBar(
    { format: "   {bar} {value}/{total} records", hideCursor: true, noTTYOutput: false },
    undefined,
  );
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
  console.log(
    `   ${RECORDS} records in s3://${bucket}, each with its own data key from ${alias} (${keyArn})`,
  );
  await rekey(["inspect", `s3://${bucket}/acme/r-0.rkey`]);

  step(2, "The key is rotated on demand: new key material, same key");
  await rekey(["keys", "rotate", alias]);

  step(3, "Plan: which objects are still wrapped under the old material? (header reads only)");
  await rekey([
    "plan",
    "--source",
    `s3://${bucket}`,
    "--target",
    "current",
    "--report",
    join(reports, "plan-1.json"),
  ]);

  step(4, "Rewrap onto the current material: one KMS ReEncrypt per object, payload untouched");
  await rekey([
    "rewrap",
    "--source",
    `s3://${bucket}`,
    "--target",
    "current",
    "--report",
    join(reports, "run-1.json"),
  ]);

  step(5, "Manual rotation: move the alias to a new key after a preflight, then rewrap");
  await rekey([
    "alias",
    "cutover",
    alias,
    "--to",
    "new",
    "--source",
    `s3://${bucket}`,
    "--report",
    join(reports, "run-2.json"),
    "--table",
  ]);

  step(6, "Verify: every record decrypts through the alias alone, and sits under the new key");
  const now = await aws.kms.send(new DescribeKeyCommand({ KeyId: alias }));
  const newKeyArn = now.KeyMetadata?.Arn as string;
  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  let ok = 0;
  let underNew = 0;
  for (const o of listed.Contents ?? []) {
    const [tenant, file] = (o.Key as string).split("/") as [string, string];
    const id = file.replace(/\.rkey$/, "");
    const record = (await store.get(tenant, id)) as { id: number };
    if (`r-${record.id}` === id) ok++;
    if (inspect(await store.raw(tenant, id)).entries[0]?.keyArn === newKeyArn) underNew++;
  }
  console.log(`   ${green("✔")} ${ok}/${RECORDS} records decrypt through ${alias}`);
  console.log(`   ${green("✔")} ${underNew}/${RECORDS} are wrapped under ${newKeyArn}`);
  console.log(
    `   ${green("✔")} the old key ${keyArn} holds nothing any more and was left enabled for you to retire`,
  );
  if (ok !== RECORDS || underNew !== RECORDS) throw new Error("verification failed");
  console.log(`\nReports: ${reports}`);
  console.log(bold("Done."));
} catch (e) {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await aws.stop();
  if (process.exitCode === 1) await rm(reports, { recursive: true, force: true });
}
