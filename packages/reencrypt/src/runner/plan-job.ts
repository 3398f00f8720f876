/**
 * `planJob`: the dry run. Reads every object's header (ranged GET), classifies it, and returns
 * the plan report — no write, no KMS call but one `DescribeKey` per key met.
 */
import { describeError } from "../errors.js";
import { describeRef } from "../model/object-ref.js";
import type { ObjectPlan } from "../model/object-plan.js";
import { planObject } from "./plan-object.js";
import { driveSource } from "./drive-source.js";
import { inShard } from "./shard.js";
import { formatTargetSpec, parseTargetSpec } from "../kms/target-spec.js";
import { createJobContext, JOB_DEFAULTS, type JobContext } from "./job-context.js";
import type { JobOptions } from "./job-options.js";
import { PlanReportBuilder, type PlanReport } from "./plan-report.js";
import { openSource, openSourceTable, sourceFilter } from "./open-source.js";
import { checkConcurrency, type TargetListener } from "./run-job.js";
import { summarizeTarget } from "./target-summary.js";

/**
 * Plans the job without writing anything.
 *
 * @example
 * ```ts
 * const plan = await planJob({ kms, s3, source: { kind: "s3", bucket: "data" }, target: "alias:app" });
 * console.log(plan.classes.rewrap.objects, plan.kmsCalls.total, plan.estimate.seconds);
 * ```
 */
export async function planJob(
  options: JobOptions,
  listeners: {
    onTarget?: TargetListener;
    /**
     * An object was planned: its plan, or `undefined` when its header could not be read, and its
     * place in the source (0, 1, 2 … over the objects planned; plans finish out of that order
     * when `concurrency` > 1).
     */
    onPlan?: (plan: ObjectPlan | undefined, sequence: number) => void;
    onContext?: (ctx: JobContext) => void;
  } = {},
): Promise<PlanReport> {
  const postgres = await openSourceTable(options.source);
  try {
    return await planOpenedJob(Object.assign({}, options, postgres ? { postgres } : undefined), listeners);
  } finally {
    await postgres?.close();
  }
}

async function planOpenedJob(
  options: JobOptions,
  listeners: Parameters<typeof planJob>[1] & object,
): Promise<PlanReport> {
  const concurrency = checkConcurrency(options.concurrency);
  const spec = typeof options.target === "string" ? parseTargetSpec(options.target) : options.target;
  const ctx = await createJobContext(Object.assign({}, options, { target: spec }));
  listeners.onContext?.(ctx);
  const target = summarizeTarget(formatTargetSpec(spec), ctx.target);
  listeners.onTarget?.(target);
  const report = new PlanReportBuilder({
    mode: ctx.settings.mode,
    verify: ctx.settings.verify,
    kmsRps: options.kmsRps ?? JOB_DEFAULTS.kmsRps,
    concurrency,
    multipartThreshold: ctx.settings.multipartThreshold,
    copyPartBytes: ctx.settings.copyPartBytes,
    uploadPartBytes: ctx.settings.uploadPartBytes,
    target,
    counters: ctx.counters,
  });
  const stop =
    options.stopSignal && options.signal
      ? AbortSignal.any([options.stopSignal, options.signal])
      : (options.stopSignal ?? options.signal);
  // The driver starts objects in source order (its queue is first in, first out), so a number
  // taken as the work starts is the object's place in the source.
  let started = 0;
  const taken = sourceFilter(options.source);
  const { interrupted } = await driveSource<{
    plan?: ObjectPlan;
    error?: unknown;
    ms: number;
    ref: string;
    sequence: number;
  }>(openSource(options.source, ctx), {
    concurrency,
    ...(stop ? { stopSignal: stop } : {}),
    ...(options.onSourceEntry ? { onEntry: options.onSourceEntry } : {}),
    ...(options.onSourceEnd ? { onSourceEnd: options.onSourceEnd } : {}),
    onInvalid: (e) => report.addInvalid(e),
    // The store probe's scratch objects are never planned; nor are another shard's objects;
    // those --include / --exclude leave out are counted, never read.
    accept: (ref) => {
      if (ref.kind === "s3" && ctx.s3?.guard.isProbeKey(ref.key)) return false;
      if (options.shard !== undefined && !inShard(ref, options.shard)) return false;
      if (taken !== undefined && !taken(ref)) {
        report.addExcluded();
        return false;
      }
      return true;
    },
    work: async (ref) => {
      const sequence = started++;
      const t0 = performance.now();
      try {
        const plan = await planObject(ref, ctx);
        return { plan, ms: performance.now() - t0, ref: describeRef(ref), sequence };
      } catch (error) {
        return { error, ms: performance.now() - t0, ref: describeRef(ref), sequence };
      }
    },
    onDone: (r) => {
      if (r.plan) {
        report.add(r.plan, r.ms);
        listeners.onPlan?.(r.plan, r.sequence);
      } else {
        const { code, reason } = describeError(r.error);
        report.addFailure(r.ref, code, reason);
        listeners.onPlan?.(undefined, r.sequence);
      }
    },
  });
  return report.finish(interrupted);
}
