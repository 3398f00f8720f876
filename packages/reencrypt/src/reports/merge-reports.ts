/**
 * One report across workers: the JSON reports of `rekey rewrap` / `rekey reencrypt` runs (one
 * per shard or worker) and S3 Batch Operations completion reports, summed into one. Counts per
 * outcome, per source key and per key material, bytes and requests are added; the failures are
 * listed (up to the same cap as a run's); the exit code is the one a single run over all the
 * objects would have set. Memory is O(keys + listed failures), never O(objects): completion
 * reports are streamed row by row.
 *
 * Batch Operations rows carry no size and no keys: they count in objects and outcomes (read back
 * from the handler's result string) and in the tasks by result, not in bytes or per key. Objects
 * are not de-duplicated across inputs: give each object's last report once (a shard's report and
 * the completion report of a job that retried that shard's failures count those objects twice).
 */
import { open, readFile } from "node:fs/promises";
import { JobError } from "../errors.js";
import { OBJECT_OUTCOMES, SUCCESS_OUTCOMES, type ObjectOutcome } from "../model/object-result.js";
import {
  MAX_LISTED_FAILURES,
  runVerdict,
  type JobReport,
  type JobStop,
  type KeyStats,
  type ReportedFailure,
} from "../runner/job-report.js";
import type { TargetSummary } from "../runner/target-summary.js";
import { outcomeOfResult, readCompletionReport, type CompletionRow } from "./completion-report.js";

/** One input of a merge. */
export interface MergedInput {
  readonly file: string;
  readonly kind: "run" | "batch-operations";
  /** Objects (run) or tasks (completion report) it holds. */
  readonly objects: number;
  /** A run's own exit code. */
  readonly exitCode?: number;
}

/** Tasks of S3 Batch Operations completion reports. */
export interface BatchOperationsTasks {
  readonly tasks: number;
  /** `succeeded` / `failed`. */
  readonly byTaskStatus: Record<string, number>;
  /** Failed tasks by the function's result code (`PermanentFailure`, `TemporaryFailure`, …). */
  readonly byErrorCode: Record<string, number>;
  /** Failed tasks whose message is not the handler's (a timeout, a function error). */
  readonly withoutOutcome: number;
}

/** The merged report: a run report's counts, over every input. */
export interface MergedReport extends Pick<
  JobReport,
  | "interrupted"
  | "stopped"
  | "complete"
  | "exitCode"
  | "objects"
  | "outcomes"
  | "fromCheckpoint"
  | "invalidSourceEntries"
  | "excluded"
  | "strict"
  | "bySourceKey"
  | "bySourceMaterial"
  | "bytes"
  | "kms"
  | "s3"
  | "postgres"
  | "esdk"
  | "materialUnproven"
  | "unconditionalWrites"
  | "keptEntries"
  | "failures"
  | "failuresOmitted"
> {
  readonly reportVersion: 1;
  readonly kind: "merged";
  readonly inputs: readonly MergedInput[];
  /** The runs' mode (absent when only completion reports were merged). */
  readonly mode?: "rewrap" | "reencrypt";
  /** The runs' target. */
  readonly target?: TargetSummary;
  /** Earliest start and latest finish of the runs. */
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** From the earliest start to the latest finish of the runs. */
  readonly wallMs: number;
  /** The runs' durations added: what one worker would have taken at their rates. */
  readonly workerMs: number;
  readonly batchOperations: BatchOperationsTasks;
  /** The runs' notes, each once. */
  readonly notes: string[];
}

const add = (to: Record<string, number>, from: Readonly<Record<string, number | undefined>>): void => {
  for (const [k, v] of Object.entries(from)) to[k] = (to[k] ?? 0) + (v ?? 0);
};

function emptyRequests(): {
  requests: number;
  byOperation: Record<string, number>;
  retries: number;
  throttled: number;
} {
  return { requests: 0, byOperation: {}, retries: 0, throttled: 0 };
}

