/**
 * The re-encrypt job on the command line: `rekey plan`, `rekey rewrap`, `rekey reencrypt`.
 * Each resolves its target once and prints it, shows progress (a bar on a terminal, JSON lines
 * with `--output json`), writes the JSON report when `--report` names a file, prints a summary
 * and sets the exit code. The first
 * SIGINT stops taking new objects and lets those in flight finish (the checkpoint, report and
 * summary are written); a second one exits at once (see util/interrupt.ts).
 */
import type { Command } from "commander";
import { EXIT_CODES, type JobReport } from "../runner/job-report.js";
import type { JobContext } from "../runner/job-context.js";
import type { JobOptions, JobSource } from "../runner/job-options.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { PlanReport } from "../runner/plan-report.js";
import { planJob } from "../runner/plan-job.js";
import { runJob } from "../runner/run-job.js";
import type { TargetSummary } from "../runner/target-summary.js";
import { parseShard } from "../runner/shard.js";
import { describeCapabilities } from "../stores/s3/probe-store.js";
import { parseS3Url } from "../sources/source-spec.js";
import { filterOf, withFilterFlags, withStrictFlag, type FilterFlags } from "./job/filter-flags.js";
import { parseTargetSpec } from "../kms/target-spec.js";
import { replaceFile } from "../file-tools/atomic-output.js";
import { JobError } from "../errors.js";
import {
  withMultipartFlags,
  withWriteFlags,
  writeOptionsOf,
  type WriteSafetyFlags,
} from "./job/write-flags.js";
import { planSummary, runSummary } from "./job/job-summary.js";
import { startProgress, type JobProgress } from "./job/job-progress.js";
import { postgresSourceOf, withPostgresFlags, type PostgresFlags } from "./job/postgres-flags.js";
import { awsOptionsOf, collect, withAwsOptions, type AwsFlags } from "./util/aws-options.js";
import { processContext, type CliContext } from "./util/context.js";
import { interruptible } from "./util/interrupt.js";
import { wantsJson, withOutputOptions, writeLines, type OutputFlags } from "./util/output.js";
import { UsageError, wholeNumberArg } from "./util/usage-error.js";

/** The flags of the job commands, as commander parses them. */
export interface JobFlags
  extends AwsFlags, WriteSafetyFlags, Omit<OutputFlags, "table">, PostgresFlags, FilterFlags {
  readonly source?: string;
  readonly manifest?: string;
  readonly dir?: string;
  readonly manifestFormat?: string;
  readonly inventorySchema?: string;
  readonly manifestUrlEncoded?: boolean;
  readonly target: string;
  readonly fromKey?: string[];
  readonly olderThanMaterial?: boolean;
  readonly includeCurrent?: boolean;
  readonly mode?: string;
  readonly dryRun?: boolean;
  readonly concurrency: number;
  readonly kmsRps: number;
  readonly checkpoint?: string;
  readonly freshCheckpoint?: boolean;
  readonly report?: string;
  readonly verify: string;
  readonly progress?: boolean;
  readonly shard?: string;
}

const SOURCES_HELP = `
Sources (exactly one):
  --source s3://bucket/prefix   every object under the prefix (listing streamed)
  --manifest file.csv[.gz]      CSV lines bucket,key[,versionId] (or --manifest-format inventory)
  --dir path                    every file under a local directory
  --postgres URL --table T --column C [--key-column K] [--where SQL]
                                every row's value of a PostgreSQL column, in key order
  --include / --exclude GLOB    (not with --postgres) choose objects by key, or path below --dir:
                                a glob without "/" matches the last segment (*.tmp), one with "/"
                                the whole key (logs/**); excluded objects are never read

Targets:
  current            the current key material of each object's own key (after a rotation)
  alias:NAME         the key the alias points at now (after an alias cutover)
  key:ARN            one key

AWS Encryption SDK messages (format 1 and 2) are planned as class esdk, with their suite and
key ARNs. "rekey reencrypt" migrates them into rekey messages under the target: the ESDK decrypts
(KMS, limited to the message's key ARNs in the job's Region), signed messages are written only
after their signature verified, and the encryption context is kept except the ESDK's reserved
aws-crypto- keys (listed in the report). "rekey rewrap" cannot move them: it reports them (esdk,
exit code 2) and leaves them untouched. Messages without key commitment (ESDK 1.x) are skipped.

Endpoint and Region come from the usual AWS variables (AWS_REGION, AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_S3) or --region / --endpoint-url.`;

