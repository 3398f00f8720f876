/**
 * `reencryptObject`: the full re-encrypt of one stored object, for every store. A new data key
 * wrapped for the plan's recipients; the planned version is streamed (pinned, header compared)
 * through `decryptStream` → `encryptStream` with constant memory (one frame in each transform,
 * one part in the store's upload) and the store replaces the object only if it is still the
 * planned version. The encryption context and frame length are kept; the plaintext digest is
 * taken on the way through for full verification. A message that does not decrypt was damaged
 * before the job: it is `unreadable`, left as it was.
 */
import { pipeline } from "node:stream/promises";
import { decryptStream, encryptStream, KmsKeyring } from "@rekey/core";
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectStore, WrittenVersion } from "../model/object-store.js";
import type { OperationContext } from "./operation-context.js";
import { asDamaged, digestTap, verificationKeyring } from "./plaintext-digest.js";
import { prefixRewriter } from "./prefix-rewriter.js";
import { claimingConflicts, verifyWritten } from "./safe-write.js";

/**
 * Re-encrypts one object per its plan (class `reencrypt`).
 *
 * @throws JobError `ERR_JOB_CONFLICT`, `ERR_JOB_STORE_UNSAFE`, `ERR_JOB_UNREADABLE`,
 * `ERR_JOB_NOT_REWRAPPABLE` (no keyring for its entries), `ERR_JOB_VERIFY`; core's `ERR_KMS`.
 * @example
 * ```ts
 * const written = await reencryptObject(plan, store, ctx);
 * ```
 */
export async function reencryptObject(
  plan: ObjectPlan,
  store: ObjectStore,
  ctx: OperationContext,
): Promise<WrittenVersion & { unconditional: boolean }> {
  const prefix = plan.prefix;
  if (!prefix || !plan.etag)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header or version token");
  const [primary, ...others] = plan.recipients;
  if (!primary) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "no key to re-encrypt under");
  const decryptKeyring = verificationKeyring(ctx, plan.sourceKeyArns);
  if (!decryptKeyring)
    throw new JobError(
      "ERR_JOB_NOT_REWRAPPABLE",
      "no KMS entry, and no decryptKeyring for the object's entries",
    );
  const mode = await store.writeMode(plan.ref);
  const encryptKeyring = new KmsKeyring({
    client: ctx.kms,
    keyId: primary.keyArn,
    additionalKeyIds: others.map((r) => r.keyArn),
    ...(ctx.hooks.onKmsCall ? { onKmsCall: ctx.hooks.onKmsCall } : {}),
  });
  const tap = digestTap();
  const rewriter = prefixRewriter(plan.recipients, ctx.settings.limits);
  let produced = 0;
  async function* counted(out: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of out) {
      produced += chunk.length;
      yield chunk;
    }
  }
  const source = await store.openPinned(plan);
  const written = await claimingConflicts(
    store,
    plan.ref,
    () => (rewriter.prefix ? { bytes: rewriter.prefix, size: produced } : undefined),
    async () => {
      let out: WrittenVersion & { size: number } = { size: 0 };
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
          async (stream: AsyncIterable<Buffer>) => {
            out = await store.replaceWhole(plan, counted(stream), mode);
          },
          ...(ctx.signal ? [{ signal: ctx.signal }] : []),
        );
      } catch (e) {
        throw asDamaged(e);
      }
      return out;
    },
  );
  const newPrefix = rewriter.prefix;
  if (!newPrefix) throw new JobError("ERR_JOB_VERIFY", "re-encrypt produced no header");
  await verifyWritten(
    store,
    plan.ref,
    written,
    { bytes: newPrefix, size: written.size, keyArns: plan.recipients.map((r) => r.keyArn) },
    mode,
    ctx.settings.verify === "full" ? tap.digest() : undefined,
    ctx,
  );
  return { ...written, unconditional: mode.unconditional };
}
