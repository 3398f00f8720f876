/**
 * The job's durable checkpoint, of constant size whatever the number of objects done.
 *
 * A source yields objects in an order it can resume from (an S3 listing is lexicographic —
 * `StartAfter`; a manifest has its line order; a directory walk is sorted). The checkpoint keeps
 * a **watermark** — the position of the last entry such that every entry up to it is finished —
 * plus the few objects finished out of order above it (those in flight around a slow one), the
 * objects below it to try again (`failed` and `conflict` outcomes) and the outcome counts. A
 * resume starts the source after the watermark, skips the objects done above it, and first tries
 * the ones to try again. Time and memory to resume do not grow with the objects done.
 *
 * The file is JSONL: a header, a snapshot of that state, then one line per entry finished since
 * the snapshot, each written as it happens (a `kill -9` loses none of them; an `fsync` follows
 * within `flushEveryMs`). Every `compactEvery` lines the file is rewritten as header + snapshot
 * (temporary file, `fsync`, rename), so it stays a few kilobytes. A resumed job redoes only the
 * objects that were in flight: an object done but not yet recorded is planned again, found
 * `current`, and not written.
 *
 * The header holds everything that decides an object's outcome — mode, target and the key it
 * resolved to, the KMS scope, the entry filters, `includeCurrent`, the format limits. A
 * checkpoint of a job that differs in any of them is refused (its "done" means something else),
 * unless the caller starts it over (`fresh`). A torn last line (a crash mid-write) is ignored.
 */
import { open, rename, type FileHandle } from "node:fs/promises";
import type { FormatLimits } from "@rekey/core";
import { JobError } from "../errors.js";
import { removeAtExit } from "../support/temp-files.js";
import { refId, type ObjectRef } from "../model/object-ref.js";
import type { ObjectOutcome, ObjectResult } from "../model/object-result.js";
import type { Mutable } from "../support/mutable.js";

/** The format of the checkpoint file. */
export const CHECKPOINT_FORMAT = 3;

/**
 * The header line of a checkpoint file: every setting that changes which objects end done.
 * Settings that change only how an object is processed (verification, concurrency, part sizes)
 * are not in it.
 */
export interface CheckpointHeader {
  readonly rekeyCheckpoint: typeof CHECKPOINT_FORMAT;
  readonly mode: "rewrap" | "reencrypt";
  /** The target as given (`current`, `alias:NAME`, `key:ARN`). */
  readonly target: string;
  /** The key the target resolved to (absent for `current`). */
  readonly targetKeyArn?: string;
  /** Where the job's KMS client reaches (`us-east-1 (aws, account …)`); absent when not known. */
  readonly kmsScope?: string;
  /** `--from-key` ARNs; a set: compared in any order. */
  readonly fromKeys: readonly string[];
  readonly olderThanMaterial: boolean;
  readonly includeCurrent: boolean;
  /** Format limits other than the defaults (they decide what is `unreadable`). */
  readonly limits?: Partial<FormatLimits>;
  /** What the source is (`s3://bucket/prefix`, `manifest FILE`, `dir PATH`): positions are its own. */
  readonly source?: string;
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
  "source",
];