const PLAN_HELP = `${SOURCES_HELP}

Exit codes:
  0    planned (whatever the objects' classes: the plan reports them)
  1    the plan could not run (bad arguments, unknown bucket or target)
  130  interrupted (SIGINT)`;

const RUN_HELP = `${SOURCES_HELP}

Writes: files are rewritten via a temporary file and a rename; rows with compare-and-swap
(UPDATE ... WHERE key = $1 AND C = $old). Before its first write to a bucket the job probes,
under --probe-prefix, whether the store honours If-Match / If-None-Match (PutObject,
CompleteMultipartUpload, GetObject) and has UploadPartCopy; it never writes to a store that
ignores conditional writes unless --writers-stopped says every other writer is stopped.

Exit codes:
  0    every object is on the target (rewrapped, reencrypted or current); objects that are not
       rekey or ESDK messages (foreign) are left alone and counted, and do not change the code
  1    the job could not run (bad arguments, unknown bucket or target, checkpoint of another job:
       use another file or --fresh-checkpoint)
  2    some objects are not on the target: conflict, esdk (run reencrypt), unreadable, skipped,
       bad manifest lines; foreign too with --strict (--exclude leaves such objects out unread)
  3    some objects failed (KMS refused, S3 kept failing); a re-run retries them
  4    the store does not honour conditional writes (If-Match ignored), or its probe could not
       run: nothing was written there (see --writers-stopped, --probe-prefix)
  5    stopped early: the same permanent KMS error on the same key hit --max-key-failures
       objects in a row; the objects not tried are left for a re-run
  130  interrupted (SIGINT); with --checkpoint, the same command resumes`;

/** The flags every job command has: source, target, filters, rate, shard, report, output. */
function commonOptions(command: Command, kind: "plan" | "run"): Command {
  withPostgresFlags(withAwsOptions(command))
    .option("--source <s3url>", "objects under s3://bucket/prefix")
    .option("--manifest <file>", "objects listed in a CSV manifest (bucket,key[,versionId]); .gz is read too")
    .option("--dir <path>", "files under a local directory")
    .option("--manifest-format <format>", "csv or inventory (S3 Inventory CSV)", "csv")
    .option(
      "--inventory-schema <schema>",
      'the inventory fileSchema, e.g. "Bucket, Key, VersionId, IsLatest, IsDeleteMarker"',
    )
    .option("--manifest-url-encoded", "manifest keys are URL-encoded (S3 Batch Operations manifests)");
  withFilterFlags(command)
    .option("--target <target>", "current | alias:NAME | key:ARN", "current")
    .option("--from-key <arn>", "only move entries under this key ARN (repeatable)", collect)
    .option("--older-than-material", "only move entries whose key material is not their key's current one")
    .option("--concurrency <n>", "objects in flight", wholeNumberArg("--concurrency", 1, 1024), 16)
    .option(
      "--kms-rps <n>",
      kind === "plan"
        ? "KMS requests per second a run would be held to, for the time estimate (0: no cap)"
        : "KMS requests per second for the whole job (0: no cap)",
      wholeNumberArg("--kms-rps", 0, 1_000_000),
      1000,
    )
    .option(
      "--verify <level>",
      kind === "plan"
        ? "the verification a run would do, for the request estimate: etag, header or full"
        : "etag: S3's MD5 of a single PUT proves the write, else read the header back; header: always read it back; full: also decrypt and compare SHA-256",
      "etag",
    )
    .option("--shard <i/n>", "only the i-th of n shares of the objects (split a job across workers)")
    .option("--report <file>", "also write the JSON report to this file (none is written otherwise)")
    .option("--no-progress", "no progress bar on a terminal");
  return withOutputOptions(command, "JSON lines on stdout: events, then the report", {
    legacyTable: false,
  }).addHelpText("after", kind === "plan" ? PLAN_HELP : RUN_HELP);
}

/** The flags of the commands that run the job: writes, dry run, checkpoint, --strict. */
function runOptions(command: Command): Command {
  return withStrictFlag(withWriteFlags(commonOptions(command, "run")))
    .option("--dry-run", "plan only: read headers and report, write nothing")
    .option(
      "--checkpoint <file>",
      "JSONL checkpoint: finished objects are skipped when the command runs again",
    )
    .option(
      "--fresh-checkpoint",
      "start the --checkpoint file over (a checkpoint written with other settings is refused otherwise)",
    );
}

/**
 * Registers `plan`, `rewrap` and `reencrypt`. Each command's help lists the flags it uses:
 * `plan` has no write, checkpoint or exit-code flags.
 *
 * @example
 * ```ts
 * registerJobCommands(program); // rekey rewrap --source s3://data/ --target current
 * ```
 */
