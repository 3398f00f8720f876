/**
 * The report of a run: counts per outcome, per source key and per key material, bytes through
 * the job and copied server-side, KMS and S3 requests, duration, every failure with its reason,
 * and the exit code it implies. Built incrementally as objects finish (O(keys + failures)
 * memory, never O(objects)).
 */
import { EXIT_CODES, exitCodeOf } from "../errors.js";
import { describeRef, type InvalidSourceEntry } from "../model/object-ref.js";
import {
  OBJECT_OUTCOMES,
  SUCCESS_OUTCOMES,
  type ObjectOutcome,
  type ObjectResult,
} from "../model/object-result.js";
import type { CountedService, JobCounters } from "../support/job-counters.js";
import type { TargetSummary } from "./target-summary.js";
import type { VerifyLevel } from "./job-context.js";
import type { StoreCapabilities } from "../stores/s3/probe-store.js";

/** Most failures and invalid entries listed one by one (the checkpoint keeps every line). */
export const MAX_LISTED_FAILURES = 10_000;

/** The exit codes (one table for every command; see `EXIT_CODES` in errors.ts). */
export { EXIT_CODES };

/**
 * Whether a run (or runs merged) left every object on the target, and the exit code that says
 * so (see `EXIT_CODES`): one rule for a run's report and for a merged one.
 *
 * The rule: 0 when every object is on the target; objects that are not rekey or AWS Encryption
 * SDK messages (`foreign`) are left untouched and do not count against it, unless `strict`
 * (`--strict`); objects left out by `--include` / `--exclude` never count. Otherwise 3 when an
 * object failed (a re-run retries it), else 2 (conflict, esdk under rewrap, unreadable,
 * skipped, foreign with `strict`, invalid source lines). A job that stopped itself or was
 * interrupted has that stop's code.
 *
 * @example
 * ```ts
 * runVerdict({ interrupted: false, outcomes: { failed: 1 }, fromCheckpoint: {}, invalid: 0 }); // { complete: false, exitCode: 3 }
 * runVerdict({ interrupted: false, outcomes: { foreign: 1 }, fromCheckpoint: {}, invalid: 0 }); // { complete: true, exitCode: 0 }
 * ```
 */
export function runVerdict(r: {
  readonly interrupted: boolean;
  readonly stopped?: JobStop;
  readonly outcomes: Readonly<Partial<Record<string, number>>>;
  readonly fromCheckpoint: Readonly<Partial<Record<string, number>>>;
  readonly invalid: number;
  /** Foreign objects count against the run. @default false */
  readonly strict?: boolean;
}): { complete: boolean; exitCode: number } {
  const counts = (k: string): boolean =>
    !SUCCESS_OUTCOMES.has(k as ObjectOutcome) && (k !== "foreign" || r.strict === true);
  const bad = (o: Readonly<Partial<Record<string, number>>>): number =>
    Object.entries(o).reduce((n, [k, v]) => (counts(k) ? n + (v ?? 0) : n), 0);
  const complete =
    !r.interrupted &&
    r.stopped === undefined &&
    bad(r.outcomes) === 0 &&
    bad(r.fromCheckpoint) === 0 &&
    r.invalid === 0;
  const failed = (r.outcomes["failed"] ?? 0) + (r.fromCheckpoint["failed"] ?? 0);
  const exitCode = r.stopped
    ? exitCodeOf(r.stopped.code)
    : r.interrupted
      ? EXIT_CODES.interrupted
      : complete
        ? EXIT_CODES.ok
        : failed > 0
          ? EXIT_CODES.failed
          : EXIT_CODES.incomplete;
  return { complete, exitCode };
}

/** Why the job stopped itself before the source was exhausted. */
export interface JobStop {
  /** `ERR_JOB_STORE_UNSAFE`, `ERR_JOB_STORE_PROBE` or `ERR_JOB_KEY_UNUSABLE`. */
  readonly code: string;
  /** One line. */
  readonly reason: string;
}