/**
 * Accumulates a {@link MergedReport} from run reports and completion report rows.
 *
 * @example
 * ```ts
 * const m = new ReportMerger();
 * m.addRun(JSON.parse(await readFile("shard-0.json", "utf8")), "shard-0.json");
 * const merged = m.finish();
 * ```
 */
export class ReportMerger {
  private readonly inputs: MergedInput[] = [];
  private mode: "rewrap" | "reencrypt" | undefined;
  private target: TargetSummary | undefined;
  private started: number | undefined;
  private finished: number | undefined;
  private workerMs = 0;
  private interrupted = false;
  private stopped: JobStop | undefined;
  private objects = 0;
  private readonly outcomes = Object.fromEntries(OBJECT_OUTCOMES.map((o) => [o, 0])) as Record<
    ObjectOutcome,
    number
  >;
  private readonly fromCheckpoint: Record<string, number> = {};
  private invalid = 0;
  private excluded = 0;
  private strict = false;
  private readonly bySourceKey: Record<string, KeyStats> = {};
  private readonly bySourceMaterial: Record<string, KeyStats & { keyArns: string[] }> = {};
  private readonly bytes = { objects: 0, read: 0, written: 0, copiedServerSide: 0 };
  private readonly kms = emptyRequests();
  private readonly s3 = emptyRequests();
  private readonly postgres = emptyRequests();
  private readonly tasks = { tasks: 0, byTaskStatus: {}, byErrorCode: {}, withoutOutcome: 0 } as {
    tasks: number;
    byTaskStatus: Record<string, number>;
    byErrorCode: Record<string, number>;
    withoutOutcome: number;
  };
  private readonly esdk = { migrated: 0, droppedContextKeys: {} as Record<string, number> };
  private unproven = 0;
  private unconditional = 0;
  private readonly kept = { objects: 0, entries: 0 };
  private readonly notes = new Set<string>();
  private readonly failures: ReportedFailure[] = [];
  private failuresOmitted = 0;

  /**
   * Adds the report of one run.
   *
   * @throws JobError `ERR_JOB_REPORT` when it is not a run report, or its mode or target differs
   * from the runs added before (reports of different jobs do not add up).
   */
  addRun(r: JobReport, file: string): void {
    if ((r as { kind?: unknown }).kind !== "run" || r.reportVersion !== 1)
      throw new JobError(
        "ERR_JOB_REPORT",
        `${file}: not the report of a run (kind "${String((r as { kind?: unknown }).kind)}"); plan reports cannot be merged`,
      );
    if (this.mode !== undefined && (r.mode !== this.mode || r.target.spec !== this.target?.spec))
      throw new JobError(
        "ERR_JOB_REPORT",
        `${file}: a ${r.mode} run to target ${r.target.spec}, but the reports before it are of a ${this.mode} run to ${this.target?.spec ?? "?"}`,
      );
    this.mode = r.mode;
    this.target ??= r.target;
    this.inputs.push({ file, kind: "run", objects: r.objects, exitCode: r.exitCode });
    const start = Date.parse(r.startedAt);
    const end = Date.parse(r.finishedAt);
    if (Number.isFinite(start)) this.started = Math.min(this.started ?? start, start);
    if (Number.isFinite(end)) this.finished = Math.max(this.finished ?? end, end);
    this.workerMs += r.durationMs;
    this.interrupted ||= r.interrupted;
    this.stopped ??= r.stopped;
    this.objects += r.objects;
    add(this.outcomes, r.outcomes);
    add(this.fromCheckpoint, r.fromCheckpoint);
    this.invalid += r.invalidSourceEntries;
    // Reports written before --include / --exclude and --strict have neither.
    this.excluded += r.excluded ?? 0;
    this.strict ||= r.strict === true;
    for (const [arn, s] of Object.entries(r.bySourceKey)) {
      const t = (this.bySourceKey[arn] ??= { objects: 0, bytes: 0, outcomes: {} });
      t.objects += s.objects;
      t.bytes += s.bytes;
      add(t.outcomes, s.outcomes);
    }
    for (const [id, s] of Object.entries(r.bySourceMaterial)) {
      const t = (this.bySourceMaterial[id] ??= { objects: 0, bytes: 0, outcomes: {}, keyArns: [] });
      t.objects += s.objects;
      t.bytes += s.bytes;
      add(t.outcomes, s.outcomes);
      for (const arn of s.keyArns) if (!t.keyArns.includes(arn)) t.keyArns.push(arn);
    }
    this.bytes.objects += r.bytes.objects;
    this.bytes.read += r.bytes.read;
    this.bytes.written += r.bytes.written;
    this.bytes.copiedServerSide += r.bytes.copiedServerSide;
    for (const [to, from] of [
      [this.kms, r.kms],
      [this.s3, r.s3],
      // Reports written before PostgreSQL sources have no `postgres`.
      [this.postgres, r.postgres ?? emptyRequests()],
    ] as const) {
      to.requests += from.requests;
      add(to.byOperation, from.byOperation);
      to.retries += from.retries;
      to.throttled += from.throttled;
    }
    // Reports written before ESDK migration have no `esdk`.
    this.esdk.migrated += r.esdk?.migrated ?? 0;
    add(this.esdk.droppedContextKeys, r.esdk?.droppedContextKeys ?? {});
    this.unproven += r.materialUnproven;
    this.unconditional += r.unconditionalWrites;
    this.kept.objects += r.keptEntries.objects;
    this.kept.entries += r.keptEntries.entries;
    for (const n of r.notes) this.notes.add(n);
    for (const f of r.failures) this.listFailure(f);
    this.failuresOmitted += r.failuresOmitted;
  }

