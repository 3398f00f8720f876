/**
 * The job's durable checkpoint: a JSONL file, one line per finished object, appended in batches
 * and `fsync`ed, so a crash or `kill -9` loses at most the last batch. On start the job loads it
 * and skips the objects it lists as done; an object done but not yet checkpointed is simply
 * planned again — it is now on the target, so the plan says `current` and nothing is written.
 *
 * First line: a header with everything that decides an object's outcome — mode, target and the
 * key it resolved to, the KMS scope, the entry filters (`fromKeys`, `olderThanMaterial`),
 * `includeCurrent`, the format limits. A checkpoint written by a job that differs in any of them
 * is refused (its "done" means something else: objects found `current` by `reencrypt` are not
 * done for `reencrypt --include-current`), unless the caller asks to start it over (`fresh`). A
 * torn last line (a crash mid-write) is ignored.
 *
 * Objects whose outcome is `conflict` or `failed` are recorded too (with the reason) but not
 * counted as done: a resumed job tries them again.
 *
 * The file is read line by line on start, so its length is not bounded by memory (nor by Node's
 * longest string). Memory: the done set holds one string per finished object (~100 bytes with
 * the Map's overhead), so a few million objects cost a few hundred MiB; shard larger jobs.
 */
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { FormatLimits } from "@rekey/core";
import { JobError } from "../errors.js";
import { refId, type ObjectRef } from "../model/object-ref.js";
import type { ObjectOutcome, ObjectResult } from "../model/object-result.js";

/**
 * The header line of a checkpoint file: every setting that changes which objects end done.
 * Settings that change only how an object is processed (verification, concurrency, part sizes)
 * are not in it.
 */
export interface CheckpointHeader {
  readonly rekeyCheckpoint: 2;
  readonly mode: "rewrap" | "reencrypt";
  /** The target as given (`current`, `alias:NAME`, `key:ARN`). */
  readonly target: string;
  /** The key the target resolved to (absent for `current`). */
  readonly targetKeyArn?: string;
  /** Where the job's KMS client reaches (`us-east-1 (aws, account …)`); absent when not known. */
  readonly kmsScope?: string;
  /** `--from-key` ARNs, sorted; empty for all keys. */
  readonly fromKeys: readonly string[];
  readonly olderThanMaterial: boolean;
  readonly includeCurrent: boolean;
  /** Format limits other than the defaults (they decide what is `unreadable`). */
  readonly limits?: Partial<FormatLimits>;
}

/** The header fields compared when a checkpoint is resumed, with their names for people. */
const HEADER_FIELDS: readonly (keyof CheckpointHeader)[] = [
  "mode",
  "target",
  "targetKeyArn",
  "kmsScope",
  "fromKeys",
  "olderThanMaterial",
  "includeCurrent",
  "limits",
];

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
  /**
   * Start the file over: whatever it holds (another job's header, earlier runs) is discarded.
   * @default false: a checkpoint of another job is refused
   */
  readonly fresh?: boolean;
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
 * @throws JobError `ERR_JOB_CHECKPOINT` when it cannot be read or belongs to another job (unless
 * `options.fresh`).
 *
 * @example
 * ```ts
 * const cp = await openCheckpoint("job.jsonl", {
 *   rekeyCheckpoint: 2, mode: "rewrap", target: "current",
 *   fromKeys: [], olderThanMaterial: false, includeCurrent: false,
 * });
 * ```
 */
export async function openCheckpoint(
  path: string,
  header: CheckpointHeader,
  options: CheckpointOptions = {},
): Promise<Checkpoint> {
  const loaded: LoadedCheckpoint = options.fresh
    ? { found: false, done: new Map(), ignored: 0, tornTail: false }
    : await loadCheckpoint(path, header);
  const { done, ignored } = loaded;
  const previous: Partial<Record<ObjectOutcome, number>> = {};
  for (const outcome of done.values()) previous[outcome] = (previous[outcome] ?? 0) + 1;

  let fh: FileHandle;
  try {
    fh = await open(path, options.fresh ? "w" : "a");
    if (!loaded.found) await fh.write(`${JSON.stringify(header)}\n`);
    else if (loaded.tornTail) await fh.write("\n");
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
    isDone: (ref) => done.has(refId(ref)),
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

/** What a checkpoint file held. */
interface LoadedCheckpoint {
  /** The file exists and has a header line. */
  readonly found: boolean;
  /** Done objects, by identity, with their latest outcome: the only thing held in memory. */
  readonly done: Map<string, ObjectOutcome>;
  readonly ignored: number;
  /** The file does not end with a newline: a write was cut short. */
  readonly tornTail: boolean;
}

/**
 * Reads a checkpoint line by line (a stream through `readline`), so a file of any length loads
 * with memory for the done set only — one string holding the whole file would fail past Node's
 * longest string (~512 MiB, a few million lines).
 */
async function loadCheckpoint(path: string, header: CheckpointHeader): Promise<LoadedCheckpoint> {
  const done = new Map<string, ObjectOutcome>();
  let size: number;
  let tornTail = false;
  try {
    const fh = await open(path, "r");
    try {
      size = (await fh.stat()).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        tornTail = last[0] !== 0x0a;
      }
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { found: false, done, ignored: 0, tornTail };
    throw new JobError("ERR_JOB_CHECKPOINT", `cannot read checkpoint ${path}`, { cause: e });
  }
  if (size === 0) return { found: false, done, ignored: 0, tornTail };
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let first = true;
  let ignored = 0;
  try {
    for await (const raw of lines) {
      if (first) {
        first = false;
        checkHeader(path, parseJson(raw), header);
        continue;
      }
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
  } catch (e) {
    if (e instanceof JobError) throw e;
    throw new JobError("ERR_JOB_CHECKPOINT", `cannot read checkpoint ${path}`, { cause: e });
  } finally {
    lines.close();
    input.destroy();
  }
  return { found: true, done, ignored, tornTail };
}

/** Throws unless `value` is the header of a checkpoint of this job. */
function checkHeader(path: string, value: unknown, header: CheckpointHeader): void {
  const first = value as Record<string, unknown> | undefined;
  const version = first?.["rekeyCheckpoint"];
  if (version === 1)
    throw new JobError(
      "ERR_JOB_CHECKPOINT",
      `${path} was written by an earlier rekey whose checkpoint does not record the job's filters: ` +
        "use another checkpoint file, or start it over (--fresh-checkpoint)",
    );
  if (!first || version !== header.rekeyCheckpoint)
    throw new JobError("ERR_JOB_CHECKPOINT", `${path} is not a rekey checkpoint`);
  // fromKeys is a set: its order says nothing (written sorted; compared sorted, also for a file
  // written by a caller that did not sort).
  const sorted = (v: unknown): unknown => (Array.isArray(v) ? [...(v as string[])].sort() : v);
  const mine = { ...header, fromKeys: sorted(header.fromKeys) } as unknown as Record<string, unknown>;
  first["fromKeys"] = sorted(first["fromKeys"]);
  const differences = HEADER_FIELDS.filter((k) => canonical(first[k]) !== canonical(mine[k])).map(
    (k) => `${k} ${canonical(first[k])} there, ${canonical(mine[k])} here`,
  );
  if (differences.length > 0)
    throw new JobError(
      "ERR_JOB_CHECKPOINT",
      `${path} belongs to another job (${differences.join("; ")}): objects it lists as finished may ` +
        "not be finished for this one. Use another checkpoint file, or start it over (--fresh-checkpoint)",
    );
}

/** JSON with object keys sorted, so equal settings compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (v === undefined) return "(none)";
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
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
