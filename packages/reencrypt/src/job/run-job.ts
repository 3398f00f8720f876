/**
 * `runJob`: the batch job. Resolves the target once, pulls the source as the queue drains,
 * plans and processes each object (`runObject`), records each outcome in the checkpoint, and
 * returns the report. Never throws for one object's failure — only when the job cannot run at
 * all (bad options, unknown bucket or target, a checkpoint of another job or that cannot be
 * written).
 */
import { formatTargetSpec, parseTargetSpec } from "../target/target-spec.js";
import { runObject } from "../process/run-object.js";
import type { ObjectResult } from "../process/object-result.js";
import { openCheckpoint, type Checkpoint, type CheckpointHeader } from "../run/checkpoint.js";
import { driveSource } from "../run/drive-source.js";
import { inShard } from "../run/shard.js";
import { JobError } from "../errors.js";
import { createJobContext, JOB_DEFAULTS, type JobContext } from "./job-context.js";
import type { JobOptions } from "./job-options.js";
import { RunReportBuilder, type JobReport } from "./job-report.js";
import { openSource } from "./open-source.js";
import { summarizeTarget, type TargetSummary } from "./target-summary.js";

/** Called once the target is resolved, before any object is touched. */
export type TargetListener = (target: TargetSummary) => void;

/**
 * Runs the job and returns its report (also for a partial run after `stopSignal`).
 *
 * @example
 * ```ts
 * const report = await runJob({
 *   kms: new KMSClient({ maxAttempts: 1 }),
 *   s3: new S3Client({ maxAttempts: 1 }),
 *   source: { kind: "s3", bucket: "data", prefix: "invoices/" },
 *   target: "current",
 *   checkpoint: "invoices.checkpoint.jsonl",
 * });
 * if (report.exitCode !== 0) console.error(report.failures);
 * ```
 */
export async function runJob(
  options: JobOptions,
  listeners: { onTarget?: TargetListener; onContext?: (ctx: JobContext) => void } = {},
): Promise<JobReport> {
  const concurrency = checkConcurrency(options.concurrency);
  const spec = typeof options.target === "string" ? parseTargetSpec(options.target) : options.target;
  const ctx = await createJobContext({ ...options, target: spec });
  listeners.onContext?.(ctx);
  const target = summarizeTarget(formatTargetSpec(spec), ctx.target);
  listeners.onTarget?.(target);
  const report = new RunReportBuilder({
    mode: ctx.settings.mode,
    verify: ctx.settings.verify,
    target,
    counters: ctx.counters,
  });
  const checkpoint: Checkpoint | undefined = options.checkpoint
    ? await openCheckpoint(options.checkpoint, checkpointHeaderOf(ctx, target), {
        ...options.checkpointOptions,
        ...(options.freshCheckpoint ? { fresh: true } : {}),
      })
    : undefined;
  const fromCheckpoint: Partial<Record<string, number>> = {};
  let interrupted = false;
  try {
    const source = openSource(options.source, ctx);
    ({ interrupted } = await driveSource<ObjectResult>(source, {
      concurrency,
      ...(options.stopSignal
        ? { stopSignal: anySignal(options.stopSignal, options.signal) }
        : options.signal
          ? { stopSignal: options.signal }
          : {}),
      ...(options.onSourceEntry ? { onEntry: options.onSourceEntry } : {}),
      onInvalid: (e) => report.addInvalid(e),
      accept: (ref) => {
        if (options.shard && !inShard(ref, options.shard)) return false;
        return !checkpoint?.isDone(ref);
      },
      work: (ref) => runObject(ref, ctx),
      onDone: async (result) => {
        report.add(result);
        await checkpoint?.record(result);
      },
    }));
  } finally {
    await checkpoint?.close();
  }
  Object.assign(fromCheckpoint, checkpoint?.previous ?? {});
  const notes: string[] = [];
  if (checkpoint && checkpoint.ignoredLines > 0)
    notes.push(`${checkpoint.ignoredLines} unreadable checkpoint line(s) ignored (a torn write at a crash)`);
  return report.finish({ interrupted, fromCheckpoint, notes });
}

/**
 * Validates the concurrency option.
 *
 * @example
 * ```ts
 * checkConcurrency(undefined); // 16
 * ```
 */
export function checkConcurrency(value: number | undefined): number {
  const c = value ?? JOB_DEFAULTS.concurrency;
  if (!(Number.isInteger(c) && c >= 1 && c <= 1024))
    throw new JobError(
      "ERR_JOB_INVALID_OPTION",
      `concurrency must be an integer from 1 to 1024, got ${value}`,
    );
  return c;
}

/** Everything of this job that decides which objects end done (see {@link CheckpointHeader}). */
function checkpointHeaderOf(ctx: JobContext, target: TargetSummary): CheckpointHeader {
  const s = ctx.settings;
  return {
    rekeyCheckpoint: 2,
    mode: s.mode,
    target: target.spec,
    ...(target.keyArn ? { targetKeyArn: target.keyArn } : {}),
    ...(target.kmsScope ? { kmsScope: target.kmsScope } : {}),
    fromKeys: [...(s.filters.fromKeys ?? [])].sort(),
    olderThanMaterial: s.filters.olderThanMaterial ?? false,
    includeCurrent: s.includeCurrent,
    ...(s.limits && Object.keys(s.limits).length > 0 ? { limits: s.limits } : {}),
  };
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b ? AbortSignal.any([a, b]) : a;
}
