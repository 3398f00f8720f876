/**
 * Verification of a written S3 object, before it is reported done: a ranged GET of the new
 * header (of the version the job wrote, or conditional on its new ETag) checked against the
 * prefix written; with `verify: "full"`, a streaming decrypt of the whole new object whose
 * plaintext SHA-256 must equal the one from before.
 */
import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { JobError } from "../errors.js";
import type { JobContext } from "../job/job-context.js";
import type { S3ObjectRef } from "../model/object-ref.js";
import { plaintextDigest, verificationKeyring } from "../process/plaintext-digest.js";
import { verifyPrefix, type ExpectedPrefix } from "../process/verify-prefix.js";
import { totalSizeOf } from "./content-range.js";
import { asObjectError, getObjectBytes, s3Send, type S3Runtime } from "./s3-runtime.js";

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
  const size = totalSizeOf(read.output.ContentRange) ?? read.output.ContentLength ?? -1;
  verifyPrefix(read.bytes, size, expected);
  if (ctx.settings.verify !== "full") return;
  const keyring = verificationKeyring(ctx, expected.keyArns);
  if (!keyring || beforeDigest === undefined)
    throw new JobError("ERR_JOB_VERIFY", "full verification needs a digest from before and a keyring");
  const after = await plaintextDigest(await openObjectStream(ref, sel, rt), keyring, ctx);
  if (after !== beforeDigest)
    throw new JobError("ERR_JOB_VERIFY", "plaintext of the written object differs from the original");
}

/**
 * Opens a GET body as a stream (counted as bytes read). The request is retried; the body is not
 * (a failure halfway fails the step).
 *
 * @example
 * ```ts
 * const body = await openObjectStream(ref, { IfMatch: etag }, rt);
 * ```
 */
export async function openObjectStream(
  ref: S3ObjectRef,
  selector: { VersionId?: string; IfMatch?: string },
  rt: S3Runtime,
): Promise<Readable> {
  let out: GetObjectCommandOutput;
  try {
    out = await s3Send(rt, "GetObject", (s3, o) =>
      s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, ...selector }), o),
    );
  } catch (e) {
    throw asObjectError(e, "read object");
  }
  const body = out.Body as Readable | undefined;
  if (!body) throw new JobError("ERR_JOB_S3", "GET answered no body");
  return Readable.from(counted(body, rt), { objectMode: false });
}

async function* counted(body: Readable, rt: S3Runtime): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    rt.counters.bytes.read += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}
