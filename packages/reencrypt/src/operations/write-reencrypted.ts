/**
 * The part every full re-encrypt shares, whatever it decrypts (a rekey message, an AWS
 * Encryption SDK message): the planned version is streamed (pinned, header compared) through the
 * given decrypt transform → a digest tap → `encryptStream` under the plan's recipients → the
 * prefix rewriter, into the store's conditional `replaceWhole`; a lost answer's write is claimed;
 * the written object is verified. Memory is constant: one frame in each transform, one part in
 * the store's upload.
 *
 * The store commits only after the last byte of the pipeline, and the last byte comes only after
 * the decrypt transform ended without error. So a check the decrypt makes at the very end (the
 * ESDK's trailing signature, a truncated body) fails the write, never a committed object: S3's
 * upload is completed (or its single `PutObject` sent) after its source ends, and the directory
 * store renames its temporary file only after its source ends.
 */
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import { encryptStream, KmsKeyring, type EncryptionContext } from "@rekey/core";
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectStore, WrittenVersion } from "../model/object-store.js";
import type { OperationContext } from "./operation-context.js";
import { asDamaged, digestTap } from "./plaintext-digest.js";
import { prefixRewriter } from "./prefix-rewriter.js";
import { claimingConflicts, verifyWritten } from "./safe-write.js";

/** What a full re-encrypt decrypts with and writes. */
export interface ReencryptSource {
  /** Makes the transform from the stored bytes to the plaintext (called once, right before the stream starts). */
  readonly decrypt: () => Duplex;
  /** The new message's encryption context. */
  readonly encryptionContext: EncryptionContext;
  /** The new message's frame length. */
  readonly frameLength: number;
  /** Sign the new message (suite 2) with a new key pair. @default false */
  readonly signed?: boolean;
}

/**
 * Re-encrypts the planned version of an object into a rekey message under `plan.recipients`.
 *
 * @throws JobError `ERR_JOB_CONFLICT`, `ERR_JOB_STORE_UNSAFE`, `ERR_JOB_UNREADABLE` (the stored
 * message does not decrypt: damaged before the job), `ERR_JOB_VERIFY`; core's `ERR_KMS`.
 * @example
 * ```ts
 * const written = await writeReencrypted(plan, store, ctx, { decrypt, encryptionContext, frameLength });
 * ```
 */
export async function writeReencrypted(
  plan: ObjectPlan,
  store: ObjectStore,
  ctx: OperationContext,
  source: ReencryptSource,
): Promise<WrittenVersion & { unconditional: boolean }> {
  const [primary, ...others] = plan.recipients;
  if (!primary) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "no key to re-encrypt under");
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
  const stored = await store.openPinned(plan);
  const decrypt = source.decrypt();
  const written = await claimingConflicts(
    store,
    plan.ref,
    () => (rewriter.prefix ? { bytes: rewriter.prefix, size: produced } : undefined),
    async () => {
      let out: WrittenVersion & { size: number } = { size: 0 };
      try {
        await pipeline(
          stored,
          decrypt,
          tap,
          encryptStream({
            keyring: encryptKeyring,
            encryptionContext: source.encryptionContext,
            frameLength: source.frameLength,
            ...(source.signed ? { signed: true } : {}),
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
  return { unconditional: mode.unconditional, ...written };
}
