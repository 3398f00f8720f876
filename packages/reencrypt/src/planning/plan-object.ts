/**
 * `planHead`: the plan of one object, from what its store read (the head) and what KMS says of
 * its keys (their current material). A rekey header is classified by `classifyPrefix`, an AWS
 * Encryption SDK header by `classifyEsdk`. Pure: no IO — the runner reads the head and looks the keys
 * up (`keysToLookUp`), then plans.
 */
import { describeError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectRef } from "../model/object-ref.js";
import type { StoredHead } from "../model/object-store.js";
import { classifyEsdk } from "./classify-esdk.js";
import { classifyPrefix, type ClassifyInput } from "./classify-prefix.js";

/** What planning needs besides the head. */
export type PlanInput = Omit<ClassifyInput, "prefix">;

/**
 * Plans one object from its head. A foreign or corrupt object is a plan class, not an error.
 *
 * @example
 * ```ts
 * const head = await store.readHead(ref);
 * const plan = planHead(ref, head, { target, materials, filters, mode: "rewrap" });
 * console.log(plan.class, plan.reason); // "rewrap" "1 entry on older material"
 * ```
 */
export function planHead(ref: ObjectRef, head: StoredHead, input: PlanInput): ObjectPlan {
  const read = head.read;
  if (read.kind === "foreign") return planOf(ref, head, unclassified("foreign", read.reason));
  if (read.kind === "unreadable")
    return planOf(ref, head, unclassified("unreadable", read.reason), { code: read.code });
  if (read.kind === "esdk") {
    const c = classifyEsdk({ header: read.header, ...input });
    return planOf(
      ref,
      head,
      { actions: [], materialUnproven: false, ...c },
      { esdk: read.header, headBytes: read.bytes.subarray(0, read.header.headerLength) },
    );
  }
  try {
    const c = classifyPrefix({ prefix: read.prefix, ...input });
    return planOf(ref, head, c, {
      prefix: read.prefix,
      headBytes: read.bytes.subarray(0, read.prefix.bodyOffset),
    });
  } catch (e) {
    const { code, reason } = describeError(e);
    return planOf(ref, head, unclassified("unreadable", `wrapped keys do not parse: ${reason}`), { code });
  }
}

/** What a plan takes from its classification. */
type PlanFields = Pick<
  ObjectPlan,
  | "class"
  | "reason"
  | "actions"
  | "recipients"
  | "sourceKeyArns"
  | "sourceMaterialIds"
  | "materialUnproven"
  | "kmsCalls"
  | "keptEntries"
>;

/** The fields of a plan whose head was not classified (foreign, unreadable): nothing to do. */
function unclassified(cls: "foreign" | "unreadable", reason: string): PlanFields {
  return {
    class: cls,
    reason,
    actions: [],
    recipients: [],
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    kmsCalls: 0,
    keptEntries: 0,
  };
}

/**
 * One plan, built field by field: every plan has the same properties in the same order, the
 * optional ones after them. (An object literal that begins with a spread gets a hidden class of
 * its own on every call in Node 20's V8, which makes every function that reads plans slow.)
 */
function planOf(
  ref: ObjectRef,
  head: StoredHead,
  c: PlanFields,
  more: Pick<ObjectPlan, "code" | "prefix" | "esdk" | "headBytes"> = {},
): ObjectPlan {
  return {
    ref,
    class: c.class,
    reason: c.reason,
    size: head.size,
    actions: c.actions,
    recipients: c.recipients,
    sourceKeyArns: c.sourceKeyArns,
    sourceMaterialIds: c.sourceMaterialIds,
    materialUnproven: c.materialUnproven,
    kmsCalls: c.kmsCalls,
    keptEntries: c.keptEntries,
    ...(head.etag !== undefined ? { etag: head.etag } : {}),
    ...(head.versionId !== undefined ? { versionId: head.versionId } : {}),
    ...(head.attributes !== undefined ? { attributes: head.attributes } : {}),
    ...(head.size > 0 && head.bytes.length === head.size ? { whole: head.bytes } : {}),
    ...more,
  };
}
