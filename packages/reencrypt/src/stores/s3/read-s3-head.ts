/**
 * The header read of an S3 object: a ranged GET of the first bytes (`bytes=0-4095`), grown only
 * when the parser needs more (each further range conditional on the ETag of the first answer,
 * so all bytes come from one version). The first answer also gives the size (`Content-Range`),
 * the ETag the write will be conditional on, the version id and the attributes to preserve.
 */
import type { S3ObjectRef } from "../../model/object-ref.js";
import { completePrefix } from "../../planning/read-prefix.js";
import type { HeadReadSettings, StoredHead } from "../../model/object-store.js";
import { JobError } from "../../errors.js";
import { attributesOf, type S3ObjectAttributes } from "./object-attributes.js";
import { totalSizeOf } from "./content-range.js";
import { asObjectError, getObjectBytes, isNoSuchBucket, isNoSuchKey, type S3Runtime } from "./s3-runtime.js";
import { httpStatusOf, errorNameOf } from "../../errors.js";

/** What the header read of an S3 object found. */
export interface S3Head extends StoredHead {
  readonly attributes?: S3ObjectAttributes;
}

/**
 * Reads the header of one S3 object.
 *
 * @example
 * ```ts
 * const head = await readS3Head({ kind: "s3", bucket, key }, rt, { headerReadBytes: 4096 });
 * ```
 */
export async function readS3Head(
  ref: S3ObjectRef,
  rt: S3Runtime,
  settings: HeadReadSettings,
): Promise<S3Head> {
  // The listing's size is not trusted: the object may have been written since it was listed, and
  // a class decided without a read would be checkpointed as done.
  const base = { Bucket: ref.bucket, Key: ref.key, ...(ref.versionId ? { VersionId: ref.versionId } : {}) };
  let first;
  try {
    first = await getObjectBytes(rt, { Range: `bytes=0-${settings.headerReadBytes - 1}`, ...base });
  } catch (e) {
    // A range on an empty object is 416: S3 has no bytes to answer with.
    if (httpStatusOf(e) === 416 || errorNameOf(e) === "InvalidRange")
      return { read: { kind: "foreign", reason: "empty object" }, size: 0, bytes: new Uint8Array() };
    // A manifest line naming a bucket that does not exist: no retry or re-run will find it.
    if (isNoSuchBucket(e))
      throw new JobError("ERR_JOB_SOURCE", `bucket ${ref.bucket} does not exist`, { cause: e });
    if (isNoSuchKey(e))
      throw new JobError(
        "ERR_JOB_CONFLICT",
        "the object does not exist (deleted since it was listed, or a wrong name)",
        {
          cause: e,
        },
      );
    throw asObjectError(e, "read header");
  }
  const out = first.output;
  const size = totalSizeOf(out.ContentRange) ?? out.ContentLength ?? first.bytes.length;
  const etag = out.ETag;
  const read = await completePrefix(
    first.bytes,
    size,
    async (start, end) => {
      try {
        const more = await getObjectBytes(rt, {
          Range: `bytes=${start}-${end - 1}`,
          ...base,
          ...(etag ? { IfMatch: etag } : {}),
        });
        return more.bytes;
      } catch (e) {
        throw asObjectError(e, "read header");
      }
    },
    settings.limits,
  );
  return {
    read,
    size,
    ...(etag ? { etag } : {}),
    ...(out.VersionId ? { versionId: out.VersionId } : {}),
    attributes: attributesOf(out),
    bytes: "bytes" in read ? read.bytes : first.bytes,
  };
}
