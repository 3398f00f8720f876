/**
 * Alias cutover with a preflight. The application reaches its key through an alias and an app
 * role named in the key policy. A manual rotation that moves the alias to a key whose policy
 * forgets that role is the classic outage: every Decrypt and GenerateDataKey of the app starts
 * failing with AccessDenied. `cutoverAlias` checks first — the target is enabled, symmetric and
 * usable, its policy lets in every principal the current key's policy and grants let in, the
 * account root statement is there — and changes nothing when a check fails. With `to: "new"` it
 * creates the successor with the old key's description, tags and policy and enables rotation,
 * moves the alias, then the re-encrypt job moves the stored data; the old key is never disabled.
 *
 * Run: `pnpm exec tsx --conditions=rekey-source examples/alias-cutover/index.ts` (the built-in
 * emulator; `shared/aws.ts` says how real AWS or another endpoint is chosen). On real AWS,
 * `REKEY_EXAMPLE_APP_ROLE` must be the ARN of an existing IAM role: KMS refuses a key policy
 * naming a principal that does not exist.
 */
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { KmsKeyring, inspect } from "@rekey/core";
import {
  KeyToolError,
  cutoverAlias,
  kmsAdminOf,
  runJob,
  type CutoverPreflight,
  type JobReport,
} from "@rekey/reencrypt";
import {
  cleanupCommands,
  connect,
  exampleTarget,
  isMain,
  suffix,
  type ExampleOptions,
} from "../shared/aws.js";
import { provision, RecordStore } from "../app-encrypt-decrypt/index.js";

/** What the example found, for its test. */
export interface CutoverOutcome {
  readonly oldKeyArn: string;
  /** The first attempt: a hand-made key without the app role. */
  readonly refused: { readonly error: string; readonly aliasStayedOn: string };
  readonly newKeyArn: string;
  readonly run: JobReport;
  /** Objects still wrapped under the old key after the run. */
  readonly underOldKey: number;
  readonly oldKeyState: string;
  readonly readBack: number;
}

/** A key policy: the account root (so IAM policies apply) plus the statements given. */
function policyOf(account: string, ...extra: object[]): string {
  const root = {
    Sid: "Enable IAM User Permissions",
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${account}:root` },
    Action: "kms:*",
    Resource: "*",
  };
  return JSON.stringify({ Version: "2012-10-17", Statement: [root, ...extra] });
}

function appStatement(role: string): object {
  return {
    Sid: "AppUse",
    Effect: "Allow",
    Principal: { AWS: role },
    Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
    Resource: "*",
  };
}

function checklist(p: CutoverPreflight, log: (line: string) => void): void {
  for (const c of p.checks) {
    log(`  [${c.status.toUpperCase()}] ${c.title}`);
    for (const d of c.details) log(`      ${d}`);
  }
}

async function aliasTarget(kms: KMSClient, alias: string): Promise<string> {
  return (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn as string;
}

export async function main(options: ExampleOptions = {}): Promise<CutoverOutcome> {
  const log = options.log ?? console.log;
  const count = options.count ?? 40;
  const env = options.env ?? process.env;
  const roleFromEnv = env["REKEY_EXAMPLE_APP_ROLE"];
  if (exampleTarget(env).kind === "aws" && !roleFromEnv)
    throw new Error(
      "on real AWS, set REKEY_EXAMPLE_APP_ROLE to the ARN of an existing IAM role (KMS refuses a key policy naming a role that does not exist)",
    );
  const aws = await connect(env);
  try {
    log(`Using ${aws.where}`);
    const {
      alias,
      bucket,
      keyArn: oldKeyArn,
    } = await provision(aws.kms, aws.s3, `rekey-cutover-${suffix()}`, aws.created);
    const account = oldKeyArn.split(":")[4] as string;
    const appRole = roleFromEnv ?? `arn:aws:iam::${account}:role/rekey-example-app`;
    await aws.kms.send(
      new PutKeyPolicyCommand({
        KeyId: oldKeyArn,
        PolicyName: "default",
        Policy: policyOf(account, appStatement(appRole)),
      }),
    );
    const store = new RecordStore(aws.s3, bucket, new KmsKeyring({ client: aws.kms, keyId: alias }));
    for (let i = 0; i < count; i++) await store.put("acme", `r-${i}`, { n: i });
    log(`Wrote ${count} records under ${oldKeyArn} through ${alias}; its policy lets in ${appRole}`);

    const admin = kmsAdminOf(aws.kms);

    // 1. A key made by hand with only the root statement: the preflight refuses it.
    const handMade = await aws.kms.send(
      new CreateKeyCommand({ Description: "hand-made successor", Policy: policyOf(account) }),
    );
    const handMadeArn = handMade.KeyMetadata?.Arn as string;
    log(`\nCutover of ${alias} to a hand-made key whose policy forgets the app role:`);
    let error = "";
    try {
      await cutoverAlias(admin, { alias, to: handMadeArn, onPreflight: (p) => checklist(p, log) });
    } catch (e) {
      if (!(e instanceof KeyToolError) || e.code !== "ERR_PREFLIGHT_FAILED") throw e;
      error = e.message;
    }
    const aliasStayedOn = await aliasTarget(aws.kms, alias);
    log(`Refused: ${error}. ${alias} still points at ${aliasStayedOn}`);
    // The refused key is of no use: schedule its deletion (the shortest waiting period).
    await aws.kms.send(new ScheduleKeyDeletionCommand({ KeyId: handMadeArn, PendingWindowInDays: 7 }));

    // 2. `to: "new"`: the successor gets the old key's policy, so the preflight passes.
    log(`\nCutover of ${alias} to a new key made from the old one:`);
    const source = { kind: "s3" as const, bucket };
    const result = await cutoverAlias(admin, {
      alias,
      to: "new",
      onPreflight: (p, phase) => {
        if (phase === "final") checklist(p, log);
      },
      onKeyCreated: (k) => {
        aws.created.keys.push(k.arn);
        log(`  created ${k.arn} (rotation enabled)`);
      },
      onAliasUpdated: (a, arn) => log(`  ${a} -> ${arn}`),
      rewrap: ({ alias: moved }) =>
        runJob({ kms: aws.kms, s3: aws.s3, source, target: `alias:${moved.slice("alias/".length)}` }),
    });
    const run = result.rewrap as JobReport;
    const old = run.bySourceKey[oldKeyArn];
    const underOldKey = old ? old.objects - (old.outcomes.rewrapped ?? 0) : 0;
    log(
      `Re-encrypt job: ${run.outcomes.rewrapped} rewrapped, ${run.kms.requests} KMS calls, exit code ${run.exitCode}`,
    );

    let readBack = 0;
    for (let i = 0; i < count; i++) {
      const raw = await store.raw("acme", `r-${i}`);
      if (
        inspect(raw).entries[0]?.keyArn === result.newKeyArn &&
        (await store.get("acme", `r-${i}`)) !== undefined
      )
        readBack++;
    }
    const oldKeyState = (await aws.kms.send(new DescribeKeyCommand({ KeyId: oldKeyArn }))).KeyMetadata
      ?.KeyState as string;
    log(
      `All ${readBack} records are under the new key and read back; ${underOldKey} left under the old key, which stays ${oldKeyState}`,
    );
    return {
      oldKeyArn,
      refused: { error, aliasStayedOn },
      newKeyArn: result.newKeyArn as string,
      run,
      underOldKey,
      oldKeyState,
      readBack,
    };
  } finally {
    for (const line of cleanupCommands(aws.target, aws.created)) log(line);
    await aws.close();
  }
}

if (isMain(import.meta.url)) await main();
