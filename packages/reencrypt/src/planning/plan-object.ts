/**
 * `planObject`: reads one object's header (never its body, unless the whole object fits in the
 * first read) and classifies it against the job's target. No write, and no KMS call except the
 * first `DescribeKey` of each key the job meets (cached).
 */
import { JobError, describeError } from "../errors.js";
import type { ObjectRef, S3ObjectRef } from "../model/object-ref.js";
import type { JobContext } from "../runner/job-context.js";
import { readS3Head, type S3Head } from "../stores/s3/read-s3-head.js";
import { readFileHead } from "../stores/dir/read-file-head.js";
import { classifyPrefix, keysToLookUp } from "./classify-prefix.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { PrefixRead } from "./read-prefix.js";

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
  if (ref.kind === "s3") return planS3Head(ref, await readS3Head(ref, ctx), ctx);
  if (ref.kind === "file") {
    const head = await readFileHead(ref, ctx);
    return classify(ref, head.read, ctx, {
      size: head.size,
      etag: head.fingerprint,
      fileMode: head.mode,
      ...(head.size > 0 && head.bytes.length === head.size ? { whole: head.bytes } : {}),
    });
  }
  throw new JobError("ERR_JOB_INVALID_OPTION", "unknown object reference");
}

/**
 * Plans an S3 object from a header already read (`readS3Head`).
 *
 * @example
 * ```ts
 * const plan = await planS3Head(ref, await readS3Head(ref, ctx), ctx);
 * ```
 */
export function planS3Head(ref: S3ObjectRef, head: S3Head, ctx: JobContext): Promise<ObjectPlan> {
  return classify(ref, head.read, ctx, {
    size: head.size,
    ...(head.etag ? { etag: head.etag } : {}),
    ...(head.versionId ? { versionId: head.versionId } : {}),
    ...(head.attributes ? { attributes: head.attributes } : {}),
    ...(head.size > 0 && head.bytes.length === head.size ? { whole: head.bytes } : {}),
  });
}

type Found = Pick<ObjectPlan, "size" | "etag" | "versionId" | "attributes" | "whole" | "fileMode">;

async function classify(
  ref: ObjectRef,
  read: PrefixRead,
  ctx: JobContext,
  found: Found,
): Promise<ObjectPlan> {
  const empty = {
    ref,
    ...found,
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
  try {
    const materials = new Map<string, string | undefined>();
    for (const arn of keysToLookUp(read.prefix, ctx.target)) {
      materials.set(arn, (await ctx.materials.lookup(arn)).currentKeyMaterialId);
    }
    const c = classifyPrefix({
      prefix: read.prefix,
      target: ctx.target,
      materials,
      filters: ctx.settings.filters,
      mode: ctx.settings.mode,
      includeCurrent: ctx.settings.includeCurrent,
    });
    return { ...empty, ...c, prefix: read.prefix, headBytes: read.bytes.subarray(0, read.prefix.bodyOffset) };
  } catch (e) {
    if (e instanceof JobError) throw e;
    const { code, reason } = describeError(e);
    return { ...empty, class: "unreadable", reason: `wrapped keys do not parse: ${reason}`, code };
  }
}
