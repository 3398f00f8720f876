/**
 * `rekey batch-ops submit` and `rekey batch-ops status`: run the job on S3 Batch Operations
 * with the Lambda function of `deploy/batch-operations`. `submit` plans the source, uploads a
 * manifest of the objects that need work and creates the job (`--dry-run`: plans, writes the
 * manifest locally and prints the CreateJob request, sending nothing); `status` prints what
 * DescribeJob says.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { JobError } from "../errors.js";
import { parseS3Location, submitBatchJob, describeBatchJob } from "../batch-ops/submit-job.js";
import { settingsOfUserArguments } from "../batch-ops/job-settings.js";
import { jobOptionsOf, type JobFlags } from "./job-commands.js";
import { awsOptionsOf, collect, withAwsOptions, type AwsFlags } from "./util/aws-options.js";
import { processContext, type AwsClientOptions, type CliContext } from "./util/context.js";
import { wantsJson, withOutputOptions, writeJson, writeLines, type OutputFlags } from "./util/output.js";
import { UsageError, wholeNumberArg } from "./util/usage-error.js";

/** Makes the S3 Control client of a command. */
export type S3ControlFactory = (options: AwsClientOptions) => Pick<S3ControlClient, "send">;

const defaultControl: S3ControlFactory = (o) =>
  new S3ControlClient({ ...(o.region ? { region: o.region } : {}) });

interface SubmitFlags extends JobFlags {
  readonly accountId: string;
  readonly functionArn: string;
  readonly roleArn: string;
  readonly manifestUri: string;
  readonly reportUri: string;
  readonly manifestFile?: string;
  readonly priority: number;
  readonly description?: string;
}

/**
 * Registers `batch-ops submit` and `batch-ops status`.
 *
 * @example
 * ```ts
 * registerBatchOpsCommands(program); // rekey batch-ops submit --source s3://data/ --function-arn … --dry-run
 * ```
 */
