/**
 * SHA-256 of a message's plaintext, computed by stream-decrypting it (memory bounded by the
 * frame length, whatever the object size). Full verification compares the digest of the object
 * before and after the job touched it.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { decryptStream, KmsKeyring, MultiKeyring, type Keyring } from "@rekey/core";
import { JobError, describeError } from "../errors.js";
import type { OperationContext } from "./operation-context.js";
import { scopedKeyArns } from "../kms/kms-scope.js";

/**
 * A keyring that may decrypt entries under `keyArns` only (plus the job's extra keyring), and
 * of those only keys in the job's KMS scope: an entry under a key in another Region or account
 * is never sent to the job's client.
 *
 * @example
 * ```ts
 * const keyring = verificationKeyring(ctx, plan.sourceKeyArns);
 * ```
 */
export function verificationKeyring(ctx: OperationContext, keyArns: readonly string[]): Keyring | undefined {
  const keyrings: Keyring[] = [];
  const arns = scopedKeyArns(keyArns, ctx.target);
  if (arns.length > 0)
    keyrings.push(
      new KmsKeyring({
        client: ctx.kms,
        allowedKeyArns: arns,
        ...(ctx.hooks.onKmsCall ? { onKmsCall: ctx.hooks.onKmsCall } : {}),
      }),
    );
  if (ctx.decryptKeyring) keyrings.push(ctx.decryptKeyring);
  if (keyrings.length === 0) return undefined;
  return keyrings.length === 1 ? keyrings[0] : new MultiKeyring(keyrings);
}

/**
 * Decrypts `ciphertext` as a stream and returns the plaintext's SHA-256 (hex).
 *
 * @example
 * ```ts
 * const before = await plaintextDigest(createReadStream(path), keyring, ctx);
 * ```
 */
export async function plaintextDigest(
  ciphertext: Readable,
  keyring: Keyring,
  ctx: OperationContext,
): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(
    ciphertext,
    decryptStream({
      keyring,
      ...(ctx.settings.limits ? { limits: ctx.settings.limits } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    }),
    async (plain: AsyncIterable<Buffer>) => {
      for await (const chunk of plain) hash.update(chunk);
    },
    ...(ctx.signal ? [{ signal: ctx.signal }] : []),
  );
  return hash.digest("hex");
}

/**
 * A pass-through Transform that hashes what flows through it (the plaintext between decrypt and
 * encrypt during a full re-encrypt).
 *
 * @example
 * ```ts
 * const tap = digestTap(); await pipeline(src, decrypt, tap, encrypt, sink); tap.digest();
 * ```
 */
export function digestTap(): Transform & { digest(): string } {
  const hash: Hash = createHash("sha256");
  const t = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  return Object.assign(t, { digest: () => hash.digest("hex") });
}

/** Core codes that mean the message itself is damaged (a tag, the commitment, the framing). */
const DAMAGED: ReadonlySet<string> = new Set(["ERR_DECRYPT_FAILED", "ERR_FORMAT"]);

/**
 * Maps a decrypt failure of an object the job was about to write to `ERR_JOB_UNREADABLE` when
 * the object is damaged (it was so before the job touched it: the job reports it `unreadable`
 * and leaves it alone); other failures (KMS refused, S3, a conflict) pass through.
 *
 * @example
 * ```ts
 * try { await pipeline(source, decryptStream(o), sink); } catch (e) { throw asDamaged(e); }
 * ```
 */
export function asDamaged(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && DAMAGED.has(code))
    return new JobError(
      "ERR_JOB_UNREADABLE",
      `the object does not decrypt (${describeError(e).reason}): it was damaged before this job, which left it untouched`,
      { cause: e },
    );
  return e;
}

/**
 * The plaintext digest of an object before the job writes it (full verification): a damaged
 * object is `ERR_JOB_UNREADABLE`, never written.
 *
 * @example
 * ```ts
 * const before = await originalDigest(await openPinned(rt, ref, plan), keyring, ctx);
 * ```
 */
export async function originalDigest(
  ciphertext: Readable,
  keyring: Keyring,
  ctx: OperationContext,
): Promise<string> {
  try {
    return await plaintextDigest(ciphertext, keyring, ctx);
  } catch (e) {
    throw asDamaged(e);
  }
}
