/**
 * `reencryptObject`: the full re-encrypt of one stored rekey message, for every store. A new
 * data key wrapped for the plan's recipients; the planned version is streamed through
 * `decryptStream` → `encryptStream` (`writeReencrypted`) and the store replaces the object only
 * if it is still the planned version. The encryption context and frame length are kept; the
 * plaintext digest is taken on the way through for full verification. A message that does not
 * decrypt was damaged before the job: it is `unreadable`, left as it was.
 */
import { decryptStream, SIGNING_KEY_CONTEXT_KEY, type EncryptionContext } from "@rekey/core";
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectStore, WrittenVersion } from "../model/object-store.js";
import type { OperationContext } from "./operation-context.js";
import { verificationKeyring } from "./plaintext-digest.js";
import { writeReencrypted } from "./write-reencrypted.js";

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
  if (plan.recipients.length === 0)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "no key to re-encrypt under");
  const decryptKeyring = verificationKeyring(ctx, plan.sourceKeyArns);
  if (!decryptKeyring)
    throw new JobError(
      "ERR_JOB_NOT_REWRAPPABLE",
      "no KMS entry, and no decryptKeyring for the object's entries",
    );
  return writeReencrypted(plan, store, ctx, {
    decrypt: () =>
      decryptStream({
        keyring: decryptKeyring,
        ...(ctx.settings.limits ? { limits: ctx.settings.limits } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    ...newContextOf(prefix.header.encryptionContext),
    frameLength: prefix.header.frameLength,
  });
}

/**
 * The new message's context and whether it is signed: a signed message is re-encrypted into a
 * signed one with a new key pair, so its old public key leaves the context (the new message
 * records its own).
 */
function newContextOf(context: EncryptionContext): {
  encryptionContext: EncryptionContext;
  signed?: boolean;
} {
  if (!Object.hasOwn(context, SIGNING_KEY_CONTEXT_KEY)) return { encryptionContext: context };
  const { [SIGNING_KEY_CONTEXT_KEY]: _old, ...rest } = context;
  return { encryptionContext: rest, signed: true };
}