export function registerBatchOpsCommands(
  program: Command,
  ctx: CliContext = processContext(),
  control: S3ControlFactory = defaultControl,
): void {
  const group = program
    .command("batch-ops")
    .description("Run the job on S3 Batch Operations with the Lambda function of deploy/batch-operations");
  const submit = withAwsOptions(
    group
      .command("submit")
      .description(
        "Plan the source, upload a manifest of the objects that need work and create the S3 Batch Operations job",
      ),
  )
    .option("--source <s3url>", "objects under s3://bucket/prefix")
    .option("--manifest <file>", "objects listed in a CSV manifest (bucket,key[,versionId])")
    .option("--manifest-format <format>", "csv or inventory (S3 Inventory CSV)", "csv")
    .option("--inventory-schema <schema>", "the inventory fileSchema")
    .option("--manifest-url-encoded", "manifest keys are URL-encoded")
    .option("--target <target>", "current | alias:NAME | key:ARN", "current")
    .option("--mode <mode>", "rewrap or reencrypt", "rewrap")
    .option("--from-key <arn>", "only move entries under this key ARN (repeatable)", collect)
    .option("--older-than-material", "only move entries whose key material is not their key's current one")
    .option("--include-current", "with --mode reencrypt, also objects already on the target")
    .option("--verify <level>", "etag, header or full (see rekey rewrap --help)", "etag")
    .option("--shard <i/n>", "only the i-th of n shares of the objects (one job per share)")
    .option(
      "--concurrency <n>",
      "headers read at once while planning",
      wholeNumberArg("--concurrency", 1, 1024),
      16,
    )
    .requiredOption("--account-id <id>", "the AWS account that runs the job")
    .requiredOption("--function-arn <arn>", "the Lambda function (stack output FunctionArn)")
    .requiredOption(
      "--role-arn <arn>",
      "the role S3 Batch Operations assumes (stack output BatchOperationsRoleArn)",
    )
    .requiredOption("--manifest-uri <s3url>", "where to upload the manifest, s3://bucket/key.csv")
    .requiredOption("--report-uri <s3url>", "bucket and prefix of the completion report, s3://bucket/prefix")
    .option("--manifest-file <file>", "local copy of the manifest (default: a file in the temp directory)")
    .option("--priority <n>", "job priority", wholeNumberArg("--priority", 0, 2_147_483_647), 10)
    .option("--description <text>", "job description")
    .option("--dry-run", "plan and write the manifest locally; print the CreateJob request; send nothing");
  withOutputOptions(submit, "one JSON document").action(async (flags: SubmitFlags) => {
    let submitted;
    try {
      if (!/^\d{12}$/.test(flags.accountId))
        throw new UsageError(`--account-id is a 12-digit account id, not "${flags.accountId}"`);
      const settings = settingsOfUserArguments({
        target: flags.target,
        mode: flags.mode ?? "rewrap",
        verify: flags.verify,
        ...(flags.fromKey?.length ? { fromKeys: flags.fromKey.join(",") } : {}),
        ...(flags.olderThanMaterial ? { olderThanMaterial: "true" } : {}),
        ...(flags.includeCurrent ? { includeCurrent: "true" } : {}),
      });
      const job = jobOptionsOf(ctx, "plan", { ...flags, kmsRps: 0 });
      submitted = await submitBatchJob({
        job,
        settings,
        accountId: flags.accountId,
        functionArn: flags.functionArn,
        roleArn: flags.roleArn,
        manifestLocation: parseS3Location(flags.manifestUri, "--manifest-uri"),
        reportLocation: parseS3Location(flags.reportUri, "--report-uri"),
        manifestFile: flags.manifestFile ?? join(tmpdir(), `rekey-batch-manifest-${Date.now()}.csv`),
        priority: flags.priority,
        ...(flags.description ? { description: flags.description } : {}),
        ...(flags.dryRun ? { dryRun: true } : {}),
        control: control(awsOptionsOf(flags)),
      });
    } catch (e) {
      if (e instanceof JobError && e.code === "ERR_JOB_INVALID_OPTION") throw new UsageError(e.message);
      throw e;
    }
    const { plan, manifest, request, jobId } = submitted;
    if (wantsJson(flags)) {
      writeJson(ctx.stdout, {
        dryRun: flags.dryRun === true,
        plan: { objects: plan.objects, classes: plan.classes, planFailures: plan.planFailures },
        manifest,
        request,
        ...(jobId ? { jobId } : {}),
      });
      return;
    }
    const lines = [
      `Planned ${plan.objects} object(s): ${Object.entries(plan.classes)
        .filter(([, s]) => s.objects > 0)
        .map(([c, s]) => `${c} ${s.objects}`)
        .join(", ")}`,
      `Manifest: ${manifest.lines} object(s) that need work, ${manifest.bytes} bytes, ${manifest.path}`,
    ];
    if (plan.planFailures > 0)
      lines.push(
        `${plan.planFailures} object(s) could not be planned (header read failed) and are not in the manifest: submit again, or run rekey rewrap, for them.`,
      );
    if (manifest.lines === 0) lines.push("Nothing to do: no job created.");
    else if (flags.dryRun) lines.push("Dry run: nothing uploaded, no job created. CreateJob request:");
    else lines.push(`Created S3 Batch Operations job ${jobId ?? "(no id answered)"}. Request:`);
    writeLines(ctx.stdout, lines);
    if (manifest.lines > 0) writeJson(ctx.stdout, request);
  });

  const status = withAwsOptions(group.command("status").description("What DescribeJob says of a job"))
    .argument("<job-id>", "the job id submit printed")
    .requiredOption("--account-id <id>", "the AWS account that runs the job");
  withOutputOptions(status, "one JSON document").action(
    async (jobId: string, flags: AwsFlags & OutputFlags & { accountId: string }) => {
      const job = await describeBatchJob(control(awsOptionsOf(flags)), flags.accountId, jobId);
      if (wantsJson(flags)) {
        writeJson(ctx.stdout, job);
        return;
      }
      const p = job.ProgressSummary;
      const lines = [
        `Job ${job.JobId ?? jobId}: ${job.Status ?? "?"}${job.StatusUpdateReason ? ` (${job.StatusUpdateReason})` : ""}`,
        `Tasks: ${p?.TotalNumberOfTasks ?? 0} total, ${p?.NumberOfTasksSucceeded ?? 0} succeeded, ${
          p?.NumberOfTasksFailed ?? 0
        } failed`,
      ];
      if (p?.Timers?.ElapsedTimeInActiveSeconds !== undefined)
        lines.push(`Active for ${p.Timers.ElapsedTimeInActiveSeconds} s`);
      for (const f of job.FailureReasons ?? [])
        lines.push(`Failure: ${f.FailureCode ?? ""} ${f.FailureReason ?? ""}`);
      const r = job.Report;
      if (r?.Enabled && r.Bucket)
        lines.push(
          `Completion report: s3://${r.Bucket.replace(/^arn:[^:]+:s3:::/, "")}/${r.Prefix ? `${r.Prefix}/` : ""}job-${
            job.JobId ?? jobId
          }/ (merge it with: rekey report merge FILE.csv ...)`,
        );
      writeLines(ctx.stdout, lines);
    },
  );
}
