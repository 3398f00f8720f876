/**
 * `rewrapObject`: the rewrap of one stored object, for every store. Each KMS entry the plan moves
 * gets one `ReEncrypt` (the plaintext data key never leaves KMS); the header bytes and the body
 * stay byte for byte; the store replaces the object's prefix only if the object is still the
 * planned version; the write is claimed if its answer was lost, and verified before it counts.
 */
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { ObjectStore, WrittenVersion } from "../model/object-store.js";
import { scopedKeyArns } from "../kms/kms-scope.js";
import type { OperationContext } from "./operation-context.js";
import { originalDigest, verificationKeyring } from "./plaintext-digest.js";
import { rewrapEntries } from "./rewrap-entries.js";
import { claimingConflicts, verifyWritten } from "./safe-write.js";
import type { ExpectedPrefix } from "./verify-prefix.js";

/**
 * Rewraps one object per its plan (class `rewrap`).
 *
 * @throws JobError `ERR_JOB_CONFLICT` (changed since planned), `ERR_JOB_STORE_UNSAFE` (a store
 * that ignores conditional writes), `ERR_JOB_UNREADABLE` (damaged, with full verification),
 * `ERR_JOB_VERIFY`; core's `ERR_KMS` when KMS refuses.
 * @example
 * ```ts
 * const written = await rewrapObject(plan, store, ctx); // { etag, versionId }
 * ```
 */
export async function rewrapObject(
  plan: ObjectPlan,
  store: ObjectStore,
  ctx: OperationContext,
): Promise<WrittenVersion & { unconditional: boolean }> {
  const prefix = plan.prefix;
  if (!prefix || !plan.etag || !plan.headBytes)
    throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header or version token");
  const mode = await store.writeMode(plan.ref);
  const destinations = plan.actions.flatMap((a) => (a.kind === "rewrap" ? [a.destinationKeyId] : []));
  const keyArns = destinations.length > 0 ? destinations : scopedKeyArns(plan.sourceKeyArns, ctx.target);

  let before: string | undefined;
  if (ctx.settings.verify === "full") {
    const keyring = verificationKeyring(ctx, plan.sourceKeyArns);
    if (!keyring)
      throw new JobError("ERR_JOB_VERIFY", "no keyring can decrypt the original for full verification");
    before = await originalDigest(await store.openPinned(plan), keyring, ctx);
  }
  const next = await rewrapEntries(plan, ctx);
  const expected: ExpectedPrefix = {
    bytes: next.bytes,
    size: next.bytes.length + plan.size - prefix.bodyOffset,
    header: prefix.header,
    keyArns,
  };
  const written = await claimingConflicts(
    store,
    plan.ref,
    () => expected,
    () => store.replacePrefix(plan, next.bytes, mode),
  );
  await verifyWritten(store, plan.ref, written, expected, mode, before, ctx);
  return { unconditional: mode.unconditional, ...written };
}
