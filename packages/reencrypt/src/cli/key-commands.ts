/**
 * The key tooling of the `rekey` CLI: `keys audit` (with `--fix`), `keys terraform-check`
 * (also `rekey terraform-check`), `keys rotate`, `keys status`, and `alias cutover`.
 *
 * Exit codes: 0 clean; 2 findings (audit, terraform-check) — usable as a CI gate; 1 errors,
 * failed preflights and failed changes.
 */
import { EXIT_CODES } from "../errors.js";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { auditKeys, type AuditReport } from "../keys/audit-keys.js";
import { applyRotationFix } from "../keys/apply-rotation-fix.js";
import { checkTerraformPlan, parseTerraformPlan } from "../keys/check-terraform-plan.js";
import { withWriteFlags } from "./job/write-flags.js";
import { withFilterFlags, withStrictFlag } from "./job/filter-flags.js";
import {
  cutoverAlias,
  type CutoverChange,
  type CutoverRecord,
  type CutoverRewrapRequest,
} from "../keys/cutover-alias.js";
import { KeyToolError } from "../keys/errors.js";
import { keyRotationStatus } from "../keys/key-rotation-status.js";
import { kmsAdminOf } from "../keys/kms-admin.js";
import { planRotationFix } from "../keys/plan-rotation-fix.js";
import type { CutoverPreflight } from "../keys/preflight-cutover.js";
import { rotateAndWait } from "../keys/rotate-and-wait.js";
import { awsOptionsOf, collect, withAwsOptions, type AwsFlags } from "./util/aws-options.js";
import { processContext, type CliContext } from "./util/context.js";
import { wantsJson, withOutputOptions, writeJson, writeLines, type OutputFlags } from "./util/output.js";
import {
  renderAudit,
  renderFixPlan,
  renderPreflight,
  renderRotation,
  renderStatus,
  renderTerraform,
} from "./util/render-keys.js";
import { interruptible } from "./util/interrupt.js";
import { startSpinner } from "./util/spinner.js";
import { confirmChange } from "./util/confirm.js";
import { registerCreateKey } from "./create-key-command.js";
import { counted, plural } from "./util/plural.js";
import { UsageError, parseDuration, parseWholeNumber, wholeNumberArg } from "./util/usage-error.js";
import {
  cutoverSources,
  givenJobFlags,
  runCutoverRewrap,
  type CutoverRewrapFlags,
  type CutoverRewrapOutcome,
} from "./util/cutover-rewrap.js";
import { cutoverRecordPath, readCutoverRecord, writeCutoverRecord } from "./util/cutover-record.js";

interface AuditFlags extends AwsFlags, OutputFlags {
  readonly maxPeriodDays?: string;
  readonly graceDays: number;
  readonly asOf?: string;
  readonly key: string[];
  readonly fix?: boolean;
  readonly apply?: boolean;
  readonly rotationPeriodDays?: string;
  readonly concurrency: number;
  readonly yes?: boolean;
}

function parseAsOf(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (!Number.isFinite(d.getTime()))
    throw new UsageError(`--as-of must be a date (ISO 8601), not "${value}"`);
  return d;
}

function auditExitCode(report: AuditReport): number {
  if (report.summary.errors > 0) return EXIT_CODES.fatal;
  return report.summary.keysWithFindings > 0 ? EXIT_CODES.findings : 0;
}

