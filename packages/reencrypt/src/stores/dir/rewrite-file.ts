/**
 * Rewrap and full re-encrypt of a local file, atomically: the new content is written to a
 * temporary file in the same directory (`.<name>.<random>.rekey-tmp`), flushed with `fsync`,
 * then renamed over the original — a reader sees the old file or the new one, never a mix, and
 * a crash leaves at most a temporary file behind. The rename happens only if the original still
 * has the fingerprint (device, inode, size, mtime) the plan read; otherwise the outcome is a
 * conflict. (The check and the rename are two steps; a writer that lands in between is not
 * detected. S3's `If-Match` has no such gap.)
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { decryptStream, encryptStream, KmsKeyring } from "@rekey/core";
import { JobError } from "../../errors.js";
import type { JobContext } from "../../runner/job-context.js";
import type { FileObjectRef } from "../../model/object-ref.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import { digestTap, plaintextDigest, verificationKeyring } from "../../operations/plaintext-digest.js";
import { prefixRewriter } from "../../operations/prefix-rewriter.js";
import { rewrapEntries } from "../../operations/rewrap-entries.js";
import { verifyPrefix, type ExpectedPrefix } from "../../operations/verify-prefix.js";
import { scopedKeyArns } from "../../kms/kms-scope.js";
import { currentFingerprint } from "./file-fingerprint.js";

/** Suffix of the job's temporary files (the directory source skips them). */
export const TEMP_SUFFIX = ".rekey-tmp";

/** What was written. */
export interface WrittenFile {
  /** Fingerprint of the new file. */
  readonly etag: string;
  readonly size: number;
}

/**
 * Rewraps one file per its plan: new prefix + the original body bytes, streamed.
 *
 * @example
 * ```ts
 * await rewrapFile({ kind: "file", path }, plan, ctx);
 * ```
 */
export async function rewrapFile(
  ref: FileObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
): Promise<WrittenFile> {
  const prefix = plan.prefix;
  if (!prefix) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header");
  const destinations = plan.actions.flatMap((a) => (a.kind === "rewrap" ? [a.destinationKeyId] : []));
  let before: string | undefined;
  if (ctx.settings.verify === "full") before = await digestOf(ref.path, plan.sourceKeyArns, ctx);
  const next = await rewrapEntries(plan, ctx);
  const expected: ExpectedPrefix = {
    bytes: next.bytes,
    size: next.bytes.length + plan.size - prefix.bodyOffset,
    header: prefix.header,
    keyArns: destinations.length > 0 ? destinations : scopedKeyArns(plan.sourceKeyArns, ctx.target),
  };
  return replaceFile(ref, plan, ctx, before, async (out) => {
    await out.write(next.bytes);
    ctx.counters.bytes.written += next.bytes.length;
    const body = createReadStream(ref.path, { start: prefix.bodyOffset, highWaterMark: 1024 * 1024 });
    let copied = 0;
    for await (const chunk of body) {
      const b = chunk as Buffer;
      ctx.counters.bytes.read += b.length;
      copied += b.length;
      await out.write(b);
      ctx.counters.bytes.written += b.length;
    }
    if (copied !== plan.size - prefix.bodyOffset)
      throw new JobError("ERR_JOB_CONFLICT", "the file changed size since it was read");
    return expected;
  });
}

/**
 * Re-encrypts one file per its plan: a new data key under the recipients, streamed.
 *
 * @example
 * ```ts
 * await reencryptFile({ kind: "file", path }, plan, ctx);
 * ```
 */
export async function reencryptFile(
  ref: FileObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
): Promise<WrittenFile> {
  const prefix = plan.prefix;
  const [primary, ...others] = plan.recipients;
  if (!prefix || !primary) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header or no key");
  const decryptKeyring = verificationKeyring(ctx, plan.sourceKeyArns);
  if (!decryptKeyring)
    throw new JobError(
      "ERR_JOB_NOT_REWRAPPABLE",
      "no KMS entry, and no decryptKeyring for the file's entries",
    );
  const encryptKeyring = new KmsKeyring({
    client: ctx.kms,
    keyId: primary.keyArn,
    additionalKeyIds: others.map((r) => r.keyArn),
    ...(ctx.hooks.onKmsCall ? { onKmsCall: ctx.hooks.onKmsCall } : {}),
  });
  const tap = digestTap();
  const rewriter = prefixRewriter(plan.recipients, ctx.settings.limits);
  return replaceFile(
    ref,
    plan,
    ctx,
    undefined,
    async (out) => {
      let size = 0;
      await pipeline(
        Readable.from(countedRead(ref.path, ctx), { objectMode: false }),
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
        async (src: AsyncIterable<Buffer>) => {
          for await (const chunk of src) {
            await out.write(chunk);
            size += chunk.length;
            ctx.counters.bytes.written += chunk.length;
          }
        },
        ...(ctx.signal ? [{ signal: ctx.signal }] : []),
      );
      if (!rewriter.prefix) throw new JobError("ERR_JOB_VERIFY", "re-encrypt produced no header");
      return { bytes: rewriter.prefix, size, keyArns: plan.recipients.map((r) => r.keyArn) };
    },
    () => tap.digest(),
  );
}

