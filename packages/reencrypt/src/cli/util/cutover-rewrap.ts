/**
 * The data step of `rekey alias cutover`: the re-encrypt job (`runJob`, or `planJob` for
 * `--dry-run`) over each `--source`, with the alias as target, and what is left under the old
 * key afterwards. The old key is never disabled here; the summary says when nothing in the given
 * sources still needs it.
 */
import { writeFile } from "node:fs/promises";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { S3Client } from "@aws-sdk/client-s3";
import type { CutoverRewrapRequest } from "../../keys/cutover-alias.js";
import type { JobOptions, JobSource } from "../../job/job-options.js";
import { runJob } from "../../job/run-job.js";
import { planJob } from "../../job/plan-job.js";
import type { JobReport } from "../../job/job-report.js";
import type { PlanReport } from "../../job/plan-report.js";
import { parseS3Url } from "../../sources/source-spec.js";
import type { AwsClientOptions, CliContext } from "./context.js";
import { writeLines } from "./output.js";
import { UsageError, parseWholeNumber } from "./usage-error.js";

/** The job flags of `alias cutover` (source flags as `rekey rewrap` names them, repeatable). */
export interface CutoverRewrapFlags {
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
  /** One report per `--source`, in order. */
  readonly reports: readonly { readonly source: string; readonly report: PlanReport | JobReport }[];
  /** Objects of the given sources that are still under the old key after the run (a plan: that would move). */
  readonly underOldKey: number;
  /** The largest exit code of the runs (see the job's exit codes); 0 for a plan. */
  readonly exitCode: number;
  /** True when every run ended with exit code 0. */
  readonly ok: boolean;
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
  flags: Pick<CutoverRewrapFlags, "source" | "manifest" | "dir">,
): { text: string; source: JobSource }[] {
  return [
    ...flags.source.map((text) => {
      if (!text.startsWith("s3://")) throw new UsageError(`--source takes s3://bucket/prefix, not "${text}"`);
      const { bucket, prefix } = parseS3Url(text);
      return { text, source: { kind: "s3", bucket, ...(prefix ? { prefix } : {}) } as JobSource };
    }),
    ...flags.manifest.map((path) => ({
      text: `manifest ${path}`,
      source: { kind: "manifest", path } as JobSource,
    })),
    ...flags.dir.map((path) => ({ text: path, source: { kind: "dir", path } as JobSource })),
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

function countUnder(report: PlanReport | JobReport, keyArn: string, kind: "plan" | "run"): number {
  const stats = report.bySourceKey[keyArn];
  if (!stats) return 0;
  if (kind === "plan") return stats.objects;
  const o = (stats as JobReport["bySourceKey"][string]).outcomes;
  return stats.objects - (o.rewrapped ?? 0) - (o.reencrypted ?? 0) - (o.current ?? 0);
}

/**
 * Runs (or plans) the job over every source and prints a summary per source.
 *
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
  const needsS3 = sources.some((s) => s.source.kind !== "dir");
  const s3 = needsS3 ? options.s3() : undefined;
  // A dry run plans against the target key itself (the alias has not moved yet); a key still to
  // be created cannot be planned against, so the plan then only counts what is under the old key.
  const target = request.dryRun
    ? request.newKeyArn
      ? `key:${request.newKeyArn}`
      : "current"
    : `alias:${request.alias.slice("alias/".length)}`;
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once("SIGINT", onSigint);
  const reports: { source: string; report: PlanReport | JobReport }[] = [];
  try {
    for (const { text, source } of sources) {
      const jobOptions: JobOptions = {
        kms: options.kms,
        ...(s3 ? { s3 } : {}),
        source,
        target,
        stopSignal: stop.signal,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(kmsRps === undefined ? {} : { kmsRps }),
        ...(flags.checkpoint && !request.dryRun ? { checkpoint: flags.checkpoint } : {}),
      };
      const report = request.dryRun ? await planJob(jobOptions) : await runJob(jobOptions);
      reports.push({ source: text, report });
      if (!options.json) writeLines(ctx.stdout, summarize(text, report, request));
      if (report.interrupted) break;
    }
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  const kind = request.dryRun ? "plan" : "run";
  const underOldKey = reports.reduce((n, r) => n + countUnder(r.report, request.previousKeyArn, kind), 0);
  const exitCode = reports.reduce((c, r) => Math.max(c, r.report.kind === "run" ? r.report.exitCode : 0), 0);
  if (flags.report) await writeReport(flags.report, reports);
  if (!options.json && kind === "run") {
    writeLines(ctx.stdout, [
      underOldKey === 0
        ? `No object of the given sources is left under ${request.previousKeyArn}.`
        : `${underOldKey} object(s) of the given sources are still under ${request.previousKeyArn}: it must stay enabled.`,
    ]);
  }
  return { kind, reports, underOldKey, exitCode, ok: exitCode === 0 };
}

function summarize(source: string, report: PlanReport | JobReport, request: CutoverRewrapRequest): string[] {
  const old = report.bySourceKey[request.previousKeyArn];
  if (report.kind === "plan") {
    const lines = [`Plan for ${source} (target ${report.target.description}): ${report.objects} object(s)`];
    if (request.newKeyArn) {
      for (const [cls, s] of Object.entries(report.classes))
        if (s.objects > 0) lines.push(`  ${cls}: ${s.objects} object(s), ${s.bytes} bytes`);
    }
    lines.push(
      `  under the old key ${request.previousKeyArn}: ${old?.objects ?? 0} object(s), ${old?.bytes ?? 0} bytes would move`,
    );
    return lines;
  }
  const moved = Object.entries(report.outcomes)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${o} ${n}`)
    .join(", ");
  return [
    `Re-encrypt job over ${source} (target ${report.target.description}): ${report.objects} object(s)${moved ? `: ${moved}` : ""}${report.interrupted ? " (interrupted)" : ""}`,
    ...report.failures.slice(0, 20).map((f) => `  ${f.outcome}: ${f.object}: ${f.reason}`),
  ];
}

async function writeReport(
  path: string,
  reports: readonly { source: string; report: PlanReport | JobReport }[],
): Promise<void> {
  await writeFile(path, `${JSON.stringify(reports, null, 2)}\n`);
}
