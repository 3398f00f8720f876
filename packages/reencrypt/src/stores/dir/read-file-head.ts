/** The header read of a local file: its first bytes, more only when the parser needs them. */
import { open } from "node:fs/promises";
import type { FileObjectRef } from "../../model/object-ref.js";
import { completePrefix } from "../../planning/read-prefix.js";
import type { HeadReadSettings, StoredHead } from "../../model/object-store.js";
import type { JobCounters } from "../../support/job-counters.js";
import { JobError } from "../../errors.js";
import { fingerprintOf } from "./file-fingerprint.js";

/** What a file keeps besides its bytes. */
export interface FileAttributes {
  /** Permission bits (`0o7777`). */
  readonly mode: number;
}

/** What the header read of a file found; `etag` is the file's fingerprint. */
export interface FileHead extends StoredHead {
  readonly etag: string;
  readonly attributes: FileAttributes;
}

/**
 * Reads the header of one file.
 *
 * @example
 * ```ts
 * const head = await readFileHead({ kind: "file", path: "data/a.rkey" }, counters, { headerReadBytes: 4096 });
 * ```
 */
export async function readFileHead(
  ref: FileObjectRef,
  counters: JobCounters,
  settings: HeadReadSettings,
): Promise<FileHead> {
  let fh;
  try {
    fh = await open(ref.path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new JobError("ERR_JOB_CONFLICT", "the file was deleted since it was listed");
    throw new JobError("ERR_JOB_IO", `cannot open ${ref.path}: ${code ?? String(e)}`, { cause: e });
  }
  try {
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    const readRange = async (start: number, end: number): Promise<Uint8Array> => {
      const buf = Buffer.alloc(end - start);
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await fh.read(buf, at, buf.length - at, start + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      counters.bytes.read += at;
      return buf.subarray(0, at);
    };
    const first = await readRange(0, Math.min(size, settings.headerReadBytes));
    const read = await completePrefix(first, size, readRange, settings.limits);
    return {
      read,
      size,
      etag: fingerprintOf(st),
      attributes: { mode: Number(st.mode) & 0o7777 },
      bytes: "bytes" in read ? read.bytes : first,
    };
  } finally {
    await fh.close();
  }
}
