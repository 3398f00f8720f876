/**
 * The data step of `rekey alias cutover`: the re-encrypt job (`runJob`, or `planJob` for
 * `--dry-run`) over each source, with the alias as target and the same progress display as
 * `rekey rewrap`, and what is left under the old key afterwards. The old key is never disabled
 * here. The summary says that nothing in the given sources still needs it only when that is
 * proven: every source was read to the end, and the job resolved the alias to the new key (an
 * alias read too early can still resolve to the old key — then every object would look
 * "already current" and nothing would move, so the run stops before touching any object).
 */
import type { KMSClient } from "@aws-sdk/client-kms";
import type { S3Client } from "@aws-sdk/client-s3";
import type { CutoverRewrapRequest } from "../../keys/cutover-alias.js";
import { KeyToolError } from "../../keys/errors.js";
import type { JobContext } from "../../runner/job-context.js";
import type { JobOptions, JobSource } from "../../runner/job-options.js";
import { runJob } from "../../runner/run-job.js";
import { planJob } from "../../runner/plan-job.js";
import type { JobReport } from "../../runner/job-report.js";
import type { PlanReport } from "../../runner/plan-report.js";
import type { TargetSummary } from "../../runner/target-summary.js";
import { SUCCESS_OUTCOMES, type ObjectOutcome } from "../../model/object-result.js";
import { parseS3Url } from "../../sources/source-spec.js";
import { startProgress } from "../job/job-progress.js";
import { replaceFile } from "../../file-tools/atomic-output.js";
import { interruptible } from "./interrupt.js";
import { excludedLine } from "../job/job-summary.js";
import { writeOptionsOf, type WriteSafetyFlags } from "../job/write-flags.js";
import { filterOf, type FilterFlags } from "../job/filter-flags.js";
import { describeCapabilities } from "../../stores/s3/probe-store.js";
import type { AwsClientOptions, CliContext } from "./context.js";
import { writeLines } from "./output.js";
import { UsageError, parseWholeNumber } from "./usage-error.js";

/** The job flags of `alias cutover` (source flags as `rekey rewrap` names them, repeatable). */
export interface CutoverRewrapFlags extends WriteSafetyFlags, FilterFlags {
  readonly source: string[];
  readonly manifest: string[];
  readonly dir: string[];
  readonly checkpoint?: string;
  readonly concurrency?: string;
  readonly kmsRps?: string;
  readonly report?: string;
}

/** The job's outcome over every source. */
export interface CutoverRewrapOutcome {
  readonly kind: "plan" | "run";
  /** One report per source, in order (fewer than the sources when a run was interrupted). */
  readonly reports: readonly { readonly source: string; readonly report: PlanReport | JobReport }[];
  /**
   * Objects of the given sources still under the old key after the run (a plan: that would
   * move) — under any key but the new one when the old key is not known (a re-run without a
   * record). Absent when a run cannot tell: it was interrupted before every source was read.
   */
  readonly underOldKey?: number;
  /** The largest exit code of the runs (see the job's exit codes); 0 for a plan. */
  readonly exitCode: number;
  /** True when every run ended with exit code 0. */
  readonly ok: boolean;
}

/** The job flags of `alias cutover` that mean nothing with `--no-rewrap`. */
const CUTOVER_JOB_FLAGS = [
  ["source", "--source"],
  ["manifest", "--manifest"],
  ["dir", "--dir"],
  ["checkpoint", "--checkpoint"],
  ["concurrency", "--concurrency"],
  ["kmsRps", "--kms-rps"],
  ["report", "--report"],
  ["include", "--include"],
  ["exclude", "--exclude"],
  ["strict", "--strict"],
  ["multipartThreshold", "--multipart-threshold"],
  ["copyPartSize", "--copy-part-size"],
  ["uploadPartSize", "--upload-part-size"],
  ["writersStopped", "--writers-stopped"],
  ["probePrefix", "--probe-prefix"],
  ["maxKeyFailures", "--max-key-failures"],
] as const satisfies readonly (readonly [keyof CutoverRewrapFlags, string])[];

/**
 * The job flags given, as typed on the command line (`--source`, …).
 *
 * @example
 * ```ts
 * givenJobFlags({ source: ["s3://b/"], manifest: [], dir: [] }); // ["--source"]
 * ```
 */
export function givenJobFlags(flags: CutoverRewrapFlags): string[] {
  return CUTOVER_JOB_FLAGS.filter(([key]) => {
    const v = flags[key];
    return Array.isArray(v) ? v.length > 0 : v !== undefined;
  }).map(([, flag]) => flag);
}

/**
 * The sources of a cutover: every `--source s3://bucket/prefix`, `--manifest FILE` (CSV
 * `bucket,key[,versionId]`) and `--dir PATH`, in that order.
 *
 * @throws UsageError for a `--source` that is not an `s3://` URL.
 * @example
 * ```ts
 * cutoverSources({ source: ["s3://data/invoices/"], manifest: [], dir: [] });
 * // [{ text: "s3://data/invoices/", source: { kind: "s3", bucket: "data", prefix: "invoices/" } }]
 * ```
 */