async function auditAction(ctx: CliContext, flags: AuditFlags): Promise<void> {
  if (flags.apply && !flags.fix) throw new UsageError("--apply changes keys only together with --fix");
  if (flags.rotationPeriodDays !== undefined && !flags.fix)
    throw new UsageError("--rotation-period-days is used by --fix");
  const maxPeriodDays =
    flags.maxPeriodDays === undefined
      ? undefined
      : parseWholeNumber(flags.maxPeriodDays, "--max-period-days", 90, 2560);
  const rotationPeriodDays =
    flags.rotationPeriodDays === undefined
      ? undefined
      : parseWholeNumber(flags.rotationPeriodDays, "--rotation-period-days", 90, 2560);
  const now = parseAsOf(flags.asOf);
  const kms = kmsAdminOf(ctx.kmsClient(awsOptionsOf(flags)));
  const json = wantsJson(flags);
  const spinner = json ? undefined : startSpinner(ctx.stderr, "reading keys");
  let report: AuditReport;
  try {
    report = await auditKeys(kms, {
      graceDays: flags.graceDays,
      concurrency: flags.concurrency,
      ...(maxPeriodDays === undefined ? {} : { maxPeriodDays }),
      ...(now ? { now } : {}),
      ...(flags.key.length > 0 ? { keyIds: flags.key } : {}),
    });
  } finally {
    spinner?.stop();
  }
  if (!flags.fix) {
    if (json) writeJson(ctx.stdout, report);
    else writeLines(ctx.stdout, renderAudit(report));
    ctx.setExitCode(auditExitCode(report));
    return;
  }
  const plan = planRotationFix(report, rotationPeriodDays === undefined ? {} : { rotationPeriodDays });
  if (!flags.apply) {
    if (json) writeJson(ctx.stdout, { audit: report, fix: { applied: false, ...plan } });
    else writeLines(ctx.stdout, [...renderAudit(report), "", ...renderFixPlan(plan)]);
    ctx.setExitCode(auditExitCode(report));
    return;
  }
  if (plan.changes.length > 0)
    await confirmChange(
      ctx,
      flags.yes,
      `change the rotation of ${plan.changes.length} ${plural(plan.changes.length, "key")} (${plan.changes.map((c) => c.arn).join(", ")})`,
    );
  const results = await applyRotationFix(kms, plan, {
    onResult: (r) => {
      if (!json) ctx.stderr.write(`${r.status === "failed" ? "failed" : "changed"}: ${r.change.arn}\n`);
    },
  });
  if (json) writeJson(ctx.stdout, { audit: report, fix: { applied: true, ...plan, results } });
  else writeLines(ctx.stdout, [...renderAudit(report), "", ...renderFixPlan(plan, results)]);
  const failed = results.some((r) => r.status === "failed") || report.summary.errors > 0;
  ctx.setExitCode(failed ? EXIT_CODES.fatal : plan.manual.length > 0 ? EXIT_CODES.findings : 0);
}

interface TerraformFlags extends OutputFlags {
  readonly maxPeriodDays?: string;
  readonly includeUnchanged?: boolean;
}

async function readPlanText(ctx: CliContext, file: string): Promise<Buffer> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(Buffer.from(c as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeyToolError(
      "ERR_NOT_A_PLAN",
      `cannot read ${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message}`,
    );
  }
}

async function terraformAction(ctx: CliContext, file: string, flags: TerraformFlags): Promise<void> {
  const maxPeriodDays =
    flags.maxPeriodDays === undefined
      ? undefined
      : parseWholeNumber(flags.maxPeriodDays, "--max-period-days", 90, 2560);
  const plan = parseTerraformPlan(await readPlanText(ctx, file), file === "-" ? "stdin" : file);
  const result = checkTerraformPlan(plan, {
    ...(maxPeriodDays === undefined ? {} : { maxPeriodDays }),
    ...(flags.includeUnchanged ? { includeUnchanged: true } : {}),
  });
  if (wantsJson(flags)) writeJson(ctx.stdout, { file, ...result });
  else writeLines(ctx.stdout, renderTerraform(result, file));
  ctx.setExitCode(result.findings.length > 0 ? EXIT_CODES.findings : 0);
}

function terraformCommand(command: Command, ctx: CliContext): Command {
  command
    .description("Check a Terraform plan (terraform show -json) for aws_kms_key without rotation (CKV_AWS_7)")
    .argument("<plan>", "plan JSON file, or - for stdin")
    .option("--max-period-days <days>", "also flag rotation_period_in_days above this (90-2560)")
    .option("--include-unchanged", "also check keys the plan does not change");
  return withOutputOptions(command, "one JSON document").action((file: string, flags: TerraformFlags) =>
    terraformAction(ctx, file, flags),
  );
}

interface RotateFlags extends AwsFlags, OutputFlags {
  readonly timeout: string;
  readonly interval: string;
  readonly yes?: boolean;
  readonly dryRun?: boolean;
}