  /** Adds the rows of one completion report. */
  async addCompletionReport(rows: AsyncIterable<CompletionRow>, file: string): Promise<void> {
    let n = 0;
    for await (const row of rows) {
      n++;
      this.addTask(row);
    }
    this.inputs.push({ file, kind: "batch-operations", objects: n });
  }

  private addTask(row: CompletionRow): void {
    this.objects++;
    this.tasks.tasks++;
    add(this.tasks.byTaskStatus, { [row.taskStatus]: 1 });
    if (row.taskStatus === "failed") add(this.tasks.byErrorCode, { [row.errorCode || "(none)"]: 1 });
    const said = outcomeOfResult(row.resultMessage);
    // Keys are as the manifest had them, URL-encoded; failures name objects as runs do.
    let key = row.key;
    try {
      key = decodeURIComponent(row.key.replace(/\+/g, " "));
    } catch {
      // Not valid URL encoding: shown as written.
    }
    const object = `s3://${row.bucket}/${key}${row.versionId ? `?versionId=${row.versionId}` : ""}`;
    if (said === undefined) {
      if (row.taskStatus === "succeeded")
        throw new JobError(
          "ERR_JOB_REPORT",
          `${object}: a succeeded task whose result is not the rekey handler's ("${row.resultMessage.slice(0, 80)}"): not a completion report of a rekey job`,
        );
      this.tasks.withoutOutcome++;
      this.outcomes.failed++;
      this.listFailure({
        object,
        outcome: "failed",
        code: row.errorCode || `HTTP ${row.httpStatus}`,
        reason: row.resultMessage,
      });
      return;
    }
    // A succeeded task is on the target whatever its message says; a failed one is not.
    const outcome =
      row.taskStatus === "succeeded" || !SUCCESS_OUTCOMES.has(said.outcome) ? said.outcome : "failed";
    this.outcomes[outcome]++;
    if (!SUCCESS_OUTCOMES.has(outcome) && outcome !== "skipped")
      this.listFailure({ object, outcome, ...(said.code ? { code: said.code } : {}), reason: said.reason });
  }

