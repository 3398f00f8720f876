/**
 * The directory store: {@link ObjectStore} over local files. A file's version token is its
 * fingerprint (device, inode, size, mtime). A write goes to a temporary file in the same
 * directory (`.<name>.<random>.rekey-tmp`), is flushed with `fsync`, and is renamed over the
 * original only if the original still has the planned fingerprint — a reader sees the old file
 * or the new one, never a mix, and a crash leaves at most a temporary file behind. (The check and
 * the rename are two steps: a writer that lands in between is not detected. S3's `If-Match` has
 * no such gap.) The new file keeps the original's mode, owner and group.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { JobError } from "../../errors.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import type { FileObjectRef, ObjectRef } from "../../model/object-ref.js";
import type {
  HeadBytes,
  HeadReadSettings,
  ObjectStore,
  StoreWriteMode,
  StoredHead,
  WrittenVersion,
} from "../../model/object-store.js";
import { sameBytes } from "../../support/bytes.js";
import { removeAtExit } from "../../support/temp-files.js";
import type { JobCounters } from "../../support/job-counters.js";
import { currentFingerprint } from "./file-fingerprint.js";
import { readFileHead, type FileAttributes } from "./read-file-head.js";

/** Suffix of the store's temporary files (the directory source skips them). */
export const TEMP_SUFFIX = ".rekey-tmp";

/** Writes to a local file are always conditional (on its fingerprint): nothing to probe. */
const LOCAL: StoreWriteMode = { unconditional: false };

/**
 * Local files.
 *
 * @example
 * ```ts
 * const store = new DirStore(counters, { headerReadBytes: 4096 });
 * const head = await store.readHead({ kind: "file", path: "data/a.rkey" });
 * ```
 */
export class DirStore implements ObjectStore {
  constructor(
    private readonly counters: JobCounters,
    private readonly settings: HeadReadSettings,
  ) {}

  readHead(ref: ObjectRef): Promise<StoredHead> {
    return readFileHead(fileRefOf(ref), this.counters, this.settings);
  }

  writeMode(): Promise<StoreWriteMode> {
    return Promise.resolve(LOCAL);
  }

  async openPinned(plan: ObjectPlan): Promise<Readable> {
    const path = fileRefOf(plan.ref).path;
    await this.checkUnchanged(path, plan);
    return Readable.from(this.pinnedBytes(path, plan), { objectMode: false });
  }

  replacePrefix(plan: ObjectPlan, prefix: Uint8Array): Promise<WrittenVersion> {
    const path = fileRefOf(plan.ref).path;
    const bodyOffset = (plan.prefix as NonNullable<ObjectPlan["prefix"]>).bodyOffset;
    return this.replace(plan, async (out) => {
      await out.write(prefix);
      this.counters.bytes.written += prefix.length;
      let at = 0;
      for await (const chunk of this.pinnedBytes(path, plan)) {
        // Skip the old prefix; the body follows byte for byte.
        const b = at + chunk.length <= bodyOffset ? undefined : chunk.subarray(Math.max(0, bodyOffset - at));
        at += chunk.length;
        if (!b) continue;
        await out.write(b);
        this.counters.bytes.written += b.length;
      }
      if (at !== plan.size) throw new JobError("ERR_JOB_CONFLICT", "the file changed size since it was read");
      return prefix.length + plan.size - bodyOffset;
    });
  }

  replaceWhole(plan: ObjectPlan, source: AsyncIterable<Buffer>): Promise<WrittenVersion & { size: number }> {
    return this.replace(plan, async (out) => {
      let size = 0;
      for await (const chunk of source) {
        await out.write(chunk);
        size += chunk.length;
        this.counters.bytes.written += chunk.length;
      }
      return size;
    });
  }

  async readCurrent(ref: ObjectRef, length: number): Promise<(HeadBytes & WrittenVersion) | undefined> {
    const path = fileRefOf(ref).path;
    try {
      const first = await readFirst(path, length);
      const etag = await currentFingerprint(path);
      return Object.assign({}, first, etag ? { etag } : undefined);
    } catch {
      return undefined;
    }
  }

  async readBack(ref: ObjectRef, written: WrittenVersion): Promise<HeadBytes>;
  async readBack(ref: ObjectRef, written: WrittenVersion, length?: number): Promise<HeadBytes> {
    const path = fileRefOf(ref).path;
    const back = await readFirst(path, length ?? 0);
    if (written.etag !== undefined && (await currentFingerprint(path)) !== written.etag)
      throw new JobError("ERR_JOB_CONFLICT", "verify: another writer replaced the file after the rewrite");
    return back;
  }

  openWritten(ref: ObjectRef): Promise<Readable> {
    return Promise.resolve(createReadStream(fileRefOf(ref).path));
  }

  /** The planned version's bytes, counted; the header compared with the plan's as it passes. */
  private async *pinnedBytes(path: string, plan: ObjectPlan): AsyncGenerator<Buffer> {
    const head = plan.headBytes;
    let seen = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      const b = chunk as Buffer;
      this.counters.bytes.read += b.length;
      if (head && seen < head.length) {
        const n = Math.min(head.length - seen, b.length);
        if (!sameBytes(b.subarray(0, n), head.subarray(seen, seen + n)))
          throw new JobError("ERR_JOB_CONFLICT", "the file's header changed since it was planned");
      }
      seen += b.length;
      yield b;
    }
    if (head && seen < head.length)
      throw new JobError("ERR_JOB_CONFLICT", "the file's header changed since it was planned");
  }

  private async checkUnchanged(path: string, plan: ObjectPlan): Promise<void> {
    const now = await currentFingerprint(path);
    if (now !== plan.etag)
      throw new JobError(
        "ERR_JOB_CONFLICT",
        now === undefined ? "the file was deleted since it was read" : "the file changed since it was read",
      );
  }

  /** Writes the temp file with `fill`, checks the original is unchanged, renames. */
  private async replace(
    plan: ObjectPlan,
    fill: (out: FileHandle) => Promise<number>,
  ): Promise<WrittenVersion & { size: number }> {
    const path = fileRefOf(plan.ref).path;
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
    const mode = (plan.attributes as FileAttributes | undefined)?.mode;
    let renamed = false;
    // Deleted even if the process exits at once (a second Ctrl-C) before the rename.
    let release = (): void => {};
    try {
      const out = await open(temp, "wx", 0o600);
      let size: number;
      try {
        release = removeAtExit(temp, await out.stat());
        // The mode given to open() is filtered by the umask; set it exactly.
        if (mode !== undefined) await out.chmod(mode);
        size = await fill(out);
        await keepOwner(out, path);
        await out.sync();
      } finally {
        await out.close();
      }
      await this.checkUnchanged(path, plan);
      await rename(temp, path);
      renamed = true;
      await syncDirectory(dir);
      return { etag: (await currentFingerprint(path)) ?? "", size };
    } finally {
      if (!renamed) await unlink(temp).catch(ignoreMissing);
      release();
    }
  }
}

function fileRefOf(ref: ObjectRef): FileObjectRef {
  if (ref.kind !== "file")
    throw new JobError("ERR_JOB_INVALID_OPTION", `the directory store was given a ${ref.kind} object`);
  return ref;
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

async function readFirst(path: string, length: number): Promise<{ bytes: Uint8Array; size: number }> {
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