async function rotateAction(ctx: CliContext, key: string, flags: RotateFlags): Promise<void> {
  const timeoutMs = parseDuration(flags.timeout, "--timeout");
  const intervalMs = parseDuration(flags.interval, "--interval");
  const kms = kmsAdminOf(ctx.kmsClient(awsOptionsOf(flags)));
  const change = (arn: string) =>
    `rotate the key material of ${arn} now (RotateKeyOnDemand) and wait until it is current`;
  if (flags.dryRun) {
    // The dry run resolves the key, so it names the key an alias points at.
    const { arn } = await keyRotationStatus(kms, key);
    if (wantsJson(flags)) writeJson(ctx.stdout, { dryRun: true, keyArn: arn, change: "rotate-on-demand" });
    else writeLines(ctx.stdout, [`Dry run: would ${change(arn)}. Nothing was changed.`]);
    return;
  }
  await confirmChange(ctx, flags.yes, change(key));
  const spinner = startSpinner(ctx.stderr, `rotating ${key}`);
  const span = interruptible();
  let outcome;
  try {
    outcome = await rotateAndWait(kms, key, {
      timeoutMs,
      intervalMs,
      signal: span.signal,
      onProgress: (p) =>
        spinner.update(`waiting for the new key material of ${key} (${Math.round(p.elapsedMs / 1000)}s)`),
    });
  } catch (e) {
    if (e instanceof KeyToolError && e.code === "ERR_INTERRUPTED") ctx.setExitCode(EXIT_CODES.interrupted);
    throw e;
  } finally {
    spinner.stop();
    span.end();
  }
  if (wantsJson(flags)) writeJson(ctx.stdout, outcome);
  else writeLines(ctx.stdout, renderRotation(outcome));
}

async function statusAction(ctx: CliContext, key: string, flags: AwsFlags & OutputFlags): Promise<void> {
  const status = await keyRotationStatus(kmsAdminOf(ctx.kmsClient(awsOptionsOf(flags))), key);
  if (wantsJson(flags)) writeJson(ctx.stdout, status);
  else writeLines(ctx.stdout, renderStatus(status));
}

interface CutoverFlags extends AwsFlags, OutputFlags, CutoverRewrapFlags {
  readonly to: string;
  readonly dryRun?: boolean;
  readonly rewrap: boolean;
  readonly rotationPeriodDays?: string;
  readonly ignorePrincipal: string[];
  readonly yes?: boolean;
}

