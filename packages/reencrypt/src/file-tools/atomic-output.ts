/**
 * Output that is never half written: bytes go to a temporary file next to the destination
 * (same directory, so the final rename is atomic on the same file system), flushed to disk
 * (`fsync`) and only then put in place when everything succeeded, and deleted on failure. `-` is
 * stdout, where that guarantee cannot exist (decrypt releases only authenticated frames, but a
 * failure leaves a prefix).
 *
 * Without `force` an existing file is never replaced: the temporary file is hard-linked to the
 * destination (`link` fails if the name exists). On a file system without hard links (FAT, exFAT,
 * some network and FUSE mounts: `EPERM`, `ENOTSUP`), the name is reserved with an exclusive create
 * and the temporary file renamed over that reservation — still never over someone else's file,
 * though an empty file is visible under the name for that moment.
 */
import { randomBytes } from "node:crypto";
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { removeAtExit } from "../support/temp-files.js";
import { FileError, ioReason } from "./errors.js";
import { flushed } from "./flushed.js";

/** `link` errors that mean "this file system has no hard links", not "not allowed". */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Puts `temp` at `target` unless `target` exists (then `EEXIST`). */
async function publishExclusive(temp: string, target: string, mode: number): Promise<void> {
  try {
    await link(temp, target);
  } catch (e) {
    if (!NO_HARD_LINKS.has(errnoOf(e) ?? "")) throw e;
    const reservation = await open(target, "wx", mode);
    // The empty reservation is this command's file until the output replaces it.
    let release = (): void => {};
    try {
      release = removeAtExit(target, await reservation.stat());
      await reservation.close();
      await rename(temp, target);
    } catch (renameError) {
      await unlink(target).catch(() => {});
      throw renameError;
    } finally {
      release();
    }
    return;
  }
  await unlink(temp);
}

/** Makes a rename or link in `dir` durable; best effort (not every platform can sync a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // e.g. Windows, or a file system that refuses fsync on directories: the data itself is synced.
  }
}

/** An output being written. */
export interface AtomicOutput {
  /** Where the bytes go. */
  readonly stream: Writable;
  /** The final path, `-` for stdout, or the `s3://bucket/key` of `openS3Output`. */
  readonly path: string;
  /** Makes the output visible (after the stream finished); for stdout, waits until it is written. */
  commit(): Promise<void>;
  /** Deletes the temporary file (idempotent; nothing to do for stdout). */
  abort(): Promise<void>;
}

/** Options of {@link openAtomicOutput}. */
export interface AtomicOutputOptions {
  /** Replace an existing file. @default false */
  readonly force?: boolean;
  /** File mode of the new file (plaintext gets 0o600). @default 0o666 (less the umask) */
  readonly mode?: number;
  /** The stream `-` means. */
  readonly stdout: Writable;
}

/**
 * Opens an output. Fails before anything is written when the destination exists (without
 * `force`) or its directory is not writable.
 *
 * @throws FileError `ERR_OUTPUT`.
 * @example
 * ```ts
 * const out = await openAtomicOutput("report.pdf.rkey", { stdout: process.stdout });
 * try { await pipeline(input, encryptStream({ keyring }), out.stream); await out.commit(); }
 * catch (e) { await out.abort(); throw e; }
 * ```
 */
export async function openAtomicOutput(path: string, options: AtomicOutputOptions): Promise<AtomicOutput> {
  if (path === "-") {
    // stdout is never ended, so the pipeline into it resolves with its last chunks possibly still
    // queued (a pipe takes them as its reader makes room): done means handed to the system.
    const stdout = options.stdout;
    return { stream: stdout, path, commit: () => flushed(stdout), abort: async () => {} };
  }
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new FileError("ERR_OUTPUT", `cannot write ${path}: it is a directory`);
  if (existing && !options.force) {
    throw new FileError("ERR_OUTPUT", `${path} already exists (use --force to replace it)`);
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.rekey-tmp`);
  let handle;
  try {
    handle = await open(temp, "wx", options.mode ?? 0o666);
  } catch (e) {
    throw new FileError("ERR_OUTPUT", `cannot write ${path}: ${ioReason(e)}`, { cause: e });
  }
  // Deleted even if the process exits before commit or abort (a second Ctrl-C).
  let release: () => void;
  try {
    release = removeAtExit(temp, await handle.stat());
  } catch (e) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw new FileError("ERR_OUTPUT", `cannot write ${path}: ${ioReason(e)}`, { cause: e });
  }
  // `flush`: the stream fsyncs the file before it closes, so what is put in place is on disk.
  const stream = handle.createWriteStream({ flush: true });
  const mode = options.mode ?? 0o666;
  let settled = false;
  return {
    stream,
    path,
    commit: async () => {
      settled = true;
      try {
        await finished(stream);
        // Without --force, never clobber a file that appeared meanwhile.
        if (options.force) await rename(temp, target);
        else await publishExclusive(temp, target, mode);
      } catch (e) {
        await unlink(temp).catch(() => {});
        release();
        const reason =
          errnoOf(e) === "EEXIST" ? "it already exists (use --force to replace it)" : ioReason(e);
        throw new FileError("ERR_OUTPUT", `cannot write ${path}: ${reason}`, { cause: e });
      }
      release();
      await syncDirectory(dirname(target));
    },
    abort: async () => {
      if (settled) return;
      settled = true;
      // The bytes are being thrown away: a write still in flight fails with ERR_STREAM_DESTROYED,
      // which must not surface as an unhandled 'error' (that would also stop 'close' coming).
      stream.on("error", () => {});
      if (!stream.closed) {
        const closed = new Promise<void>((r) => stream.once("close", () => r()));
        stream.destroy();
        await closed;
      }
      await unlink(temp).catch(() => {});
      release();
    },
  };
}

/**
 * Writes `data` to the file `path`, replacing it, through {@link openAtomicOutput}: the file is
 * the old one or the whole new one, never a part, even when the process exits at once (a second
 * Ctrl-C). `-` is a file named `-` here, not stdout.
 *
 * @throws FileError `ERR_OUTPUT` when it cannot be written.
 * @example
 * ```ts
 * await replaceFile("report.json", `${JSON.stringify(report, null, 2)}\n`);
 * ```
 */
export async function replaceFile(path: string, data: string): Promise<void> {
  const out = await openAtomicOutput(resolve(path), { force: true, stdout: process.stdout });
  try {
    out.stream.end(data);
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
}
