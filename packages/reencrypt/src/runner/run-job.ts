/**
 * `runJob`: the batch job. Resolves the target once, pulls the source as the queue drains,
 * plans and processes each object (`runObject`), records each outcome in the checkpoint, and
 * returns the report. Never throws for one object's failure — only when the job cannot run at
 * all (bad options, unknown bucket or target, a checkpoint of another job or that cannot be
 * written).
 */
import { formatTargetSpec, parseTargetSpec } from "../kms/target-spec.js";
import { runObject } from "./run-object.js";
import type { ObjectResult } from "../model/object-result.js";
import { CHECKPOINT_FORMAT, openCheckpoint, type Checkpoint, type CheckpointHeader } from "./checkpoint.js";
import { driveSource } from "./drive-source.js";
import { DEFAULT_MAX_KEY_FAILURES, KeyFailureTracker } from "./key-failures.js";
import { inShard } from "./shard.js";
import { describeRef, type SourceEntry } from "../model/object-ref.js";
import { JobError } from "../errors.js";
import { createJobContext, JOB_DEFAULTS, type JobContext } from "./job-context.js";
import type { JobOptions, JobSource } from "./job-options.js";
import { RunReportBuilder, type JobReport, type JobStop } from "./job-report.js";
import { describeSource, openPositionedSource, openSourceTable, sourceFilter } from "./open-source.js";
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
  const postgres = await openSourceTable(options.source);
  try {
    return await runOpenedJob(
      Object.assign({}, options, postgres ? { postgres } : undefined),
      concurrency,
      listeners,
    );
  } finally {
    await postgres?.close();
  }
}