export function registerJobCommands(program: Command, ctx: CliContext = processContext()): void {
  withMultipartFlags(
    commonOptions(
      program
        .command("plan")
        .description(
          "Read every object's header and report what a run would do (no writes): classes, keys, material, KMS calls, time",
        ),
      "plan",
    ),
  )
    .option("--mode <mode>", "rewrap or reencrypt", "rewrap")
    .action((flags: JobFlags) => jobAction(ctx, "plan", flags));
  runOptions(
    program
      .command("rewrap")
      .description(
        "Move every object's wrapped data key onto the target with one KMS ReEncrypt; the payload stays byte for byte",
      ),
  ).action((flags: JobFlags) => jobAction(ctx, "rewrap", flags));
  runOptions(
    program
      .command("reencrypt")
      .description(
        "Re-encrypt every object under a new data key wrapped by the target (streaming, constant memory); migrates AWS Encryption SDK messages",
      ),
  )
    .option("--include-current", "also re-encrypt objects already on the target (a leaked data key)")
    .action((flags: JobFlags) => jobAction(ctx, "reencrypt", flags));
}

/**
 * Parses the source flags.
 *
 * @example
 * ```ts
 * sourceOf({ source: "s3://data/2024/", target: "current" } as JobFlags); // { kind: "s3", bucket: "data", prefix: "2024/" }
 * ```
 */
export function sourceOf(flags: JobFlags): JobSource {
  const postgres = postgresSourceOf(flags);
  const given = [flags.source, flags.manifest, flags.dir, postgres].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw new UsageError(
      "name exactly one source: --source s3://bucket/prefix, --manifest FILE, --dir PATH or --postgres URL",
    );
  const filter = filterOf(flags);
  if (postgres) {
    if (Object.keys(filter).length > 0)
      throw new UsageError(
        "--include and --exclude apply to --source, --manifest and --dir, not to --postgres (use --where)",
      );
    return postgres;
  }
  if (flags.source !== undefined) {
    if (!flags.source.startsWith("s3://"))
      throw new UsageError(`--source takes s3://bucket/prefix, not "${flags.source}"`);
    const { bucket, prefix } = parseS3Url(flags.source);
    return { kind: "s3", bucket, ...(prefix ? { prefix } : {}), ...filter };
  }
  if (flags.manifest !== undefined) {
    const format = flags.manifestFormat ?? "csv";
    if (format !== "csv" && format !== "inventory")
      throw new UsageError(`--manifest-format is csv or inventory, not "${format}"`);
    return {
      kind: "manifest",
      path: flags.manifest,
      format,
      ...(flags.manifestUrlEncoded ? { urlEncodedKeys: true } : {}),
      ...(flags.inventorySchema ? { inventorySchema: flags.inventorySchema } : {}),
      ...filter,
    };
  }
  return { kind: "dir", path: flags.dir as string, ...filter };
}

/**
 * Builds the job options (clients included) from the flags.
 *
 * @example
 * ```ts
 * const options = jobOptionsOf(processContext(), "rewrap", flags);
 * ```
 */
export function jobOptionsOf(
  ctx: CliContext,
  command: "plan" | "rewrap" | "reencrypt",
  flags: JobFlags,
): JobOptions {
  const source = sourceOf(flags);
  const target = parseTargetSpec(flags.target);
  const mode = command === "plan" ? (flags.mode ?? "rewrap") : command;
  if (mode !== "rewrap" && mode !== "reencrypt")
    throw new UsageError(`--mode is rewrap or reencrypt, not "${mode}"`);
  if (flags.verify !== "header" && flags.verify !== "full" && flags.verify !== "etag")
    throw new UsageError(`--verify is header, etag or full, not "${flags.verify}"`);
  const concurrency = flags.concurrency;
  const rps = flags.kmsRps;
  const env = process.env;
  const aws = awsOptionsOf(flags);
  const kmsEndpoint = aws.endpointUrl ?? env["AWS_ENDPOINT_URL_KMS"] ?? env["AWS_ENDPOINT_URL"];
  const s3Endpoint = aws.endpointUrl ?? env["AWS_ENDPOINT_URL_S3"] ?? env["AWS_ENDPOINT_URL"];
  // The job retries (with its own backoff and rate limit) itself: one SDK attempt per request.
  const kms = ctx.kmsClient({ ...aws, ...(kmsEndpoint ? { endpointUrl: kmsEndpoint } : {}), maxAttempts: 1 });
  const s3 =
    source.kind === "dir" || source.kind === "postgres"
      ? undefined
      : ctx.s3Client({ ...aws, ...(s3Endpoint ? { endpointUrl: s3Endpoint } : {}), maxAttempts: 1 });
  return {
    kms,
    ...(s3 ? { s3 } : {}),
    source,
    target,
    mode,
    concurrency,
    kmsRps: rps === 0 ? Infinity : rps,
    verify: flags.verify,
    ...writeOptionsOf(flags),
    ...(flags.fromKey?.length ? { fromKeys: flags.fromKey } : {}),
    ...(flags.olderThanMaterial ? { olderThanMaterial: true } : {}),
    ...(flags.includeCurrent ? { includeCurrent: true } : {}),
    ...(flags.checkpoint && command !== "plan" && !flags.dryRun ? { checkpoint: flags.checkpoint } : {}),
    ...(flags.freshCheckpoint && command !== "plan" && !flags.dryRun ? { freshCheckpoint: true } : {}),
    ...(flags.shard ? { shard: parseShard(flags.shard) } : {}),
    ...(flags.strict ? { strict: true } : {}),
  };
}

