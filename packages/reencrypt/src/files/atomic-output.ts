/**
 * Output that is never half written: bytes go to a temporary file next to the destination
 * (same directory, so the final rename is atomic on the same file system), renamed into place
 * only when everything succeeded, and deleted on failure. `-` is stdout, where that guarantee
 * cannot exist (decrypt releases only authenticated frames, but a failure leaves a prefix).
 */
import { randomBytes } from "node:crypto";
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Writable } from "node:stream";
import { FileError, ioReason } from "./errors.js";
import { flushed } from "./flushed.js";

/** An output being written. */
export interface AtomicOutput {
  /** Where the bytes go. */
  readonly stream: Writable;
  /** The final path, or `-` for stdout. */
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
  const stream = handle.createWriteStream();
  let settled = false;
  return {
    stream,
    path,
    commit: async () => {
      settled = true;
      try {
        if (options.force) await rename(temp, target);
        else {
          // link() fails if the destination appeared meanwhile: never clobber without --force.
          await link(temp, target);
          await unlink(temp);
        }
      } catch (e) {
        await unlink(temp).catch(() => {});
        throw new FileError("ERR_OUTPUT", `cannot write ${path}: ${ioReason(e)}`, { cause: e });
      }
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
    },
  };
}