/** Counts for one source key or material. */
export interface KeyStats {
  objects: number;
  bytes: number;
  outcomes: Partial<Record<ObjectOutcome, number>>;
}

/** One object that did not end on the target. */
export interface ReportedFailure {
  readonly object: string;
  readonly outcome: ObjectOutcome;
  readonly code?: string;
  readonly reason: string;
}

/** Request counters of one service. */
export interface ServiceRequests {
  readonly requests: number;
  readonly byOperation: Record<string, number>;
  readonly retries: number;
  readonly throttled: number;
}

/** The report of {@link runJob}. */
export interface JobReport {
  readonly reportVersion: 1;
  readonly kind: "run";
  readonly mode: "rewrap" | "reencrypt";
  readonly verify: VerifyLevel;
  readonly target: TargetSummary;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** Stopped by a signal before the source was exhausted. */
  readonly interrupted: boolean;
  /** Stopped by the job itself (a store it may not write, a key that fails every object). */
  readonly stopped?: JobStop;
  /** What each store written to honours, as probed before the first write. */
  readonly stores: readonly StoreCapabilities[];
  /**
   * Objects written to a store that ignores conditional writes (every writer was said to be
   * stopped): re-read before and read back after the write, not protected by the store.
   */
  readonly unconditionalWrites: number;
  /**
   * Every object seen (this run and the checkpoint's) is on the target, foreign objects aside
   * unless `strict` (see {@link runVerdict}).
   */
  readonly complete: boolean;
  /** Foreign objects (neither rekey nor ESDK messages) counted against the run (`--strict`). */
  readonly strict: boolean;
  /** See {@link EXIT_CODES}. */
  readonly exitCode: number;
  /** Objects processed by this run. */
  readonly objects: number;
  readonly outcomes: Record<ObjectOutcome, number>;
  /** Objects skipped because the checkpoint lists them as done, by their recorded outcome. */
  readonly fromCheckpoint: Partial<Record<ObjectOutcome, number>>;
  /** Source lines that named no object. */
  readonly invalidSourceEntries: number;
  /** Objects left out by the source's `include` / `exclude` globs (never read). */
  readonly excluded: number;
  readonly bySourceKey: Record<string, KeyStats>;
  /** Keyed by material id (`(not recorded)` when the entry has none). */
  readonly bySourceMaterial: Record<string, KeyStats & { keyArns: string[] }>;
  readonly bytes: {
    /** Sum of the sizes of the objects processed. */
    readonly objects: number;
    /** Downloaded by the job. */
    readonly read: number;
    /** Uploaded by the job. */
    readonly written: number;
    /** Copied by S3 server-side (`UploadPartCopy`). */
    readonly copiedServerSide: number;
  };
  readonly kms: ServiceRequests;
  readonly s3: ServiceRequests;
  /** Queries on a PostgreSQL source's table (`SELECT`, `UPDATE`), retries included. */
  readonly postgres: ServiceRequests;
  /**
   * AWS Encryption SDK messages migrated to rekey messages, and the reserved context keys the
   * new messages do not carry (key → objects).
   */
  readonly esdk: { readonly migrated: number; readonly droppedContextKeys: Record<string, number> };
  /** Objects moved because their material could not be compared (backend without material ids). */
  readonly materialUnproven: number;
  /**
   * Entries under keys outside the job's KMS scope (another Region or account: multi-Region or
   * DR copies), kept as they were, and the objects processed that have any.
   */
  readonly keptEntries: { readonly objects: number; readonly entries: number };
  readonly notes: string[];
  /** Failures, conflicts, unreadable and foreign objects, and invalid source lines (first 10,000). */
  readonly failures: ReportedFailure[];
  /** Failures not listed past the cap. */
  readonly failuresOmitted: number;
}

/**
 * Accumulates a {@link JobReport}.
 *
 * @example
 * ```ts
 * const builder = new RunReportBuilder({ mode, verify, target, counters });
 * builder.add(result);
 * const report = builder.finish({ interrupted: false, fromCheckpoint: {} });
 * ```
 */
