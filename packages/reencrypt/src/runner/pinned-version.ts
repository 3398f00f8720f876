/**
 * Retries of a version-pinned object (a manifest line or an S3 Batch Operations task naming a
 * `versionId`). The job writes a new current version and leaves the pinned one as it was, so a
 * retry — S3 Batch Operations retrying a task whose answer it did not get, or a manifest run
 * again — plans the pinned version, which is no longer current, and its conditional write can
 * only fail. Before calling that a conflict, the job looks at the current version: if it is the
 * job's rewrite of the pinned one, the work is done (or, if that rewrite is not on this job's
 * target, it is the object to move). The current version is the pinned one's rewrite when
 * - it carries {@link SOURCE_VERSION_METADATA} naming the pinned version (the job records it on
 *   every write made from a pinned version — the only link after a full re-encrypt, which makes
 *   a new message), or
 * - it is the same message: header bytes (message id, encryption context, commitment, tag) equal
 *   to the pinned version's and the same body length — a rewrap changes only the wrapped keys.
 */
import type { JobContext } from "./job-context.js";
import type { S3ObjectRef } from "../model/object-ref.js";
import type { ObjectPlan } from "../model/object-plan.js";
import { planFromHead } from "./plan-object.js";
import { sameBytes } from "../support/bytes.js";
import { s3AttributesOf, SOURCE_VERSION_METADATA } from "../stores/s3/object-attributes.js";

/**
 * When `plan` is of a pinned version that is no longer current, and the current version is the
 * job's rewrite of it, the plan of the current version; else `undefined` (a real conflict).
 * Never throws for the object: a current version that cannot be read is no proof.
 *
 * @example
 * ```ts
 * const next = await currentRewriteOf(plan, ctx);
 * if (next) return processObject(next, ctx);
 * ```
 */
export async function currentRewriteOf(plan: ObjectPlan, ctx: JobContext): Promise<ObjectPlan | undefined> {
  const ref = plan.ref;
  if (ref.kind !== "s3" || ref.versionId === undefined || (!plan.prefix && !plan.esdk)) return undefined;
  const current: S3ObjectRef = { kind: "s3", bucket: ref.bucket, key: ref.key };
  let head;
  try {
    head = await ctx.storeFor(current).readHead(current);
  } catch {
    // Deleted, or unreadable now: nothing proves the work was done, so the conflict stands.
    return undefined;
  }
  if (head.versionId === undefined || head.versionId === ref.versionId) return undefined;
  const marked = s3AttributesOf(head).metadata[SOURCE_VERSION_METADATA] === ref.versionId;
  const mine = plan.prefix;
  // (An ESDK message migrated is known by the mark only: its rekey header is all new.)
  const same =
    mine !== undefined &&
    head.read.kind === "ok" &&
    sameBytes(head.read.prefix.header.authenticatedBytes, mine.header.authenticatedBytes) &&
    sameBytes(head.read.prefix.header.headerTag, mine.header.headerTag) &&
    head.size - head.read.prefix.bodyOffset === plan.size - mine.bodyOffset;
  if (!marked && !same) return undefined;
  // A full re-encrypt of the pinned version gave the current one a new data key:
  // `includeCurrent` (re-encrypt objects already on the target) was for the old one.
  const settings = same ? ctx.settings : Object.assign({}, ctx.settings, { includeCurrent: false });
  return planFromHead(current, head, { target: ctx.target, materials: ctx.materials, settings });
}
