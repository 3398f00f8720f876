/**
 * `runObject`: plan + process one object, the unit every driver runs (the local job, a sharded
 * worker, the S3 Batch Operations handler). Never throws.
 */
import type { JobContext } from "./job-context.js";
import type { ObjectRef } from "../model/object-ref.js";
import type { ObjectPlan } from "../model/object-plan.js";
import { planObject } from "./plan-object.js";
import type { ObjectResult } from "../model/object-result.js";
import { planFailure, processObject } from "./process-object.js";

/**
 * Plans and processes one object; calls `ctx.hooks.afterPlan` in between and
 * `ctx.hooks.onResult` at the end.
 *
 * @example
 * ```ts
 * const { outcome } = await runObject({ kind: "s3", bucket: "data", key: "a.rkey" }, ctx);
 * ```
 */
export async function runObject(
  ref: ObjectRef,
  ctx: JobContext,
): Promise<ObjectResult & { plan?: ObjectPlan }> {
  const started = performance.now();
  let plan: ObjectPlan;
  try {
    plan = await planObject(ref, ctx);
    await ctx.hooks.afterPlan?.(plan);
  } catch (e) {
    const failed = planFailure(ref, e, ctx, performance.now() - started);
    ctx.hooks.onResult?.(failed);
    return failed;
  }
  const done = await processObject(plan, ctx, started);
  ctx.hooks.onResult?.(done);
  return { plan, ...done };
}