/** Outcomes that a resumed job does not redo. */
const DONE: ReadonlySet<ObjectOutcome> = new Set([
  "rewrapped",
  "reencrypted",
  "current",
  "esdk",
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
  /** `fsync` at least this often while lines wait. @default 200 */
  readonly flushEveryMs?: number;
  /** Rewrite the file as header + snapshot after this many lines. @default 128 */
  readonly compactEvery?: number;
}

/** An object to try again, as the snapshot keeps it. */
interface RetryEntry {
  readonly ref: ObjectRef;
  readonly outcome: ObjectOutcome;
  readonly reason?: string;
}

/** A reference as written: its identity's parts (`["s3", bucket, key, versionId|null]`, `["file", path]`). */
type WireRef = readonly (string | null)[];

/** An entry of the run that wrote a snapshot, finished above its watermark. */
type WireEnded = readonly [
  seq: number,
  ref: WireRef | null,
  outcome: ObjectOutcome | null,
  position?: string,
];

/** What a resume needs, and nothing that grows with the objects done. */
interface Snapshot {
  /** Every entry the source yielded up to this position is finished. */
  readonly after?: string;
  /** Objects an earlier run finished above `after`: skipped on resume. */
  readonly done: readonly (readonly [WireRef, ObjectOutcome])[];
  /** Objects below `after` to try again. */
  readonly retry: readonly RetryEntry[];
  /** Outcomes of the objects finished below `after` (and retried), over every run. */
  readonly counts: Partial<Record<ObjectOutcome, number>>;
  /**
   * The run that wrote the snapshot, for the lines after it: the sequence number at the
   * watermark, and its entries finished above it.
   */
  readonly run?: { readonly low: number; readonly ended: readonly WireEnded[] };
}

/** One entry finished, or an object tried again (in memory). */
interface EventLine {
  /** The entry's sequence number in its run (source entries only). */
  readonly s?: number;
  /** Its position (source entries only). */
  readonly p?: string;
  /** The object, when it was one. */
  readonly ref?: ObjectRef;
  /** Its outcome; absent when the entry was not an object this job runs (a bad line, another shard). */
  readonly o?: ObjectOutcome;
  readonly why?: string;
}

/**
 * An open checkpoint.
 *
 * @example
 * ```ts
 * const cp = await openCheckpoint("job.checkpoint.jsonl", header);
 * for (const { ref } of cp.retry) await cp.retried(await runObject(ref, ctx));
 * for await (const { entry, position } of source(cp.resumeAfter)) {
 *   const seq = cp.begin(position);
 *   await cp.end(seq, entry.kind === "invalid" || cp.isDone(entry) ? undefined : await runObject(entry, ctx));
 * }
 * await cp.close();
 * ```
 */
export interface Checkpoint {
  /** The file. */
  readonly path: string;
  /** Where the source resumes: after this position (`undefined`: from its start). */
  readonly resumeAfter: string | undefined;
  /** Objects below the watermark to try again first (`failed`, `conflict`). */
  readonly retry: readonly ObjectRef[];
  /** True when an earlier run finished this object (above the watermark). */
  isDone(ref: ObjectRef): boolean;
  /** Outcomes recorded by earlier runs (done objects, and those to try again). */
  readonly previous: Readonly<Partial<Record<ObjectOutcome, number>>>;
  /** Lines that could not be read (a torn write at the end). */
  readonly ignoredLines: number;
  /** The source yielded an entry at `position` (in the source's order); its sequence number. */
  begin(position: string): number;
  /**
   * The entry `seq` is finished: with its object's result, or none (a bad source line, an
   * object of another shard, one an earlier run finished). An entry never ended (in flight at a
   * stop) keeps the watermark below it: a resume runs it again.
   */
  end(seq: number, result?: ObjectResult): Promise<void>;
  /** The entry `seq` is an object an earlier run finished ({@link isDone}): not run again. */
  skip(seq: number, ref: ObjectRef): Promise<void>;
  /** An object of {@link retry} was tried again. */
  retried(result: ObjectResult): Promise<void>;
  /** Writes and fsyncs whatever is pending. */
  flush(): Promise<void>;
  /** Flushes, compacts and closes. */
  close(): Promise<void>;
}

/**
 * Opens (creating or resuming) a checkpoint file.
 *
 * @throws JobError `ERR_JOB_CHECKPOINT` when it cannot be read or belongs to another job (unless
 * `options.fresh`), or was written by an earlier rekey whose checkpoint held every object.
 * @example
 * ```ts
 * const cp = await openCheckpoint("job.jsonl", {
 *   rekeyCheckpoint: 3, mode: "rewrap", target: "current",
 *   fromKeys: [], olderThanMaterial: false, includeCurrent: false,
 * });
 * ```
 */
export async function openCheckpoint(
  path: string,
  header: CheckpointHeader,
  options: CheckpointOptions = {},
): Promise<Checkpoint> {
  const loaded = options.fresh ? undefined : await loadCheckpoint(path, header);
  const state = new Tracker(loaded?.snapshot ?? { done: [], retry: [], counts: {} });
  for (const e of loaded?.events ?? []) state.replay(e);
  state.newRun();
  const previous = state.previousCounts();
  const retryRefs = state.snapshot().retry.map((r) => r.ref);
  const compactEvery = options.compactEvery ?? 128;

  let fh: FileHandle;
  const writeCompacted = async (): Promise<void> => {
    const temp = `${path}.${process.pid}.tmp`;
    const out = await open(temp, "w");
    // An exit at once (a second Ctrl-C) mid-compaction leaves the previous file, and no temp file.
    let release = (): void => {};
    try {
      release = removeAtExit(temp, await out.stat());
      await out.write(`${JSON.stringify(header)}\n${JSON.stringify({ snapshot: state.snapshot() })}\n`);
      await out.sync();
    } finally {
      await out.close();
    }
    try {
      await rename(temp, path);
    } finally {
      release();
    }
  };
  try {
    await writeCompacted();
    fh = await open(path, "a");
  } catch (e) {
    throw new JobError("ERR_JOB_CHECKPOINT", `cannot write checkpoint ${path}`, { cause: e });
  }

  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let closed = false;
  let sinceCompaction = 0;
  let dirty = false;
  /** Appends a line now (a `kill -9` keeps it); compacts when due. Lines land in order. */
  const append = (line: EventLine): Promise<void> => {
    if (closed) return Promise.reject(new JobError("ERR_JOB_CHECKPOINT", "checkpoint is closed"));
    if (failure) return Promise.reject(failure as Error);
    const text = `${JSON.stringify(toWire(line))}\n`;
    chain = chain.then(async () => {
      if (failure) return;
      try {
        if (++sinceCompaction >= compactEvery) {
          await fh.close();
          await writeCompacted();
          fh = await open(path, "a");
          sinceCompaction = 0;
          dirty = false;
        } else {
          await fh.write(text);
          dirty = true;
        }
      } catch (e) {
        failure ??= new JobError("ERR_JOB_CHECKPOINT", `cannot write checkpoint ${path}`, { cause: e });
      }
    });
    return chain.then(() => {
      if (failure) throw failure;
    });
  };
  const flush = (): Promise<void> => {
    chain = chain.then(async () => {
      if (!dirty || failure) return;
      dirty = false;
      try {
        await fh.datasync();
      } catch (e) {
        failure ??= new JobError("ERR_JOB_CHECKPOINT", `cannot write checkpoint ${path}`, { cause: e });
      }
    });
    return chain.then(() => {
      if (failure) throw failure;
    });
  };
  const timer = setInterval(() => void flush().catch(() => undefined), options.flushEveryMs ?? 200);
  timer.unref();

  return {
    path,
    resumeAfter: state.after,
    retry: retryRefs,
    previous,
    ignoredLines: loaded?.ignored ?? 0,
    isDone: (ref) => state.isDone(ref),
    begin: (position) => state.begin(position),
    async end(seq, result) {
      await append(state.end(seq, result));
    },
    async skip(seq, ref) {
      await append(state.skip(seq, ref));
    },
    async retried(result) {
      await append(state.retried(result));
    },
    flush,
    async close() {
      if (closed) return;
      clearInterval(timer);
      await chain;
      closed = true;
      try {
        await fh.close();
        if (failure) throw failure;
        await writeCompacted();
      } catch (e) {
        if (e instanceof JobError) throw e;
        throw new JobError("ERR_JOB_CHECKPOINT", `cannot write checkpoint ${path}`, { cause: e });
      }
    },
  };
}

/** An entry of this run the watermark has not passed yet. */
interface OpenEntry {
  position: string;
  ended: boolean;
  ref?: ObjectRef;
  outcome?: ObjectOutcome;
  why?: string;
  /** Identity of an object an earlier run finished (`skip`). */
  doneId?: string;
}

/** The watermark and the sets around it, in memory. */
class Tracker {
  after: string | undefined;
  private readonly done: Map<string, ObjectOutcome>;
  private readonly retry: Map<string, RetryEntry>;
  private readonly counts: Partial<Record<ObjectOutcome, number>>;
  /** This run: entries begun, by sequence number, until the watermark passes them. */
  private readonly open = new Map<number, OpenEntry>();
  private next = 0;
  private low = 0;

  constructor(s: Snapshot) {
    this.after = s.after;
    this.done = new Map();
    for (const [wire, outcome] of s.done) {
      const ref = refFromWire(wire);
      if (ref) this.done.set(refId(ref), outcome);
    }
    this.retry = new Map(s.retry.map((r) => [refId(r.ref), r]));
    this.counts = { ...s.counts };
    if (s.run) {
      this.next = this.low = s.run.low;
      for (const [seq, wire, outcome, position] of s.run.ended) {
        const ref = wire ? refFromWire(wire) : undefined;
        this.fill(seq);
        this.open.set(seq, {
          position: position ?? (ref ? positionOf(ref) : ""),
          ended: true,
          ...(ref && outcome ? { ref, outcome } : ref ? { doneId: refId(ref) } : {}),
        });
      }
    }
  }

  /** Sequence numbers start again; what an earlier run left above the watermark is kept. */
  newRun(): void {
    for (const e of this.open.values())
      if (e.ended && e.ref && e.outcome && DONE.has(e.outcome)) this.done.set(refId(e.ref), e.outcome);
    this.open.clear();
    this.next = 0;
    this.low = 0;
  }

  /** Outcomes of the objects earlier runs finished (not those to try again). */
  previousCounts(): Partial<Record<ObjectOutcome, number>> {
    const c: Partial<Record<ObjectOutcome, number>> = { ...this.counts };
    for (const o of this.done.values()) c[o] = (c[o] ?? 0) + 1;
    return c;
  }

  isDone(ref: ObjectRef): boolean {
    return this.done.has(refId(ref));
  }

  begin(position: string): number {
    const seq = this.next++;
    this.open.set(seq, { position, ended: false });
    return seq;
  }

  end(seq: number, r?: ObjectResult): EventLine {
    const line: EventLine = {
      s: seq,
      p: this.entry(seq).position,
      ...(r ? { ref: r.ref, o: r.outcome, ...(DONE.has(r.outcome) ? {} : { why: r.reason }) } : {}),
    };
    this.apply(line);
    return line;
  }

  skip(seq: number, ref: ObjectRef): EventLine {
    const line: EventLine = { s: seq, p: this.entry(seq).position, ref };
    this.apply(line);
    return line;
  }

  retried(r: ObjectResult): EventLine {
    const line: EventLine = { ref: r.ref, o: r.outcome, ...(DONE.has(r.outcome) ? {} : { why: r.reason }) };
    this.apply(line);
    return line;
  }

  /** A line written after the snapshot, read back on resume. */
  replay(line: EventLine): void {
    if (line.s !== undefined && line.s >= this.next) {
      // Entries begin in order: the ones before this line's not yet ended were in flight.
      this.fill(line.s);
      this.open.set(line.s, { position: line.p ?? "", ended: false });
      this.next = line.s + 1;
    }
    this.apply(line);
  }

  private fill(seq: number): void {
    for (; this.next < seq; this.next++) this.open.set(this.next, { position: "", ended: false });
    if (this.next === seq) this.next++;
  }

  private entry(seq: number): OpenEntry {
    const e = this.open.get(seq);
    if (!e) throw new JobError("ERR_JOB_CHECKPOINT", `entry ${seq} was not begun`);
    return e;
  }

  private apply(line: EventLine): void {
    if (line.s === undefined) {
      // An object tried again.
      if (!line.ref || !line.o) return;
      const id = refId(line.ref);
      if (DONE.has(line.o)) {
        this.retry.delete(id);
        this.counts[line.o] = (this.counts[line.o] ?? 0) + 1;
      } else
        this.retry.set(id, { ref: line.ref, outcome: line.o, ...(line.why ? { reason: line.why } : {}) });
      return;
    }
    const entry = this.open.get(line.s);
    if (!entry) return;
    entry.ended = true;
    if (line.p !== undefined) entry.position = line.p;
    if (line.ref && line.o) {
      entry.ref = line.ref;
      entry.outcome = line.o;
      if (line.why) entry.why = line.why;
    } else if (line.ref) entry.doneId = refId(line.ref);
    // The watermark moves over every finished entry at its foot.
    for (let e = this.open.get(this.low); e?.ended; e = this.open.get(this.low)) {
      this.open.delete(this.low++);
      this.after = e.position;
      if (e.doneId !== undefined) {
        // Finished by an earlier run above its watermark: now below this one, counted.
        const o = this.done.get(e.doneId);
        this.done.delete(e.doneId);
        if (o) this.counts[o] = (this.counts[o] ?? 0) + 1;
      }
      if (!e.ref || !e.outcome) continue;
      const id = refId(e.ref);
      if (DONE.has(e.outcome)) this.counts[e.outcome] = (this.counts[e.outcome] ?? 0) + 1;
      else this.retry.set(id, { ref: e.ref, outcome: e.outcome, ...(e.why ? { reason: e.why } : {}) });
    }
  }

  /** The state to write. */
  snapshot(): Snapshot {
    const ended: WireEnded[] = [];
    for (const [seq, e] of this.open) {
      if (!e.ended) continue;
      // An object this run finished: its ref and outcome; one an earlier run finished (`skip`,
      // still in `done`): its ref without an outcome; anything else: its position only.
      const ref = e.ref ?? (e.doneId !== undefined ? refFromWire(JSON.parse(e.doneId)) : undefined);
      const outcome = e.ref && e.outcome ? e.outcome : null;
      const wire: WireEnded =
        ref !== undefined && positionOf(ref) === e.position
          ? [seq, toWireRef(ref), outcome]
          : [seq, ref ? toWireRef(ref) : null, outcome, e.position];
      ended.push(wire);
    }
    return Object.assign(
      {},
      this.after !== undefined ? { after: this.after } : undefined,
      {
        done: [...this.done].map(([id, o]) => [JSON.parse(id) as WireRef, o] as const),
        retry: [...this.retry.values()],
        counts: { ...this.counts },
      },
      this.open.size > 0 || this.low > 0 ? { run: { low: this.low, ended } } : undefined,
    );
  }
}

/** What a checkpoint file held. */
interface LoadedCheckpoint {
  readonly snapshot: Snapshot;
  readonly events: EventLine[];
  readonly ignored: number;
}

/** Reads a checkpoint: a header, a snapshot and at most `compactEvery` lines. */
async function loadCheckpoint(path: string, header: CheckpointHeader): Promise<LoadedCheckpoint | undefined> {
  let text: string;
  try {
    const fh = await open(path, "r");
    try {
      const size = (await fh.stat()).size;
      // A checkpoint of this format stays small; a large file is one of the per-object format.
      if (size > 64 * 1024 * 1024) return refuseOldFormat(path);
      text = (await fh.readFile()).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof JobError) throw e;
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new JobError("ERR_JOB_CHECKPOINT", `cannot read checkpoint ${path}`, { cause: e });
  }
  if (text === "") return undefined;
  const lines = text.split("\n");
  checkHeader(path, parseJson(lines[0] ?? ""), header);
  const second = parseJson(lines[1] ?? "") as { snapshot?: Snapshot } | undefined;
  if (!second?.snapshot)
    throw new JobError("ERR_JOB_CHECKPOINT", `${path} has no snapshot after its header: it is damaged`);
  const events: EventLine[] = [];
  let ignored = 0;
  for (const raw of lines.slice(2)) {
    if (raw === "") continue;
    const line = fromWire(parseJson(raw));
    if (!line) ignored++;
    else events.push(line);
  }
  return { snapshot: second.snapshot, events, ignored };
}

function refuseOldFormat(path: string): never {
  throw new JobError(
    "ERR_JOB_CHECKPOINT",
    `${path} was written by an earlier rekey whose checkpoint listed every object (format 1 or 2); ` +
      "this one keeps a watermark of constant size. Finish that job with the rekey that wrote it, " +
      "or start the checkpoint over (--fresh-checkpoint): objects already moved are found current and not rewritten",
  );
}

/** Throws unless `value` is the header of a checkpoint of this job. */
function checkHeader(path: string, value: unknown, header: CheckpointHeader): void {
  const first = value as Record<string, unknown> | undefined;
  const version = first?.["rekeyCheckpoint"];
  if (version === 1 || version === 2) refuseOldFormat(path);
  if (!first || version !== header.rekeyCheckpoint)
    throw new JobError("ERR_JOB_CHECKPOINT", `${path} is not a rekey checkpoint`);
  // fromKeys is a set: its order says nothing.
  const sorted = (v: unknown): unknown => (Array.isArray(v) ? [...(v as string[])].sort() : v);
  // Copies made by spreading: a "__proto__" key of the file stays an own property (Object.assign
  // would make it the copy's prototype, whose fields would then be read as the file's).
  const mine: Record<string, unknown> = { ...header };
  mine["fromKeys"] = sorted(header.fromKeys);
  const theirs: Record<string, unknown> = { ...first };
  theirs["fromKeys"] = sorted(first["fromKeys"]);
  const differences = HEADER_FIELDS.filter((k) => canonical(theirs[k]) !== canonical(mine[k])).map(
    (k) => `${k} ${canonical(theirs[k])} there, ${canonical(mine[k])} here`,
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

/**
 * An event as written: the object as its identity (`refId`), the position left out when it is
 * the object's key or path (an S3 listing, a directory walk).
 */
interface WireLine {
  readonly s?: number;
  readonly p?: string;
  readonly r?: WireRef;
  readonly o?: ObjectOutcome;
  readonly why?: string;
}

function toWire(line: EventLine): WireLine {
  const implied = line.ref && line.p === positionOf(line.ref);
  const wire: Mutable<WireLine> = {};
  if (line.s !== undefined) wire.s = line.s;
  if (line.p !== undefined && !implied) wire.p = line.p;
  if (line.ref) wire.r = toWireRef(line.ref);
  if (line.o) wire.o = line.o;
  if (line.why) wire.why = line.why;
  return wire;
}

function fromWire(value: unknown): EventLine | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const w = value as WireLine;
  const ref = w.r !== undefined ? refFromWire(w.r) : undefined;
  if (w.r !== undefined && !ref) return undefined;
  if (w.s !== undefined && typeof w.s !== "number") return undefined;
  const p = w.p ?? (ref ? positionOf(ref) : undefined);
  if (w.s !== undefined && p === undefined) return undefined;
  const line: Mutable<EventLine> = {};
  if (w.s !== undefined) line.s = w.s;
  if (p !== undefined) line.p = p;
  if (ref) line.ref = ref;
  if (w.o) line.o = w.o;
  if (w.why) line.why = w.why;
  return line;
}

/** The position a source of S3 keys, files or rows gives an object: its key, path or row key. */
function positionOf(ref: ObjectRef): string {
  return ref.kind === "file" ? ref.path : ref.key;
}

function toWireRef(ref: ObjectRef): WireRef {
  return JSON.parse(refId(ref)) as WireRef;
}

/** The reference a written identity names. */
function refFromWire(v: unknown): ObjectRef | undefined {
  if (!Array.isArray(v)) return undefined;
  if (v[0] === "file" && typeof v[1] === "string") return { kind: "file", path: v[1] };
  if (v[0] === "s3" && typeof v[1] === "string" && typeof v[2] === "string")
    return { kind: "s3", bucket: v[1], key: v[2], ...(typeof v[3] === "string" ? { versionId: v[3] } : {}) };
  if (v[0] === "row" && v.slice(1, 5).every((x) => typeof x === "string"))
    return { kind: "row", table: v[1], keyColumn: v[2], column: v[3], key: v[4] };
  return undefined;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
