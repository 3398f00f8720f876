/**
 * `planObject`: reads one object's head through its store (never its body, unless the whole
 * object fits in the first read), looks up the current material of its keys (the first
 * `DescribeKey` of each key the job meets, then cached) and plans it (`planHead`).
 */
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectRef } from "../model/object-ref.js";
import type { StoredHead } from "../model/object-store.js";
import { keysToLookUp } from "../planning/classify-prefix.js";
import { planHead } from "../planning/plan-object.js";
import type { JobContext } from "./job-context.js";

/**
 * Plans one object. Throws only when the object cannot be read (after retries) or the job was
 * cancelled; a foreign or corrupt object is a plan class, not an error.
 *
 * @example
 * ```ts
 * const plan = await planObject({ kind: "s3", bucket: "data", key: "a.rkey" }, ctx);
 * console.log(plan.class, plan.reason); // "rewrap" "1 entry on older material"
 * ```
 */
export async function planObject(ref: ObjectRef, ctx: JobContext): Promise<ObjectPlan> {
  return planFromHead(ref, await ctx.storeFor(ref).readHead(ref), ctx);
}

/**
 * Plans an object from a head already read.
 *
 * @example
 * ```ts
 * const plan = await planFromHead(ref, await store.readHead(ref), ctx);
 * ```
 */
export async function planFromHead(
  ref: ObjectRef,
  head: StoredHead,
  ctx: Pick<JobContext, "target" | "materials" | "settings">,
): Promise<ObjectPlan> {
  const materials = new Map<string, string | undefined>();
  if (head.read.kind === "ok") {
    let keys: string[] = [];
    try {
      keys = keysToLookUp(head.read.prefix, ctx.target);
    } catch {
      // A malformed entry: planning classifies the object `unreadable`.
    }
    for (const arn of keys) materials.set(arn, (await ctx.materials.lookup(arn)).currentKeyMaterialId);
  }
  return planHead(ref, head, {
    target: ctx.target,
    materials,
    filters: ctx.settings.filters,
    mode: ctx.settings.mode,
    includeCurrent: ctx.settings.includeCurrent,
  });
}