  /** The merged report. */
  finish(): MergedReport {
    const { complete, exitCode } = runVerdict({
      interrupted: this.interrupted,
      ...(this.stopped ? { stopped: this.stopped } : {}),
      outcomes: this.outcomes,
      fromCheckpoint: this.fromCheckpoint,
      invalid: this.invalid,
      strict: this.strict,
    });
    const notes = [...this.notes];
    const taskOnly = this.tasks.tasks;
    if (taskOnly > 0)
      notes.push(
        `${taskOnly} S3 Batch Operations task(s) carry no size or keys: they count in objects and outcomes, not in bytes or per key.`,
      );
    return {
      reportVersion: 1,
      kind: "merged",
      inputs: this.inputs,
      ...(this.mode ? { mode: this.mode } : {}),
      ...(this.target ? { target: this.target } : {}),
      ...(this.started !== undefined ? { startedAt: new Date(this.started).toISOString() } : {}),
      ...(this.finished !== undefined ? { finishedAt: new Date(this.finished).toISOString() } : {}),
      wallMs: this.started !== undefined && this.finished !== undefined ? this.finished - this.started : 0,
      workerMs: this.workerMs,
      interrupted: this.interrupted,
      ...(this.stopped ? { stopped: this.stopped } : {}),
      complete,
      exitCode,
      objects: this.objects,
      outcomes: { ...this.outcomes },
      fromCheckpoint: { ...this.fromCheckpoint } as Partial<Record<ObjectOutcome, number>>,
      invalidSourceEntries: this.invalid,
      excluded: this.excluded,
      strict: this.strict,
      bySourceKey: this.bySourceKey,
      bySourceMaterial: this.bySourceMaterial,
      bytes: { ...this.bytes },
      kms: this.kms,
      s3: this.s3,
      postgres: this.postgres,
      esdk: { migrated: this.esdk.migrated, droppedContextKeys: { ...this.esdk.droppedContextKeys } },
      batchOperations: this.tasks,
      materialUnproven: this.unproven,
      unconditionalWrites: this.unconditional,
      keptEntries: { ...this.kept },
      notes,
      failures: this.failures,
      failuresOmitted: this.failuresOmitted,
    };
  }

  private listFailure(f: ReportedFailure): void {
    if (this.failures.length < MAX_LISTED_FAILURES) this.failures.push(f);
    else this.failuresOmitted++;
  }
}

/**
 * Merges report files: JSON run reports (`rekey rewrap --report`) and S3 Batch Operations
 * completion reports (CSV, `.gz` too), told apart by their first byte.
 *
 * @throws JobError `ERR_JOB_REPORT` for a file that cannot be read or is neither, or reports of
 * different jobs.
 * @example
 * ```ts
 * const merged = await mergeReportFiles(["shard-0.json", "shard-1.json", "results/6217b0.csv"]);
 * console.log(merged.objects, merged.outcomes.rewrapped, merged.exitCode);
 * ```
 */
export async function mergeReportFiles(files: readonly string[]): Promise<MergedReport> {
  if (files.length === 0) throw new JobError("ERR_JOB_REPORT", "name at least one report to merge");
  const merger = new ReportMerger();
  for (const file of files) {
    if ((await firstByte(file)) === "{") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(file, "utf8"));
      } catch (e) {
        throw new JobError("ERR_JOB_REPORT", `${file}: not a JSON report`, { cause: e });
      }
      merger.addRun(parsed as JobReport, file);
    } else await merger.addCompletionReport(readCompletionReport(file), file);
  }
  return merger.finish();
}

async function firstByte(file: string): Promise<string> {
  if (file.endsWith(".gz")) return "";
  let handle;
  try {
    handle = await open(file);
  } catch (e) {
    throw new JobError("ERR_JOB_REPORT", `cannot read ${file}`, { cause: e });
  }
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buf, 0, 64, 0);
    return buf.subarray(0, bytesRead).toString("utf8").trimStart().charAt(0);
  } finally {
    await handle.close();
  }
}