/**
 * Writes the temp file with `fill`, checks the original is unchanged, renames, verifies.
 * `before` is the plaintext digest for full verification (or computed by `digestAfterFill`).
 */
async function replaceFile(
  ref: FileObjectRef,
  plan: ObjectPlan,
  ctx: JobContext,
  before: string | undefined,
  fill: (out: FileHandle) => Promise<ExpectedPrefix>,
  digestAfterFill?: () => string,
): Promise<WrittenFile> {
  const dir = dirname(ref.path);
  const temp = join(dir, `.${basename(ref.path)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
  let renamed = false;
  try {
    const out = await open(temp, "wx", 0o600);
    let expected: ExpectedPrefix;
    try {
      // The mode given to open() is filtered by the umask; set it exactly.
      if (plan.fileMode !== undefined) await out.chmod(plan.fileMode);
      expected = await fill(out);
      await keepOwner(out, ref.path);
      await out.sync();
    } finally {
      await out.close();
    }
    const now = await currentFingerprint(ref.path);
    if (now !== plan.etag)
      throw new JobError(
        "ERR_JOB_CONFLICT",
        now === undefined ? "the file was deleted since it was read" : "the file changed since it was read",
      );
    await rename(temp, ref.path);
    renamed = true;
    await syncDirectory(dir);
    const after = await readBack(ref.path, expected.bytes.length);
    verifyPrefix(after.bytes, after.size, expected);
    if (ctx.settings.verify === "full") {
      const wanted = before ?? digestAfterFill?.();
      const got = await digestOf(ref.path, expected.keyArns, ctx);
      if (wanted === undefined || got !== wanted)
        throw new JobError("ERR_JOB_VERIFY", "plaintext of the written file differs from the original");
    }
    return { etag: (await currentFingerprint(ref.path)) ?? "", size: after.size };
  } finally {
    if (!renamed) await unlink(temp).catch(ignoreMissing);
  }
}

/**
 * Gives the new file the original's owner and group. A job that may not (not root, not a
 * member of the group) fails the file rather than hand it to another owner, which could lock
 * out the application that reads it.
 */
async function keepOwner(out: FileHandle, original: string): Promise<void> {
  let want;
  try {
    want = await stat(original);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new JobError("ERR_JOB_CONFLICT", "the file was deleted since it was read");
    throw e;
  }
  const have = await out.stat();
  if (have.uid === want.uid && have.gid === want.gid) return;
  try {
    await out.chown(want.uid, want.gid);
  } catch (e) {
    throw new JobError(
      "ERR_JOB_IO",
      `cannot give the rewritten file the original's owner ${want.uid}:${want.gid} ` +
        `(${(e as NodeJS.ErrnoException).code ?? String(e)}); the file is left as it was`,
      { cause: e },
    );
  }
}

async function* countedRead(path: string, ctx: JobContext): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    ctx.counters.bytes.read += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
}

/** Flushes a rename to disk: fsync of the directory (not supported on every platform). */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw e;
  } finally {
    await fh?.close();
  }
}

async function readBack(path: string, length: number): Promise<{ bytes: Uint8Array; size: number }> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(Math.min(length, size));
    let at = 0;
    while (at < buf.length) {
      const { bytesRead } = await fh.read(buf, at, buf.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return { bytes: buf.subarray(0, at), size };
  } finally {
    await fh.close();
  }
}

async function digestOf(path: string, keyArns: readonly string[], ctx: JobContext): Promise<string> {
  const keyring = verificationKeyring(ctx, keyArns);
  if (!keyring) throw new JobError("ERR_JOB_VERIFY", "no keyring can decrypt the file for full verification");
  return plaintextDigest(createReadStream(path), keyring, ctx);
}