async function jobAction(
  ctx: CliContext,
  command: "plan" | "rewrap" | "reencrypt",
  flags: JobFlags,
): Promise<void> {
  const dry = command === "plan" || flags.dryRun === true;
  let options: JobOptions;
  try {
    options = jobOptionsOf(ctx, command, flags);
  } catch (e) {
    if (e instanceof JobError) throw new UsageError(e.message);
    throw e;
  }
  const json = wantsJson(flags);
  let jobCtx: JobContext | undefined;
  const progress: JobProgress = startProgress({
    mode: json
      ? "json"
      : flags.progress !== false && ctx.stderr.isTTY === true
        ? "bar"
        : dry
          ? "none"
          : "lines",
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    counters: () => jobCtx?.counters,
  });
  // From here to the last line written, Ctrl-C stops the job gracefully; a second one exits at once.
  const span = interruptible(() =>
    progress.message("Stopping: no new objects; finishing those in flight (Ctrl-C again to exit at once)."),
  );
  try {
    const onTarget = (t: TargetSummary): void => {
      if (json) ctx.stdout.write(`${JSON.stringify({ event: "target", command, dryRun: dry, target: t })}\n`);
      else
        progress.message(
          `rekey ${command}${dry && command !== "plan" ? " --dry-run" : ""}: target ${t.description}` +
            (t.kmsScope ? `; entries under keys in ${t.kmsScope} are moved, others kept` : ""),
        );
    };
    const listeners = {
      onTarget,
      onContext: (c: JobContext) => (jobCtx = c),
      onPlan: (plan: ObjectPlan | undefined) => progress.planned(plan === undefined),
    };
    const run: JobOptions = {
      ...options,
      stopSignal: span.signal,
      onSourceEntry: (entry) => {
        if (entry.kind !== "invalid") progress.discovered();
      },
      onSourceEnd: () => progress.listed(),
      hooks: {
        onResult: (r) => progress.finished(r),
        onStoreProbed: (caps) => {
          if (json) ctx.stdout.write(`${JSON.stringify({ event: "store", ...caps })}\n`);
          else progress.message(`Store ${describeCapabilities(caps)}`);
        },
      },
    };
    let report: JobReport | PlanReport;
    try {
      report = dry ? await planJob(run, listeners) : await runJob(run, listeners);
    } finally {
      progress.stop();
    }
    // A report file only when asked for: nothing lands in the current folder unasked.
    const reportPath = flags.report;
    if (reportPath !== undefined) await replaceFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    if (json)
      ctx.stdout.write(
        `${JSON.stringify({ event: "report", ...(reportPath ? { reportPath } : {}), report })}\n`,
      );
    else
      writeLines(
        ctx.stdout,
        report.kind === "plan" ? planSummary(report, reportPath) : runSummary(report, reportPath),
      );
    if (report.interrupted && !json) {
      const resume = options.checkpoint
        ? `checkpoint ${options.checkpoint} is written: run the same command to resume.`
        : "no --checkpoint was given: a re-run plans every object again (objects already moved are found current and not rewritten).";
      ctx.stderr.write(`rekey: interrupted after ${report.objects} object(s); ${resume}\n`);
    }
    const code =
      report.kind === "run" ? report.exitCode : report.interrupted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
    ctx.setExitCode(code);
  } finally {
    span.end();
  }
}