export class RunReportBuilder {
  private readonly started = new Date();
  private readonly t0 = performance.now();
  private readonly outcomes = Object.fromEntries(OBJECT_OUTCOMES.map((o) => [o, 0])) as Record<
    ObjectOutcome,
    number
  >;
  private readonly bySourceKey: Record<string, KeyStats> = {};
  private readonly bySourceMaterial: Record<string, KeyStats & { keyArns: string[] }> = {};
  private readonly failures: ReportedFailure[] = [];
  private failuresOmitted = 0;
  private invalid = 0;
  private excluded = 0;
  private objects = 0;
  private unproven = 0;
  private keptObjects = 0;
  private keptEntries = 0;
  private unconditional = 0;
  private esdkMigrated = 0;
  private readonly droppedContextKeys: Record<string, number> = {};

  constructor(
    private readonly base: {
      mode: "rewrap" | "reencrypt";
      verify: VerifyLevel;
      target: TargetSummary;
      counters: JobCounters;
    },
  ) {}

  /** Adds one finished object. */
  add(r: ObjectResult): void {
    this.objects++;
    this.base.counters.bytes.objects += r.size;
    this.outcomes[r.outcome]++;
    if (r.unconditional) this.unconditional++;
    if (r.planClass === "esdk" && r.outcome === "reencrypted") this.esdkMigrated++;
    for (const k of r.droppedContextKeys ?? [])
      this.droppedContextKeys[k] = (this.droppedContextKeys[k] ?? 0) + 1;
    if (r.materialUnproven && SUCCESS_OUTCOMES.has(r.outcome)) this.unproven++;
    if (r.keptEntries) {
      this.keptObjects++;
      this.keptEntries += r.keptEntries;
    }
    for (const arn of new Set(r.sourceKeyArns)) {
      const s = (this.bySourceKey[arn] ??= { objects: 0, bytes: 0, outcomes: {} });
      s.objects++;
      s.bytes += r.size;
      s.outcomes[r.outcome] = (s.outcomes[r.outcome] ?? 0) + 1;
    }
    const seen = new Set<string>();
    r.sourceMaterialIds.forEach((mid, i) => {
      const id = mid ?? "(not recorded)";
      const arn = r.sourceKeyArns[i];
      const s = (this.bySourceMaterial[id] ??= { objects: 0, bytes: 0, outcomes: {}, keyArns: [] });
      if (arn && !s.keyArns.includes(arn)) s.keyArns.push(arn);
      if (seen.has(id)) return;
      seen.add(id);
      s.objects++;
      s.bytes += r.size;
      s.outcomes[r.outcome] = (s.outcomes[r.outcome] ?? 0) + 1;
    });
    if (!SUCCESS_OUTCOMES.has(r.outcome) && r.outcome !== "skipped")
      this.listFailure({
        object: describeRef(r.ref),
        outcome: r.outcome,
        ...(r.code ? { code: r.code } : {}),
        reason: r.reason,
      });
  }

  /** Adds a source line that named no object. */
  addInvalid(e: InvalidSourceEntry): void {
    this.invalid++;
    this.listFailure({ object: e.where, outcome: "failed", code: "ERR_JOB_MANIFEST_LINE", reason: e.reason });
  }

  /** Counts an object left out by the source's globs. */
  addExcluded(): void {
    this.excluded++;
  }

  /** Live counts for progress displays. */
  snapshot(): { objects: number; outcomes: Readonly<Record<ObjectOutcome, number>>; invalid: number } {
    return { objects: this.objects, outcomes: this.outcomes, invalid: this.invalid };
  }