export function cutoverSources(
  flags: Pick<CutoverRewrapFlags, "source" | "manifest" | "dir" | "include" | "exclude">,
): { text: string; source: JobSource }[] {
  const filter = filterOf(flags);
  return [
    ...flags.source.map((text) => {
      if (!text.startsWith("s3://")) throw new UsageError(`--source takes s3://bucket/prefix, not "${text}"`);
      const { bucket, prefix } = parseS3Url(text);
      return { text, source: { kind: "s3", bucket, ...(prefix ? { prefix } : {}), ...filter } as JobSource };
    }),
    ...flags.manifest.map((path) => ({
      text: `manifest ${path}`,
      source: { kind: "manifest", path, ...filter } as JobSource,
    })),
    ...flags.dir.map((path) => ({ text: path, source: { kind: "dir", path, ...filter } as JobSource })),
  ];
}

/** Options of {@link runCutoverRewrap}. */
export interface RunCutoverRewrapOptions {
  readonly request: CutoverRewrapRequest;
  readonly flags: CutoverRewrapFlags;
  /** The job's clients: it retries itself, so SDK clients with `maxAttempts: 1` are best. */
  readonly kms: KMSClient;
  readonly s3: (o?: AwsClientOptions) => S3Client;
  readonly json: boolean;
}

/**
 * Objects under the old key in one report: in a plan, those that would move; after a run, those
 * not moved. `oldKeyArn` undefined: under any key but `newKeyArn`.
 */
function countUnder(
  report: PlanReport | JobReport,
  newKeyArn: string | undefined,
  oldKeyArn: string | undefined,
): number {
  let n = 0;
  for (const [arn, stats] of Object.entries(report.bySourceKey)) {
    if (oldKeyArn !== undefined ? arn !== oldKeyArn : arn === newKeyArn) continue;
    if (report.kind === "plan") n += stats.objects;
    else {
      const outcomes = Object.entries((stats as JobReport["bySourceKey"][string]).outcomes);
      const moved = outcomes.reduce(
        (m, [o, c]) => (SUCCESS_OUTCOMES.has(o as ObjectOutcome) ? m + (c ?? 0) : m),
        0,
      );
      n += stats.objects - moved;
    }
  }
  return n;
}

/** "the old key ARN", or what is counted when the old key is not known. */
function oldKeyWords(request: CutoverRewrapRequest): string {
  return request.previousKeyArn ?? `a key other than ${request.newKeyArn ?? "the new key"}`;
}

/**
 * Runs (or plans) the job over every source, with a progress display, and prints a summary per
 * source and what is left under the old key.
 *
 * @throws KeyToolError `ERR_ALIAS_MISMATCH` when a run resolves the alias to another key than the
 *   new one; no object is touched then.
 * @example
 * ```ts
 * const out = await runCutoverRewrap(ctx, { request, flags, kms, s3: () => s3, json: false });
 * if (!out.ok) ctx.setExitCode(out.exitCode);
 * ```
 */
