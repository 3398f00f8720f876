/**
 * The job's safety rules around a write, in one place for every store and operation:
 * - **claim a lost answer's write**: a retried conditional write whose first attempt landed but
 *   whose answer was lost is refused (the object is no longer the planned version: it is the
 *   job's own). After a conflict the object is read once more; when its first bytes are the
 *   prefix just written (fresh KMS ciphertext: nobody else can have written them) and its size
 *   the one written, the write was the job's, and it counts;
 * - **verify before done**: the written version is read back and must be byte for byte the
 *   prefix written, with the expected size, the original header (rewrap) and an entry under the
 *   target; `verify: "full"` also decrypts the whole written version and compares its
 *   plaintext digest with the original's. A store whose answer proves the bytes (`proven`)
 *   saves the read under `verify: "etag"`, unless it ignores conditional writes.
 */
import { describeError, JobError } from "../errors.js";
import type { ObjectRef } from "../model/object-ref.js";
import type { ObjectStore, StoreWriteMode, WrittenVersion } from "../model/object-store.js";
import type { OperationContext } from "./operation-context.js";
import { plaintextDigest, verificationKeyring } from "./plaintext-digest.js";
import { sameBytes } from "../support/bytes.js";
import { verifyPrefix, type ExpectedPrefix } from "./verify-prefix.js";

/**
 * Runs a write; on a conflict, claims it when the object holds exactly what was written.
 *
 * @throws the write's error when the object is not the job's.
 * @example
 * ```ts
 * const written = await claimingConflicts(store, ref, () => expected, () => store.replacePrefix(plan, prefix, mode));
 * ```
 */
export async function claimingConflicts<W extends WrittenVersion>(
  store: ObjectStore,
  ref: ObjectRef,
  expected: () => Pick<ExpectedPrefix, "bytes" | "size"> | undefined,
  write: () => Promise<W>,
): Promise<W | (WrittenVersion & { size: number })> {
  try {
    return await write();
  } catch (e) {
    const wanted = describeError(e).code === "ERR_JOB_CONFLICT" ? expected() : undefined;
    if (!wanted) throw e;
    let now;
    try {
      now = await store.readCurrent(ref, wanted.bytes.length);
    } catch {
      // Unreadable now: nothing proves the write was the job's.
      throw e;
    }
    if (!now || now.size !== wanted.size || !sameBytes(now.bytes, wanted.bytes)) throw e;
    return {
      size: now.size,
      ...(now.etag ? { etag: now.etag } : {}),
      ...(now.versionId ? { versionId: now.versionId } : {}),
    };
  }
}

/**
 * Verifies a written object (see the module comment).
 *
 * @throws JobError `ERR_JOB_VERIFY` when it does not read back as written; `ERR_JOB_CONFLICT`
 * when another writer replaced it meanwhile.
 * @example
 * ```ts
 * await verifyWritten(store, ref, written, expected, mode, before, ctx);
 * ```
 */
export async function verifyWritten(
  store: ObjectStore,
  ref: ObjectRef,
  written: WrittenVersion,
  expected: ExpectedPrefix,
  mode: StoreWriteMode,
  beforeDigest: string | undefined,
  ctx: OperationContext,
): Promise<void> {
  const verify = ctx.settings.verify;
  if (verify === "etag" && written.proven === true && !mode.unconditional) return;
  const back = await store.readBack(ref, written, expected.bytes.length);
  verifyPrefix(back.bytes, back.size, expected);
  if (verify !== "full") return;
  const keyring = verificationKeyring(ctx, expected.keyArns);
  if (!keyring || beforeDigest === undefined)
    throw new JobError("ERR_JOB_VERIFY", "full verification needs a digest from before and a keyring");
  const body = await store.openWritten(ref, written, { size: expected.size, headBytes: expected.bytes });
  if ((await plaintextDigest(body, keyring, ctx)) !== beforeDigest)
    throw new JobError("ERR_JOB_VERIFY", "plaintext of the written object differs from the original");
}