async function runOpenedJob(
  options: JobOptions,
  concurrency: number,
  listeners: { onTarget?: TargetListener; onContext?: (ctx: JobContext) => void },
): Promise<JobReport> {
  const spec = typeof options.target === "string" ? parseTargetSpec(options.target) : options.target;
  const ctx = await createJobContext(Object.assign({}, options, { target: spec }));
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
    ? await openCheckpoint(
        options.checkpoint,
        checkpointHeaderOf(ctx, target, options.source),
        Object.assign({}, options.checkpointOptions, options.freshCheckpoint ? { fresh: true } : undefined),
      )
    : undefined;
  const fromCheckpoint: Partial<Record<string, number>> = {};
  const taken = sourceFilter(options.source);
  const maxKeyFailures = checkMaxKeyFailures(options.maxKeyFailures);
  const keyFailures = new KeyFailureTracker(maxKeyFailures);
  // A job-wide stop decided by the job itself: a store that may not be written, a key that fails
  // every object. Objects in flight finish; the rest are left for a re-run.
  const halt = new AbortController();
  let stopped: JobStop | undefined;
  const stopWith = (stop: JobStop): void => {
    stopped ??= stop;
    halt.abort();
  };
  let interrupted = false;
  // Each source entry's sequence number in the checkpoint (by identity: a result carries its ref).
  const seqOf = new WeakMap<object, number>();
  // Checkpoint lines of entries that are not run (other shards, done already, bad lines), in
  // flight: held only until written, so a sharded job over a long listing holds a handful.
  const recording = new Set<Promise<void>>();
  let recordingFailure: { error: unknown } | undefined;
  const record = (p: Promise<void>): void => {
    const tracked: Promise<void> = p.then(
      () => void recording.delete(tracked),
      (error: unknown) => {
        recordingFailure ??= { error };
        recording.delete(tracked);
      },
    );
    recording.add(tracked);
  };
  const endEntry = (entry: object, result?: ObjectResult): Promise<void> | undefined => {
    const seq = seqOf.get(entry);
    if (!checkpoint) return undefined;
    if (seq === undefined) return result ? checkpoint.retried(result) : undefined;
    return checkpoint.end(seq, result);
  };
  async function* entries(): AsyncGenerator<SourceEntry> {
    // Objects an earlier run must try again come first; then the source, after the watermark.
    for (const ref of checkpoint?.retry ?? []) yield ref;
    for await (const [entry, position] of openPositionedSource(
      options.source,
      ctx,
      checkpoint?.resumeAfter,
    )) {
      if (checkpoint) seqOf.set(entry, checkpoint.begin(position));
      yield entry;
    }
  }
  try {
    const stopSignal = AbortSignal.any(
      [options.stopSignal, options.signal, halt.signal].filter((s): s is AbortSignal => s !== undefined),
    );
    ({ interrupted } = await driveSource<ObjectResult>(entries(), {
      concurrency,
      stopSignal,
      ...(options.onSourceEntry ? { onEntry: options.onSourceEntry } : {}),
      ...(options.onSourceEnd ? { onSourceEnd: options.onSourceEnd } : {}),
      onInvalid: (e) => {
        report.addInvalid(e);
        const done = endEntry(e);
        if (done) record(done);
      },
      accept: (ref) => {
        const skipped =
          (ref.kind === "s3" && ctx.s3?.guard.isProbeKey(ref.key)) ||
          (options.shard !== undefined && !inShard(ref, options.shard));
        // Left out by --include / --exclude: counted, never read.
        const excluded = !skipped && taken !== undefined && !taken(ref);
        if (excluded) report.addExcluded();
        const done = !skipped && !excluded && checkpoint?.isDone(ref) === true;
        if (skipped || excluded || done) {
          const seq = seqOf.get(ref);
          if (checkpoint && seq !== undefined) record(done ? checkpoint.skip(seq, ref) : checkpoint.end(seq));
          return false;
        }
        return true;
      },
      work: (ref) => runObject(ref, ctx),
      onDone: async (result) => {
        // The store refused (or could not be probed): the object was not tried, so it is
        // neither reported nor checkpointed (a resume tries it), and the job stops.
        if (result.code !== undefined && STORE_STOPS.has(result.code)) {
          stopWith({ code: result.code, reason: result.reason });
          return;
        }
        // An object whose bucket does not exist is a bad source line, like a malformed one:
        // reported every run, never retried.
        if (result.planClass === "unplanned" && result.code === "ERR_JOB_SOURCE") {
          report.addInvalid({ kind: "invalid", where: describeRef(result.ref), reason: result.reason });
          await endEntry(result.ref);
          return;
        }
        report.add(result);
        await endEntry(result.ref, result);
        const why = keyFailures.add(result);
        if (why) stopWith({ code: "ERR_JOB_KEY_UNUSABLE", reason: why });
      },
    }));
    await Promise.all(recording);
    if (recordingFailure) throw recordingFailure.error;
  } finally {
    await Promise.all(recording);
    await checkpoint?.close();
  }
  Object.assign(fromCheckpoint, checkpoint?.previous ?? {});
  const notes: string[] = [];
  if (checkpoint && checkpoint.ignoredLines > 0)
    notes.push(`${checkpoint.ignoredLines} unreadable checkpoint line(s) ignored (a torn write at a crash)`);
  return report.finish({
    interrupted: interrupted && stopped === undefined,
    strict: options.strict === true,
    fromCheckpoint,
    notes,
    stores: ctx.s3?.guard.probed ?? [],
    ...(stopped ? { stopped } : {}),
  });
}

/** Codes of a store the job may not write to: the job stops at the first. */
const STORE_STOPS: ReadonlySet<string> = new Set(["ERR_JOB_STORE_UNSAFE", "ERR_JOB_STORE_PROBE"]);

function checkMaxKeyFailures(value: number | undefined): number {
  const n = value ?? DEFAULT_MAX_KEY_FAILURES;
  if (!(Number.isInteger(n) && n >= 0))
    throw new JobError("ERR_JOB_INVALID_OPTION", `maxKeyFailures must be a whole number ≥ 0, got ${value}`);
  return n;
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
function checkpointHeaderOf(ctx: JobContext, target: TargetSummary, source: JobSource): CheckpointHeader {
  const s = ctx.settings;
  return {
    rekeyCheckpoint: CHECKPOINT_FORMAT,
    mode: s.mode,
    target: target.spec,
    ...(target.keyArn ? { targetKeyArn: target.keyArn } : {}),
    ...(target.kmsScope ? { kmsScope: target.kmsScope } : {}),
    fromKeys: [...(s.filters.fromKeys ?? [])].sort(),
    olderThanMaterial: s.filters.olderThanMaterial ?? false,
    includeCurrent: s.includeCurrent,
    ...(s.limits && Object.keys(s.limits).length > 0 ? { limits: s.limits } : {}),
    source: describeSource(source),
  };
}