async function cutoverAction(ctx: CliContext, alias: string, flags: CutoverFlags): Promise<void> {
  const rotationPeriodDays =
    flags.rotationPeriodDays === undefined
      ? undefined
      : parseWholeNumber(flags.rotationPeriodDays, "--rotation-period-days", 90, 2560);
  if (!flags.rewrap) {
    const ignored = givenJobFlags(flags);
    if (ignored.length > 0)
      throw new UsageError(
        `--no-rewrap only moves the alias, so ${ignored.join(", ")} would do nothing: drop ${ignored.length === 1 ? "it" : "them"}, or drop --no-rewrap`,
      );
  } else if (cutoverSources(flags).length === 0) {
    throw new UsageError(
      "name the data to move with --source s3://bucket/prefix, --manifest FILE or --dir PATH (repeatable), or pass --no-rewrap to only move the alias",
    );
  }
  const json = wantsJson(flags);
  // Nobody can answer without a terminal: refused before any KMS call. On a terminal the
  // question comes once the preflight (and the plan of the data to move) has been shown.
  if (!flags.dryRun && flags.yes !== true && ctx.stdin.isTTY !== true)
    await confirmChange(
      ctx,
      false,
      `point ${alias} at ${flags.to === "new" ? "a new copy of its current key" : flags.to}${flags.rewrap ? " and rewrap the data under the old key" : ""}`,
    );
  const aws = awsOptionsOf(flags);
  const kms = kmsAdminOf(ctx.kmsClient(aws));
  const say = (lines: string[]): void => {
    if (!json) writeLines(ctx.stdout, lines);
  };
  const recordPath = flags.checkpoint ? cutoverRecordPath(flags.checkpoint) : undefined;
  const record = recordPath ? await readCutoverRecord(recordPath) : undefined;
  const preflights: { phase: string; preflight: CutoverPreflight }[] = [];
  try {
    const result = await cutoverAlias(kms, {
      alias,
      to: flags.to,
      dryRun: flags.dryRun ?? false,
      ignorePrincipals: flags.ignorePrincipal,
      ...(rotationPeriodDays === undefined ? {} : { rotationPeriodDays }),
      ...(record ? { record } : {}),
      ...(recordPath ? { onRecord: (r: CutoverRecord) => writeCutoverRecord(recordPath, r) } : {}),
      onResume: (r) =>
        say([
          r.state === "moved"
            ? `${r.alias} already points at ${r.keyArn}${record ? ` (recorded in ${recordPath})` : ""}: skipping the preflight and the alias move; ${flags.rewrap ? "resuming the rewrap" : "nothing to do"}.`
            : `${r.keyArn} was created by an earlier run (recorded in ${recordPath}): checking it and moving ${r.alias} to it instead of creating another key.`,
          "",
        ]),
      onPreflight: (preflight, phase) => {
        preflights.push({ phase, preflight });
        say([
          ...renderPreflight(
            preflight,
            phase === "before-create" ? "Preflight (before creating the new key)" : "Preflight",
          ),
          "",
        ]);
      },
      ...(flags.dryRun || flags.yes === true
        ? {}
        : {
            confirm: async (change: CutoverChange) => {
              let planned: CutoverRewrapOutcome | undefined;
              if (flags.rewrap) {
                // The plan of the data to move, shown before the question (no report file).
                const { report: _report, ...planFlags } = flags;
                planned = await runCutoverRewrap(ctx, {
                  request: { ...change, dryRun: true },
                  flags: planFlags,
                  kms: ctx.kmsClient({ ...aws, maxAttempts: 1 }),
                  s3: () => ctx.s3Client({ ...aws, maxAttempts: 1 }),
                  json,
                });
                say([""]);
              }
              await confirmChange(ctx, false, describeCutover(change, planned));
            },
          }),
      onKeyCreated: (k) =>
        say([
          `Created ${k.arn} (description, ${k.tags.length} tag(s) and policy copied; rotation every ${k.rotationPeriodDays} days)`,
          "",
        ]),
      onAliasUpdated: (a, arn) => say([`${a} now points at ${arn}`, ""]),
      ...(flags.rewrap
        ? {
            rewrap: (request: CutoverRewrapRequest) =>
              runCutoverRewrap(ctx, {
                request,
                flags,
                // The job retries with its own backoff and rate limit: one SDK attempt per request.
                kms: ctx.kmsClient({ ...aws, maxAttempts: 1 }),
                s3: () => ctx.s3Client({ ...aws, maxAttempts: 1 }),
                json,
              }),
          }
        : {}),
    });
    if (json) writeJson(ctx.stdout, { ...result, preflights });
    else if (flags.dryRun) say(["Dry run: nothing was changed."]);
    else
      say([
        result.previousKeyArn
          ? `The old key ${result.previousKeyArn} was left enabled; disable it only once nothing needs it.`
          : `The key ${result.alias} pointed at before was left as it was; disable it only once nothing needs it.`,
      ]);
    // The job's own exit codes (2 incomplete, 3 failed objects, 130 interrupted) carry through.
    if (result.rewrap && !result.rewrap.ok) ctx.setExitCode(result.rewrap.exitCode);
  } catch (e) {
    if (json) writeJson(ctx.stdout, { error: (e as Error).message, preflights });
    throw e;
  }
}

/** What a cutover is about to do, as its confirmation says it: keys, alias, objects planned. */
function describeCutover(c: CutoverChange, planned: CutoverRewrapOutcome | undefined): string {
  const old = c.previousKeyArn ?? "the key it points at now";
  const move = !c.moveAlias
    ? `resume the cutover of ${c.alias} (already on ${c.newKeyArn ?? "the new key"})`
    : c.createKey
      ? `create a new key copying ${old} and point ${c.alias} at it (now ${old})`
      : `point ${c.alias} at ${c.newKeyArn ?? "the target key"} (now ${old})`;
  if (!planned) return move;
  const objects = planned.reports.reduce((n, r) => n + r.report.objects, 0);
  const under = planned.underOldKey === undefined ? "" : `, ${planned.underOldKey} of them under the old key`;
  return `${move}, then rewrap the data of the given sources (${counted(objects, "object")} planned${under})`;
}

/**
 * Registers `keys …`, `alias cutover` and `terraform-check` on the program.
 *
 * @param ctx - Streams, exit code and AWS clients. @default the process's
 * @example
 * ```ts
 * const program = new Command("rekey").exitOverride();
 * registerKeyCommands(program);
 * await program.parseAsync(["node", "rekey", "keys", "audit", "--json"]);
 * ```
 */
