/**
 * The job's durable checkpoint: a JSONL file, one line per finished object, appended in batches
 * and `fsync`ed, so a crash or `kill -9` loses at most the last batch. On start the job loads it
 * and skips the objects it lists as done; an object done but not yet checkpointed is simply
 * planned again — it is now on the target, so the plan says `current` and nothing is written.
 *
 * First line: a header with the job's target and mode; a checkpoint written by a job with
 * another target or mode is refused (its "done" would mean something else). A torn last line (a
 * crash mid-write) is ignored.
 *
 * Objects whose outcome is `conflict` or `failed` are recorded too (with the reason) but not
 * counted as done: a resumed job tries them again.
 *
 * Memory: the done set holds one string per finished object (~100 bytes with the Set's
 * overhead), so a few million objects cost a few hundred MiB; shard larger jobs.
 */
import { open, readFile, type FileHandle } from "node:fs/promises";
import { JobError } from "../errors.js";
import { refId, type ObjectRef } from "../model/object-ref.js";
import type { ObjectOutcome, ObjectResult } from "../process/object-result.js";

/** The header line of a checkpoint file. */
export interface CheckpointHeader {
  readonly rekeyCheckpoint: 1;
  readonly mode: "rewrap" | "reencrypt";
  /** The target as given (`current`, `alias:NAME`, `key:ARN`). */
  readonly target: string;
  /** The key the target resolved to (absent for `current`). */
  readonly targetKeyArn?: string;
}

/** One object line. */
export interface CheckpointLine {
  readonly bucket?: string;
  readonly key?: string;
  readonly versionId?: string;
  readonly path?: string;
  readonly outcome: ObjectOutcome;
  readonly newEtag?: string;
  readonly code?: string;
  readonly reason?: string;
}

/** Outcomes that a resumed job does not redo. */
const DONE: ReadonlySet<ObjectOutcome> = new Set([
  "rewrapped",
  "reencrypted",
  "current",
  "foreign",
  "unreadable",
  "skipped",
]);

/** Options of {@link openCheckpoint}. */
export interface CheckpointOptions {
  /** Flush (write + fsync) after this many lines. @default 256 */
  readonly flushEveryLines?: number;
  /** Flush at least this often while lines wait. @default 200 */
  readonly flushEveryMs?: number;
}

/**
 * An open checkpoint.
 *
 * @example
 * ```ts
 * const cp = await openCheckpoint("job.checkpoint.jsonl", header);
 * if (!cp.isDone(ref)) await cp.record(await runObject(ref, ctx));
 * await cp.close();
 * ```
 */
export interface Checkpoint {
  /** The file. */
  readonly path: string;
  /** True when a previous run finished this object. */
  isDone(ref: ObjectRef): boolean;
  /** Outcomes loaded from previous runs (done objects only, latest per object). */
  readonly previous: Readonly<Partial<Record<ObjectOutcome, number>>>;
  /** Lines that could not be read (a torn write at the end). */
  readonly ignoredLines: number;
  /** Appends a line; resolves once it is written when a batch is due. */
  record(result: ObjectResult): Promise<void>;
  /** Writes and fsyncs whatever is pending. */
  flush(): Promise<void>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/**
 * Opens (creating or resuming) a checkpoint file.
 *
 * @throws JobError `ERR_JOB_CHECKPOINT` when it cannot be read or belongs to another job.
 *
 * @example
 * ```ts
 * const cp = await openCheckpoint("job.jsonl", { rekeyCheckpoint: 1, mode: "rewrap", target: "current" });
 * ```
 */
export async function openCheckpoint(
  path: string,
  header: CheckpointHeader,
  options: CheckpointOptions = {},
): Promise<Checkpoint> {
  const done = new Map<string, ObjectOutcome>();
  let ignored = 0;
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT")
      throw new JobError("ERR_JOB_CHECKPOINT", `cannot read checkpoint ${path}`, { cause: e });
  }
  let needsHeader = true;
  let tornTail = false;
  if (text !== undefined && text.length > 0) {
    const lines = text.split("\n");
    const first = parseJson(lines[0] ?? "") as Partial<CheckpointHeader> | undefined;
    if (first?.rekeyCheckpoint !== 1)
      throw new JobError("ERR_JOB_CHECKPOINT", `${path} is not a rekey checkpoint`);
    if (
      first.mode !== header.mode ||
      first.target !== header.target ||
      first.targetKeyArn !== header.targetKeyArn
    )
      throw new JobError(
        "ERR_JOB_CHECKPOINT",
        `${path} belongs to a job with target ${first.target} (${first.targetKeyArn ?? "each key's current material"}) ` +
          `and mode ${first.mode}; this job has target ${header.target} (${header.targetKeyArn ?? "each key's current material"}) ` +
          `and mode ${header.mode}: use another checkpoint file`,
      );
    needsHeader = false;
    for (let i = 1; i < lines.length; i++) {
      const raw = lines[i] ?? "";
      if (raw === "") continue;
      const line = parseJson(raw) as CheckpointLine | undefined;
      const id = line ? lineId(line) : undefined;
      if (!line || !id) {
        ignored++;
        continue;
      }
      if (DONE.has(line.outcome)) done.set(id, line.outcome);
      else done.delete(id);
    }
    // A torn last line has no newline; the next write starts on a line of its own.
    tornTail = !text.endsWith("\n");
  }
  const previous: Partial<Record<ObjectOutcome, number>> = {};
  for (const outcome of done.values()) previous[outcome] = (previous[outcome] ?? 0) + 1;
  const doneIds = new Set(done.keys());
  done.clear();

