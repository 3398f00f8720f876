/**
 * Re-encryption after a manual rotation. An application writes objects through an alias; the
 * team rotates manually — a new key, the alias moved to it (the classic way for keys KMS cannot
 * rotate itself, or to change key policy). New writes use the new key at once, but everything
 * written before still names the old key, which must stay enabled until that data moves. The
 * re-encrypt job moves it: one KMS ReEncrypt per object (the data key never leaves KMS), payload
 * bytes untouched, conditional writes, and a report that says when nothing is left under the old key.
 *
 * Run: `pnpm exec tsx --conditions=rekey-source examples/reencrypt-after-manual-rotation/index.ts`
 * (the built-in emulator; `shared/aws.ts` says how real AWS or another endpoint is chosen).
 */
import { CreateKeyCommand, UpdateAliasCommand } from "@aws-sdk/client-kms";
import { inspect, KmsKeyring } from "@rekey/core";
import { planJob, runJob, type JobReport, type PlanReport } from "@rekey/reencrypt";
import { cleanupCommands, connect, isMain, suffix, type ExampleOptions } from "../shared/aws.js";
import { provision, RecordStore } from "../app-encrypt-decrypt/index.js";

/** What the example found, for its test. */
export interface ManualRotationOutcome {
  readonly oldKeyArn: string;
  readonly newKeyArn: string;
  readonly plan: PlanReport;
  readonly run: JobReport;
  /** Key ARN of every object's wrapped key after the run. */
  readonly keysAfter: string[];
  /** Records read back through the alias after the run (no old key allowed). */
  readonly readBack: number;
}

export async function main(options: ExampleOptions = {}): Promise<ManualRotationOutcome> {
  const log = options.log ?? console.log;
  const count = options.count ?? 50;
  const aws = await connect(options.env);
  try {
    log(`Using ${aws.where}`);
    const {
      alias,
      bucket,
      keyArn: oldKeyArn,
    } = await provision(aws.kms, aws.s3, `rekey-manual-${suffix()}`, aws.created);
    const store = new RecordStore(aws.s3, bucket, new KmsKeyring({ client: aws.kms, keyId: alias }));
    for (let i = 0; i < count; i++)
      await store.put("acme", `r-${i}`, { n: i, note: "written before the rotation" });
    log(`Wrote ${count} records under ${oldKeyArn} through ${alias}`);

    // The manual rotation: a new key, and the alias moved to it.
    const created = await aws.kms.send(new CreateKeyCommand({ Description: "successor of the example key" }));
    const newKeyArn = created.KeyMetadata?.Arn as string;
    aws.created.keys.push(newKeyArn);
    await aws.kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: newKeyArn }));
    log(`Moved ${alias} to ${newKeyArn}; the old key stays enabled`);

    const source = { kind: "s3" as const, bucket };
    const target = `alias:${alias.slice("alias/".length)}`;
    const plan = await planJob({ kms: aws.kms, s3: aws.s3, source, target });
    log(`Plan: ${plan.classes.rewrap.objects} to rewrap, ${plan.classes.current.objects} already current`);
    const run = await runJob({ kms: aws.kms, s3: aws.s3, source, target });
    log(`Run: ${run.outcomes.rewrapped} rewrapped, ${run.kms.requests} KMS calls, exit code ${run.exitCode}`);

    const keysAfter: string[] = [];
    for await (const { tenant, id } of store.list())
      keysAfter.push(inspect(await store.raw(tenant, id)).entries[0]?.keyArn ?? "");
    // The alias alone (no allow-listed old key) now reads everything: nothing is left under the old key.
    let readBack = 0;
    for (let i = 0; i < count; i++) if ((await store.get("acme", `r-${i}`)) !== undefined) readBack++;
    log(
      `All ${readBack} records read back through ${alias}; objects under the old key: ${keysAfter.filter((k) => k === oldKeyArn).length}`,
    );
    return { oldKeyArn, newKeyArn, plan, run, keysAfter, readBack };
  } finally {
    for (const line of cleanupCommands(aws.target, aws.created)) log(line);
    await aws.close();
  }
}

if (isMain(import.meta.url)) await main();
