/**
 * Full re-encrypt of an S3 object: a new data key under the target, the payload streamed
 * through `decryptStream` → `encryptStream` with constant memory (one frame in each transform,
 * one upload part), written back with `If-Match` on the ETag the plan read. The plaintext digest
 * is taken on the way through for full verification.
 */
import { pipeline } from "node:stream/promises";
import { decryptStream, encryptStream, KmsKeyring } from "@rekey/core";
import { JobError } from "../../errors.js";
import type { JobContext } from "../../runner/job-context.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import { asDamaged, digestTap, verificationKeyring } from "../../operations/plaintext-digest.js";
import { prefixRewriter } from "../../operations/prefix-rewriter.js";
import type { ExpectedPrefix } from "../../operations/verify-prefix.js";
import { claimWrite } from "../../operations/claim-write.js";
import { restoreTags, writeParamsFor } from "./object-attributes.js";
import { s3Of } from "./read-s3-head.js";
import { asObjectError, isNoSuchUpload, isPreconditionFailed } from "./s3-runtime.js";
import { uploadStream } from "./stream-upload.js";
import { openPinned } from "./pinned-read.js";
import { recheckBeforeWrite, type StoreWriteMode } from "./store-guard.js";
import { verifyS3Object, type WrittenVersion } from "./verify-s3-object.js";

/**
 * Re-encrypts one S3 object per its plan (class `reencrypt`) and verifies it.
 *
 * @example
 * ```ts
 * const written = await reencryptS3Object(ref, plan, ctx, await ctx.stores.writeModeFor(ref.bucket));
 * ```
 */
export async function reencryptS3Object(
  ref: S3ObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
  mode: StoreWriteMode,
): Promise<WrittenVersion> {
  const rt = s3Of(ctx);
  const prefix = plan.prefix;
  if (!prefix || !plan.etag) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header or ETag");
  const [primary, ...others] = plan.recipients;
  if (!primary) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "no key to re-encrypt under");
  const decryptKeyring = verificationKeyring(ctx, plan.sourceKeyArns);
  if (!decryptKeyring)
    throw new JobError(
      "ERR_JOB_NOT_REWRAPPABLE",
      "no KMS entry, and no decryptKeyring for the object's entries",
    );
  const encryptKeyring = new KmsKeyring({
    client: ctx.kms,
    keyId: primary.keyArn,
    additionalKeyIds: others.map((r) => r.keyArn),
    ...(ctx.hooks.onKmsCall ? { onKmsCall: ctx.hooks.onKmsCall } : {}),
  });
  const keyArns = plan.recipients.map((r) => r.keyArn);
  const params = await writeParamsFor(
    ref,
    plan.attributes ?? { metadata: {}, tagCount: 0 },
    rt,
    mode.capabilities,
  );
  const tap = digestTap();
  const rewriter = prefixRewriter(plan.recipients, ctx.settings.limits);
  const source = await openPinned(rt, ref, plan);
  let uploaded: { size: number } & WrittenVersion = { size: 0 };
  let produced = 0;
  async function* counted(out: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of out) {
      produced += chunk.length;
      yield chunk;
    }
  }
  try {
    await pipeline(
      source,
      decryptStream({
        keyring: decryptKeyring,
        ...(ctx.settings.limits ? { limits: ctx.settings.limits } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
      tap,
      encryptStream({
        keyring: encryptKeyring,
        encryptionContext: prefix.header.encryptionContext,
        frameLength: prefix.header.frameLength,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
      rewriter,
      async (out: AsyncIterable<Buffer>) => {
        uploaded = await uploadStream(counted(out), rt, {
          ref,
          ifMatch: plan.etag as string,
          params,
          partBytes: ctx.settings.uploadPartBytes,
          beforeCommit: () => recheckBeforeWrite(mode, rt, ref, plan),
        });
      },
      ...(ctx.signal ? [{ signal: ctx.signal }] : []),
    );
  } catch (e) {
    const written = rewriter.prefix;
    if ((isPreconditionFailed(e) || isNoSuchUpload(e)) && written) {
      // A lost answer to a retried commit (412 for a PUT, no upload left for a complete): the
      // object may hold exactly what this job wrote.
      const ours = await claimWrite(ref, written, produced, rt);
      if (ours) uploaded = { size: produced, ...ours };
      else throw asObjectError(e, "write");
    } else throw asObjectError(asDamaged(e), "re-encrypt");
  }
  const newPrefix = rewriter.prefix;
  if (!newPrefix) throw new JobError("ERR_JOB_VERIFY", "re-encrypt produced no header");
  const expected: ExpectedPrefix = { bytes: newPrefix, size: uploaded.size, keyArns };
  await verifyS3Object(
    ref,
    uploaded,
    expected,
    ctx.settings.verify === "full" ? tap.digest() : undefined,
    ctx,
    rt,
  );
  await restoreTags(ref, uploaded, params, mode.capabilities, rt);
  return uploaded;
}