export async function runCutoverRewrap(
  ctx: CliContext,
  options: RunCutoverRewrapOptions,
): Promise<CutoverRewrapOutcome> {
  const { request, flags } = options;
  const sources = cutoverSources(flags);
  const concurrency =
    flags.concurrency === undefined
      ? undefined
      : parseWholeNumber(flags.concurrency, "--concurrency", 1, 1024);
  const kmsRps =
    flags.kmsRps === undefined ? undefined : parseWholeNumber(flags.kmsRps, "--kms-rps", 1, 100_000);
  const writeOptions = writeOptionsOf(flags);
  const needsS3 = sources.some((s) => s.source.kind !== "dir");
  const s3 = needsS3 ? options.s3() : undefined;
  // A dry run plans against the target key itself (the alias has not moved yet); a key still to
  // be created cannot be planned against, so the plan then only counts what is under the old key.
  const target = request.dryRun
    ? request.newKeyArn
      ? `key:${request.newKeyArn}`
      : "current"
    : `alias:${request.alias.slice("alias/".length)}`;
  const checkTarget = (t: TargetSummary): void => {
    if (request.dryRun || t.keyArn === request.newKeyArn) return;
    throw new KeyToolError(
      "ERR_ALIAS_MISMATCH",
      `the re-encrypt job resolved ${request.alias} to ${t.keyArn ?? "no key"}, not to ${request.newKeyArn}; ` +
        "no object was touched (KMS aliases are eventually consistent, or the alias was moved again): " +
        `run again with --to ${request.newKeyArn} to resume`,
    );
  };
  let stopping: ((line: string) => void) | undefined;
  const stop = interruptible(() =>
    stopping?.("Stopping: no new objects; finishing those in flight (Ctrl-C again to exit at once)."),
  );
  const reports: { source: string; report: PlanReport | JobReport }[] = [];
  try {
    for (const { text, source } of sources) {
      let jobCtx: JobContext | undefined;
      // A plan reads headers only and reports no finished objects: no display for it.
      const progress = startProgress({
        mode: options.json || request.dryRun ? "none" : ctx.stderr.isTTY === true ? "bar" : "lines",
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        counters: () => jobCtx?.counters,
      });
      stopping = (line) => progress.message(line);
      const jobOptions: JobOptions = {
        kms: options.kms,
        ...(s3 ? { s3 } : {}),
        source,
        target,
        stopSignal: stop.signal,
        onSourceEntry: (entry) => {
          if (entry.kind !== "invalid") progress.discovered();
        },
        onSourceEnd: () => progress.listed(),
        hooks: { onResult: (r) => progress.finished(r) },
        ...writeOptions,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(kmsRps === undefined ? {} : { kmsRps }),
        ...(flags.checkpoint && !request.dryRun ? { checkpoint: flags.checkpoint } : {}),
        ...(flags.strict ? { strict: true } : {}),
      };
      const listeners = { onTarget: checkTarget, onContext: (c: JobContext) => (jobCtx = c) };
      let report: PlanReport | JobReport;
      try {
        report = request.dryRun ? await planJob(jobOptions, listeners) : await runJob(jobOptions, listeners);
      } finally {
        progress.stop();
      }
      reports.push({ source: text, report });
      if (!options.json) writeLines(ctx.stdout, summarize(text, report, request));
      if (report.interrupted) break;
    }
  } finally {
    stop.end();
  }
  const kind = request.dryRun ? "plan" : "run";
  // Said only when proven: every source read to the end, each run on the new key.
  const proven =
    reports.length === sources.length &&
    reports.every(
      (r) =>
        !r.report.interrupted && (r.report.kind === "plan" || r.report.target.keyArn === request.newKeyArn),
    );
  const underOldKey = proven
    ? reports.reduce((n, r) => n + countUnder(r.report, request.newKeyArn, request.previousKeyArn), 0)
    : undefined;
  const exitCode = reports.reduce((c, r) => Math.max(c, r.report.kind === "run" ? r.report.exitCode : 0), 0);
  if (flags.report) await writeReport(flags.report, reports);
  if (!options.json && kind === "run") {
    const old = oldKeyWords(request);
    writeLines(ctx.stdout, [
      underOldKey === undefined
        ? `Interrupted before every object was read: objects of the given sources may still be under ${old}; run the same command again to resume.`
        : underOldKey === 0
          ? `No object of the given sources is left under ${old}.`
          : `${underOldKey} object(s) of the given sources are still under ${old}: it must stay enabled.`,
    ]);
  }
  return {
    kind,
    reports,
    ...(underOldKey === undefined ? {} : { underOldKey }),
    exitCode,
    ok: exitCode === 0,
  };
}

function summarize(source: string, report: PlanReport | JobReport, request: CutoverRewrapRequest): string[] {
  if (report.kind === "plan") {
    const lines = [`Plan for ${source} (target ${report.target.description}): ${report.objects} object(s)`];
    if (request.newKeyArn) {
      for (const [cls, s] of Object.entries(report.classes))
        if (s.objects > 0) lines.push(`  ${cls}: ${s.objects} object(s), ${s.bytes} bytes`);
    }
    if (request.previousKeyArn) {
      const old = report.bySourceKey[request.previousKeyArn];
      lines.push(
        `  under the old key ${request.previousKeyArn}: ${old?.objects ?? 0} object(s), ${old?.bytes ?? 0} bytes would move`,
      );
    } else {
      lines.push(
        `  under ${oldKeyWords(request)}: ${countUnder(report, request.newKeyArn, undefined)} object(s)`,
      );
    }
    return lines;
  }
  const moved = Object.entries(report.outcomes)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${o} ${n}`)
    .join(", ");
  return [
    `Re-encrypt job over ${source} (target ${report.target.description}): ${report.objects} object(s)${moved ? `: ${moved}` : ""}${report.interrupted ? " (interrupted)" : ""}`,
    ...report.stores.map((store) => `  store ${describeCapabilities(store)}`),
    ...(report.stopped ? [`  stopped: ${report.stopped.reason} [${report.stopped.code}]`] : []),
    ...(report.excluded > 0 ? [`  ${excludedLine(report.excluded)}`] : []),
    ...report.failures.slice(0, 20).map((f) => `  ${f.outcome}: ${f.object}: ${f.reason}`),
    ...report.notes.map((n) => `  note: ${n}`),
  ];
}

async function writeReport(
  path: string,
  reports: readonly { source: string; report: PlanReport | JobReport }[],
): Promise<void> {
  await replaceFile(path, `${JSON.stringify(reports, null, 2)}\n`);
}
