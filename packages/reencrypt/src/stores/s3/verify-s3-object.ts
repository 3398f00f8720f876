/**
 * Verification of a written S3 object, before it is reported done: a ranged GET of the new
 * header (of the version the job wrote, or conditional on its new ETag) checked against the
 * prefix written; with `verify: "full"`, a streaming decrypt of the whole new object whose
 * plaintext SHA-256 must equal the one from before.
 */
import { JobError } from "../../errors.js";
import type { JobContext } from "../../runner/job-context.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import { plaintextDigest, verificationKeyring } from "../../operations/plaintext-digest.js";
import { verifyPrefix, type ExpectedPrefix } from "../../operations/verify-prefix.js";
import { totalSizeOf } from "./content-range.js";
import { openPinned, sameEtag } from "./pinned-read.js";
import { asObjectError, getObjectBytes, type S3Runtime } from "./s3-runtime.js";

/** The version the job wrote. */
export interface WrittenVersion {
  readonly etag?: string;
  readonly versionId?: string;
}

function selectorOf(ref: S3ObjectRef, written: WrittenVersion): { VersionId?: string; IfMatch?: string } {
  if (written.versionId) return { VersionId: written.versionId };
  return written.etag ? { IfMatch: written.etag } : {};
}

/**
 * Checks the written object's header, and with full verification its plaintext digest.
 *
 * @example
 * ```ts
 * await verifyS3Object(ref, written, { bytes: newPrefix, size, header, keyArns }, beforeDigest, ctx, rt);
 * ```
 */
export async function verifyS3Object(
  ref: S3ObjectRef,
  written: WrittenVersion,
  expected: ExpectedPrefix,
  beforeDigest: string | undefined,
  ctx: JobContext,
  rt: S3Runtime,
): Promise<void> {
  const sel = selectorOf(ref, written);
  let read;
  try {
    read = await getObjectBytes(rt, {
      Bucket: ref.bucket,
      Key: ref.key,
      Range: `bytes=0-${expected.bytes.length - 1}`,
      ...sel,
    });
  } catch (e) {
    throw asObjectError(e, "verify (another writer replaced the object after the rewrite)");
  }
  // A store that ignores the read's condition answers with whatever is there now: the answer
  // must be the version the job wrote.
  if (written.etag !== undefined && !sameEtag(read.output.ETag, written.etag))
    throw new JobError(
      "ERR_JOB_CONFLICT",
      "verify: another writer replaced the object after the rewrite (its ETag is not the written one)",
    );
  const size = totalSizeOf(read.output.ContentRange) ?? read.output.ContentLength ?? -1;
  verifyPrefix(read.bytes, size, expected);
  if (ctx.settings.verify !== "full") return;
  const keyring = verificationKeyring(ctx, expected.keyArns);
  if (!keyring || beforeDigest === undefined)
    throw new JobError("ERR_JOB_VERIFY", "full verification needs a digest from before and a keyring");
  const mine: S3ObjectRef = {
    kind: "s3",
    bucket: ref.bucket,
    key: ref.key,
    ...(written.versionId ? { versionId: written.versionId } : {}),
  };
  const body = await openPinned(rt, mine, {
    ...(written.etag ? { etag: written.etag } : {}),
    size: expected.size,
    headBytes: expected.bytes,
  });
  const after = await plaintextDigest(body, keyring, ctx);
  if (after !== beforeDigest)
    throw new JobError("ERR_JOB_VERIFY", "plaintext of the written object differs from the original");
}
