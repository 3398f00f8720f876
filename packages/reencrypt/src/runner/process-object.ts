/**
 * `processObject`: carries out one object's plan — nothing for `current`, `foreign`,
 * `unreadable` and `skipped`, nor for `esdk` in mode `rewrap` (outcome `esdk`: run `reencrypt`);
 * a rewrap, a full re-encrypt or an ESDK migration otherwise — and turns every error
 * into an outcome: a changed or deleted object is a `conflict` (unless it is a pinned version
 * whose current version is the job's own rewrite of it: then that rewrite is processed), anything
 * else `failed` with its code and reason. It never throws, so a driver can run millions of them without a crash.
 */
import { awsErrorNameOf, describeError, JobError } from "../errors.js";
import type { Mutable } from "../support/mutable.js";
import { isTransientFailure } from "../support/retry.js";
import type { JobContext } from "./job-context.js";
import type { ObjectPlan } from "../model/object-plan.js";
import { migrateEsdkObject } from "../operations/migrate-esdk.js";
import { reencryptObject } from "../operations/reencrypt.js";
import { rewrapObject } from "../operations/rewrap.js";
import { currentRewriteOf } from "./pinned-version.js";
import type { ObjectOutcome, ObjectResult } from "../model/object-result.js";

/**
 * Processes one planned object. `started` (a `performance.now()` time) is when the object's
 * work began, for the result's `durationMs`: by default, now.
 *
 * @example
 * ```ts
 * const plan = await planObject(ref, ctx);
 * const result = await processObject(plan, ctx);
 * console.log(result.outcome, result.reason);
 * ```
 */
export async function processObject(
  plan: ObjectPlan,
  ctx: JobContext,
  started: number = performance.now(),
): Promise<ObjectResult> {
  const ref = plan.ref;
  const result = (
    outcome: ObjectOutcome,
    reason: string,
    extra: Partial<ObjectResult> = {},
  ): ObjectResult => ({
    ref,
    outcome,
    planClass: plan.class,
    reason,
    size: plan.size,
    sourceKeyArns: plan.sourceKeyArns,
    sourceMaterialIds: plan.sourceMaterialIds,
    materialUnproven: plan.materialUnproven,
    durationMs: performance.now() - started,
    ...(plan.keptEntries > 0 ? { keptEntries: plan.keptEntries } : {}),
    ...extra,
  });
  switch (plan.class) {
    case "current":
    case "foreign":
    case "skipped":
      return result(plan.class, plan.reason);
    case "unreadable":
      return result("unreadable", plan.reason, { code: plan.code ?? "ERR_FORMAT" });
    case "esdk":
      if (ctx.settings.mode !== "reencrypt") return result("esdk", plan.reason);
      break;
    case "rewrap":
    case "reencrypt":
      break;
  }
  // A retry of a pinned version the job already rewrote: carry on with its rewrite instead.
  const followRewrite = async (next: ObjectPlan): Promise<ObjectResult> => {
    const r = await processObject(next, ctx, started);
    return Object.assign({}, r, {
      ref,
      reason: `version ${plan.versionId ?? ""} is no longer current; the current one is this job's rewrite of it: ${r.reason}`,
    });
  };
  try {
    if (ctx.signal?.aborted) throw new JobError("ERR_JOB_ABORTED", "the job was cancelled");
    // A full re-encrypt streams the whole object before its conditional write can fail: for a
    // pinned version, look at the current version first (one header read). A rewrap learns it
    // from its write's 412 below, at the cost of one ReEncrypt.
    if (ref.kind === "s3" && ref.versionId !== undefined && plan.class !== "rewrap") {
      const next = await currentRewriteOf(plan, ctx);
      if (next) return await followRewrite(next);
    }
    const store = ctx.storeFor(ref);
    const written =
      plan.class === "rewrap"
        ? await rewrapObject(plan, store, ctx)
        : plan.class === "esdk"
          ? await migrateEsdkObject(plan, store, ctx)
          : await reencryptObject(plan, store, ctx);
    const facts: Mutable<Partial<ObjectResult>> = {};
    if (written.etag) facts.newEtag = written.etag;
    if ("versionId" in written && written.versionId) facts.newVersionId = written.versionId;
    if (written.unconditional) facts.unconditional = true;
    if ("droppedContextKeys" in written && written.droppedContextKeys.length > 0)
      facts.droppedContextKeys = written.droppedContextKeys;
    return result(plan.class === "rewrap" ? "rewrapped" : "reencrypted", plan.reason, facts);
  } catch (e) {
    const { code, reason } = describeError(e);
    if (code === "ERR_JOB_CONFLICT") {
      const next = ctx.signal?.aborted ? undefined : await currentRewriteOf(plan, ctx);
      if (next) return followRewrite(next);
      return result("conflict", reason, { code, ...failureFacts(e) });
    }
    if (code === "ERR_JOB_UNREADABLE") return result("unreadable", reason, { code });
    if (ctx.signal?.aborted) return result("failed", "the job was cancelled", { code: "ERR_JOB_ABORTED" });
    return result("failed", reason, { code, ...failureFacts(e) });
  }
}

/** What a driver needs to know of a failure beyond its code: the AWS error, and if it may pass. */
function failureFacts(e: unknown): Pick<ObjectResult, "errorName" | "transient"> {
  const facts: Mutable<Pick<ObjectResult, "errorName" | "transient">> = {};
  const name = awsErrorNameOf(e);
  if (name) facts.errorName = name;
  if (isTransientFailure(e)) facts.transient = true;
  return facts;
}

/**
 * The result of an object that could not even be planned: its header read failed after the
 * retries (S3 kept failing, access denied, the object is gone — a `conflict`), or the job was
 * cancelled. Its plan class is `unplanned`, not `unreadable` (which is a header that was read
 * and does not parse).
 *
 * @example
 * ```ts
 * const result = planFailure(ref, error, ctx);
 * ```
 */
export function planFailure(
  ref: ObjectPlan["ref"],
  error: unknown,
  ctx: JobContext,
  durationMs = 0,
): ObjectResult {
  const { code, reason } = describeError(error);
  const aborted = ctx.signal?.aborted === true;
  return {
    ref,
    outcome: code === "ERR_JOB_CONFLICT" ? "conflict" : "failed",
    planClass: "unplanned",
    reason: aborted ? "the job was cancelled" : `header read failed: ${reason}`,
    code: aborted ? "ERR_JOB_ABORTED" : code,
    ...(aborted ? {} : failureFacts(error)),
    size: 0,
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    durationMs,
  };
}
