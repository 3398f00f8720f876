/**
 * `migrateEsdkObject`: an AWS Encryption SDK message converted into a rekey message under the
 * target, for every store — the sibling of the full re-encrypt. The planned version is streamed
 * (pinned, header compared) through the ESDK's own streaming decrypt (core's
 * `decryptEsdkStream`: a KMS keyring limited to the message's key ARNs in the job's KMS scope,
 * plus the ESDK raw AES keys of the job's `decryptKeyring`) → rekey's `encryptStream` under the
 * plan's recipients, and the store replaces the object only if it is still the planned version
 * (`writeReencrypted`: claiming a lost answer's write, verification; full verification compares
 * the plaintext digest). Constant memory: the ESDK holds one frame (at most `maxFrameLength`)
 * before its tag is checked.
 *
 * Signed suites: the ESDK checks the trailing signature only when its stream ends; the store
 * commits only after that end, so a message whose signature does not verify is never written —
 * it is `unreadable`, left as it was, like any message that does not decrypt.
 *
 * The encryption context is carried over except the ESDK's reserved `aws-crypto-` keys (the
 * signing key of a signed suite), which mean nothing to rekey: the result lists them. The frame
 * length is kept (a non-framed body, or a frame longer than the reader's `maxFrameLength`, gets
 * the default).
 */
import {
  decryptEsdkStream,
  DEFAULT_FRAME_LENGTH,
  DEFAULT_LIMITS,
  InvalidArgumentError,
  type EsdkHeader,
} from "@rekey/core";
import { JobError } from "../errors.js";
import { scopedKeyArns } from "../kms/kms-scope.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectStore, WrittenVersion } from "../model/object-store.js";
import { reservedContextKeys } from "../planning/classify-esdk.js";
import type { OperationContext } from "./operation-context.js";
import { writeReencrypted } from "./write-reencrypted.js";

/** What {@link migrateEsdkObject} wrote. */
export type MigratedEsdk = WrittenVersion & {
  readonly unconditional: boolean;
  /** The reserved `aws-crypto-` context keys the new message does not carry. */
  readonly droppedContextKeys: readonly string[];
};

/**
 * Migrates one ESDK object per its plan (class `esdk`, mode `reencrypt`).
 *
 * @throws JobError `ERR_JOB_CONFLICT`, `ERR_JOB_STORE_UNSAFE`, `ERR_JOB_UNREADABLE` (tampered,
 * truncated, a signature that does not verify), `ERR_JOB_NOT_REWRAPPABLE` (no key the job may
 * use opens it), `ERR_JOB_VERIFY`; core's `ERR_KMS`, `ERR_NO_MATCHING_KEY`.
 * @example
 * ```ts
 * const { droppedContextKeys } = await migrateEsdkObject(plan, store, ctx);
 * ```
 */
export async function migrateEsdkObject(
  plan: ObjectPlan,
  store: ObjectStore,
  ctx: OperationContext,
): Promise<MigratedEsdk> {
  const header = plan.esdk;
  if (!header || !plan.etag)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no ESDK header or version token");
  if (plan.recipients.length === 0)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "no key to re-encrypt under");
  const allowedKeyArns = scopedKeyArns(plan.sourceKeyArns, ctx.target);
  const limits = Object.assign({}, DEFAULT_LIMITS, ctx.settings.limits);
  const options = {
    client: ctx.kms,
    allowedKeyArns,
    ...(ctx.decryptKeyring ? { keyring: ctx.decryptKeyring } : {}),
    maxEncryptedDataKeys: limits.maxEntries,
    maxBodySize: limits.maxFrameLength,
    ...(ctx.hooks.onKmsCall ? { onKmsCall: ctx.hooks.onKmsCall } : {}),
  };
  try {
    // Checks the options now: a message no key of the job may open fails before any read.
    decryptEsdkStream(options).destroy();
  } catch (e) {
    if (e instanceof InvalidArgumentError)
      throw new JobError(
        "ERR_JOB_NOT_REWRAPPABLE",
        "no KMS data key in the job's KMS scope, and no decryptKeyring with ESDK raw AES keys (esdkKeyNamespace)",
        { cause: e },
      );
    throw e;
  }
  const dropped = reservedContextKeys(header.encryptionContext);
  const written = await writeReencrypted(plan, store, ctx, {
    decrypt: () => decryptEsdkStream(options),
    encryptionContext: carriedContext(header),
    frameLength:
      header.framed && header.frameLength <= limits.maxFrameLength
        ? header.frameLength
        : DEFAULT_FRAME_LENGTH,
  });
  return { droppedContextKeys: dropped, ...written };
}

/** The context without the ESDK's reserved keys. */
function carriedContext(header: EsdkHeader): Record<string, string> {
  const dropped = new Set(reservedContextKeys(header.encryptionContext));
  return Object.fromEntries(Object.entries(header.encryptionContext).filter(([k]) => !dropped.has(k)));
}