export function registerKeyCommands(program: Command, ctx: CliContext = processContext()): void {
  const keys = program.command("keys").description("Create, audit, remediate and rotate KMS keys");

  const audit = withAwsOptions(
    keys
      .command("audit")
      .description("Audit the rotation of every KMS key; exit 2 on findings (a CI/compliance gate)")
      .option("--max-period-days <days>", "flag rotation periods longer than this (90-2560)")
      .option(
        "--grace-days <days>",
        "days past the period before material counts as overdue",
        wholeNumberArg("--grace-days", 0, 3650),
        7,
      )
      .option("--as-of <date>", "judge ages as of this date (ISO 8601) instead of now")
      .option("--key <key>", "audit only this key (id, ARN or alias); repeatable", collect, [])
      .option("--concurrency <n>", "keys read at once", wholeNumberArg("--concurrency", 1, 64), 4)
      .option("--fix", "show which keys would get automatic rotation, and how (dry run)")
      .option("--apply", "with --fix: change the keys, then read each back")
      .option(
        "--rotation-period-days <days>",
        "with --fix: the period to set (90-2560; default 365 or the maximum)",
      )
      .option("--yes", "with --fix --apply: change the keys without asking"),
  );
  withOutputOptions(audit, "one JSON document").action((flags: AuditFlags) => auditAction(ctx, flags));

  registerCreateKey(keys, ctx);
  terraformCommand(keys.command("terraform-check"), ctx);
  terraformCommand(program.command("terraform-check"), ctx);

  const rotate = withAwsOptions(
    keys
      .command("rotate")
      .description(
        "Rotate a key's material now (RotateKeyOnDemand) and wait until the new material is current",
      )
      .argument("<key>", "key id, key ARN, alias name or alias ARN")
      .option("--timeout <duration>", "give up after this long (90, 90s, 5m)", "5m")
      .option("--interval <duration>", "time between checks", "2s")
      .option("--yes", "rotate without asking")
      .option("--dry-run", "say what would be rotated; change nothing"),
  );
  withOutputOptions(rotate, "one JSON document").action((key: string, flags: RotateFlags) =>
    rotateAction(ctx, key, flags),
  );

  const status = withAwsOptions(
    keys
      .command("status")
      .description("Show a key's rotation settings and history")
      .argument("<key>", "key id, key ARN, alias name or alias ARN"),
  );
  withOutputOptions(status, "one JSON document").action((key: string, flags: AwsFlags & OutputFlags) =>
    statusAction(ctx, key, flags),
  );

  const alias = program.command("alias").description("Move aliases between keys (manual rotation)");
  const cutover = withStrictFlag(
    withWriteFlags(
      withFilterFlags(
        withAwsOptions(
          alias
            .command("cutover")
            .description(
              "Point an alias at another key after a preflight, then rewrap the data under the old key",
            )
            .argument("<alias>", "alias name (NAME, alias/NAME or alias ARN)")
            .requiredOption(
              "--to <key|new>",
              "the target key (id, ARN or alias), or new to create a copy of the current key",
            )
            .option(
              "--source <s3url>",
              "data to move: objects under s3://bucket/prefix; repeatable",
              collect,
              [],
            )
            .option(
              "--manifest <file>",
              "data to move: objects listed in a CSV manifest (bucket,key[,versionId]); repeatable",
              collect,
              [],
            )
            .option("--dir <path>", "data to move: files under a local directory; repeatable", collect, [])
            .option("--no-rewrap", "only move the alias; leave the data for a later rekey run")
            .option("--dry-run", "print the preflight and the re-encrypt plan; change nothing")
            .option(
              "--rotation-period-days <days>",
              "rotation period of a new key (default: the current key's, else 365)",
            )
            .option(
              "--ignore-principal <arn>",
              "report this principal's missing access as a warning; repeatable",
              collect,
              [],
            )
            .option(
              "--checkpoint <file>",
              "checkpoint of the re-encrypt job, and FILE.cutover.json of the cutover: the same command resumes",
            )
            .option("--concurrency <n>", "objects in flight in the re-encrypt job")
            .option("--kms-rps <n>", "KMS requests per second of the re-encrypt job")
            .option("--report <file>", "write the re-encrypt job's JSON report to this file")
            .option("--yes", "move the alias without asking"),
        ),
      ),
    ),
  );
  withOutputOptions(cutover, "one JSON document").action((name: string, flags: CutoverFlags) =>
    cutoverAction(ctx, name, flags),
  );
}
