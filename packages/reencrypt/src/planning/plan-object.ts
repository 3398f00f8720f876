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
  const empty = {
    ref,
    size: head.size,
    ...(head.etag !== undefined ? { etag: head.etag } : {}),
    ...(head.versionId !== undefined ? { versionId: head.versionId } : {}),
    ...(head.attributes !== undefined ? { attributes: head.attributes } : {}),
    ...(head.size > 0 && head.bytes.length === head.size ? { whole: head.bytes } : {}),
    actions: [],
    recipients: [],
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    kmsCalls: 0,
    keptEntries: 0,
  };
  if (read.kind === "foreign") return { ...empty, class: "foreign", reason: read.reason };
  if (read.kind === "unreadable")
    return { ...empty, class: "unreadable", reason: read.reason, code: read.code };
  if (read.kind === "esdk") {
    const c = classifyEsdk({ ...input, header: read.header });
    return {
      ...empty,
      ...c,
      esdk: read.header,
      headBytes: read.bytes.subarray(0, read.header.headerLength),
    };
  }
  try {
    const c = classifyPrefix({ ...input, prefix: read.prefix });
    return { ...empty, ...c, prefix: read.prefix, headBytes: read.bytes.subarray(0, read.prefix.bodyOffset) };
  } catch (e) {
    const { code, reason } = describeError(e);
    return { ...empty, class: "unreadable", reason: `wrapped keys do not parse: ${reason}`, code };
  }
}