  /** The final report. */
  finish(end: {
    interrupted: boolean;
    /** Foreign objects count against the run (the job's `strict` option). @default false */
    strict?: boolean;
    fromCheckpoint: Partial<Record<ObjectOutcome, number>>;
    notes?: string[];
    stores?: readonly StoreCapabilities[];
    stopped?: JobStop;
  }): JobReport {
    const c = this.base.counters;
    const service = (name: CountedService): ServiceRequests => {
      const pick = (m: Record<string, number>): Record<string, number> =>
        Object.fromEntries(
          Object.entries(m)
            .filter(([k]) => k.startsWith(`${name}:`))
            .map(([k, v]) => [k.slice(name.length + 1), v]),
        );
      const byOperation = pick(c.requests.byOperation);
      const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);
      return {
        requests: sum(byOperation),
        byOperation,
        retries: sum(pick(c.requests.retries)),
        throttled: sum(pick(c.requests.throttled)),
      };
    };
    const notes = [...(end.notes ?? [])];
    if (this.unproven > 0)
      notes.push(
        `${this.unproven} object(s) were under the target key but their key material could not be compared ` +
          "(the KMS backend reports no KeyMaterialId), so they were rewritten; a re-run will rewrite them again.",
      );
    if (this.keptEntries > 0)
      notes.push(keptNote(this.keptEntries, this.keptObjects, this.base.target, "were"));
    const foreign = this.outcomes.foreign + (end.fromCheckpoint.foreign ?? 0);
    if (foreign > 0)
      notes.push(
        `${foreign} object(s) are not rekey or AWS Encryption SDK messages (foreign): left untouched, ` +
          (end.strict === true
            ? "and they count against the run (strict); --exclude leaves such objects out unread."
            : "and they do not change the exit code (--strict makes them count); --exclude leaves them out unread."),
      );
    if (this.unconditional > 0)
      notes.push(
        `${this.unconditional} object(s) were written to a store that ignores conditional writes ` +
          "(--writers-stopped): each was read again right before its write and read back after it.",
      );
    const { complete, exitCode } = runVerdict({
      interrupted: end.interrupted,
      ...(end.stopped ? { stopped: end.stopped } : {}),
      outcomes: this.outcomes,
      fromCheckpoint: end.fromCheckpoint,
      invalid: this.invalid,
      strict: end.strict === true,
    });
    const finished = new Date();
    return {
      reportVersion: 1,
      kind: "run",
      mode: this.base.mode,
      verify: this.base.verify,
      target: this.base.target,
      startedAt: this.started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: Math.round(performance.now() - this.t0),
      interrupted: end.interrupted,
      ...(end.stopped ? { stopped: end.stopped } : {}),
      stores: end.stores ?? [],
      unconditionalWrites: this.unconditional,
      complete,
      strict: end.strict === true,
      exitCode,
      objects: this.objects,
      outcomes: { ...this.outcomes },
      fromCheckpoint: { ...end.fromCheckpoint },
      invalidSourceEntries: this.invalid,
      excluded: this.excluded,
      bySourceKey: this.bySourceKey,
      bySourceMaterial: this.bySourceMaterial,
      bytes: {
        objects: c.bytes.objects,
        read: c.bytes.read,
        written: c.bytes.written,
        copiedServerSide: c.bytes.copiedServerSide,
      },
      kms: service("kms"),
      s3: service("s3"),
      postgres: service("postgres"),
      esdk: { migrated: this.esdkMigrated, droppedContextKeys: { ...this.droppedContextKeys } },
      materialUnproven: this.unproven,
      keptEntries: { objects: this.keptObjects, entries: this.keptEntries },
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
 * The report note on entries kept because their keys are outside the job's KMS scope.
 *
 * @example
 * ```ts
 * keptNote(3, 3, target, "were"); // "3 entries under keys outside us-east-1 (…) were kept as they are in 3 object(s) …"
 * ```
 */
export function keptNote(
  entries: number,
  objects: number,
  target: TargetSummary,
  verb: "are" | "were",
): string {
  return (
    `${entries} entr${entries === 1 ? "y" : "ies"} under keys outside ${target.kmsScope ?? "the job's KMS scope"} ` +
    `${verb} kept as they are in ${objects} object(s) (multi-Region or DR copies; a job run with a KMS client ` +
    "in their Region moves them)."
  );
}