  let fh: FileHandle;
  try {
    fh = await open(path, "a");
    if (needsHeader) await fh.write(`${JSON.stringify(header)}\n`);
    else if (tornTail) await fh.write("\n");
    await fh.sync();
  } catch (e) {
    throw new JobError("ERR_JOB_CHECKPOINT", `cannot write checkpoint ${path}`, { cause: e });
  }
  const everyLines = options.flushEveryLines ?? 256;
  const everyMs = options.flushEveryMs ?? 200;
  let buffer: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let closed = false;

  const flush = (): Promise<void> => {
    const lines = buffer;
    buffer = [];
    // Flushes are chained so lines land in order and never interleave.
    chain = chain.then(async () => {
      if (lines.length === 0) return;
      try {
        await fh.write(lines.join(""));
        await fh.datasync();
      } catch (e) {
        failure ??= new JobError("ERR_JOB_CHECKPOINT", `cannot write checkpoint ${path}`, { cause: e });
      }
    });
    return chain.then(() => {
      if (failure) throw failure;
    });
  };
  // A timer flushes a partial batch; its errors surface on the next record/flush/close.
  const timer = setInterval(() => {
    if (buffer.length > 0) flush().catch(() => undefined);
  }, everyMs);
  timer.unref();

  return {
    path,
    previous,
    ignoredLines: ignored,
    isDone: (ref) => doneIds.has(refId(ref)),
    async record(result) {
      if (closed) throw new JobError("ERR_JOB_CHECKPOINT", "checkpoint is closed");
      if (failure) throw failure;
      buffer.push(`${JSON.stringify(toLine(result))}\n`);
      if (buffer.length >= everyLines) await flush();
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      try {
        await flush();
      } finally {
        await fh.close();
      }
    },
  };
}

function toLine(r: ObjectResult): CheckpointLine {
  const where =
    r.ref.kind === "s3"
      ? { bucket: r.ref.bucket, key: r.ref.key, ...(r.ref.versionId ? { versionId: r.ref.versionId } : {}) }
      : { path: r.ref.path };
  const failed = r.outcome === "failed" || r.outcome === "conflict";
  return {
    ...where,
    outcome: r.outcome,
    ...(r.newEtag ? { newEtag: r.newEtag } : {}),
    ...(failed && r.code ? { code: r.code } : {}),
    ...(failed ? { reason: r.reason } : {}),
  };
}

function lineId(line: CheckpointLine): string | undefined {
  if (typeof line.outcome !== "string") return undefined;
  if (typeof line.path === "string") return refId({ kind: "file", path: line.path });
  if (typeof line.bucket === "string" && typeof line.key === "string")
    return refId({
      kind: "s3",
      bucket: line.bucket,
      key: line.key,
      ...(typeof line.versionId === "string" ? { versionId: line.versionId } : {}),
    });
  return undefined;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
