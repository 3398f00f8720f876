/**
 * The report of a dry run (`rekey plan`, `--dry-run`): objects and bytes per plan class, per
 * source key and per key material, the KMS calls and requests the run would make, and a time
 * estimate at the configured KMS rate and concurrency.
 */
import { describeRef, type InvalidSourceEntry } from "../model/object-ref.js";
import type { ObjectPlan, PlanClass } from "../model/object-plan.js";
import type { JobCounters } from "../support/job-counters.js";
import { multipartLayout } from "../stores/s3/multipart-layout.js";
import { keptNote, MAX_LISTED_FAILURES, type ReportedFailure } from "./job-report.js";
import type { TargetSummary } from "./target-summary.js";
import type { VerifyLevel } from "./job-context.js";
import { esdkSuiteLabel } from "../planning/classify-esdk.js";

/** Every plan class, in report order. */
export const PLAN_CLASSES: readonly PlanClass[] = [
  "current",
  "rewrap",
  "reencrypt",
  "esdk",
  "foreign",
  "unreadable",
  "skipped",
];

/** Objects and bytes. */
export interface ClassStats {
  objects: number;
  bytes: number;
}

/**
 * The AWS Encryption SDK messages of a plan (class `esdk`), by suite (`0x0578 AES256_…`) and by
 * the key ARN of their KMS data keys (`(no KMS key)` for raw-keyring-only messages).
 */
export interface EsdkPlanStats extends ClassStats {
  readonly bySuite: Record<string, ClassStats>;
  readonly byKey: Record<string, ClassStats>;
}

/** The report of {@link planJob}. */
export interface PlanReport {
  readonly reportVersion: 1;
  readonly kind: "plan";
  readonly mode: "rewrap" | "reencrypt";
  readonly verify: VerifyLevel;
  readonly target: TargetSummary;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly interrupted: boolean;
  /** Objects planned. */
  readonly objects: number;
  readonly bytes: number;
  readonly classes: Record<PlanClass, ClassStats>;
  /** AWS Encryption SDK messages (class `esdk`) by suite and key. */
  readonly esdk: EsdkPlanStats;
  /** Signed rekey messages (suite 2): a rewrap keeps their signature; a re-encrypt signs anew. */
  readonly signed: ClassStats;
  /** Objects that could not be planned (header read failed after retries). */
  readonly planFailures: number;
  readonly invalidSourceEntries: number;
  /** Objects left out by the source's `include` / `exclude` globs (never read). */
  readonly excluded: number;
  readonly bySourceKey: Record<string, ClassStats & { classes: Partial<Record<PlanClass, number>> }>;
  readonly bySourceMaterial: Record<
    string,
    ClassStats & { keyArns: string[]; classes: Partial<Record<PlanClass, number>> }
  >;
  /** Objects whose material could not be compared and will be moved anyway. */
  readonly materialUnproven: number;
  /**
   * Entries under keys outside the job's KMS scope (another Region or account: multi-Region or
   * DR copies), kept as they are, and the objects that have any.
   */
  readonly keptEntries: { readonly objects: number; readonly entries: number };
  /** KMS calls the run would make, by operation, and in total. */
  readonly kmsCalls: { readonly byOperation: Record<string, number>; readonly total: number };
  /** KMS calls the planning itself made (DescribeKey per key). */
  readonly kmsCallsWhilePlanning: number;
  /** Objects above the multipart threshold (rewrapped with server-side copy). */
  readonly multipartObjects: number;
  /** Bytes the run would move through the job (estimate) and copy server-side. */
  readonly bytesEstimate: { readonly throughJob: number; readonly copiedServerSide: number };
  /**
   * S3 requests the run would make (estimate, without retries), from the job's part sizes
   * (`copyPartBytes` for a large rewrap, `uploadPartBytes` for a re-encrypt).
   */
  readonly s3Requests: number;
  readonly estimate: {
    /** The larger of the two bounds. */
    readonly seconds: number;
    /** KMS calls / kmsRps. */
    readonly kmsBoundSeconds: number;
    /** Objects × requests per object × mean request latency seen while planning / concurrency. */
    readonly concurrencyBoundSeconds: number;
    readonly kmsRps: number;
    readonly concurrency: number;
  };
  readonly notes: string[];
  readonly failures: ReportedFailure[];
  readonly failuresOmitted: number;
}

/** Settings the estimate needs. */
export interface PlanEstimateSettings {
  readonly mode: "rewrap" | "reencrypt";
  readonly verify: VerifyLevel;
  readonly kmsRps: number;
  readonly concurrency: number;
  readonly multipartThreshold: number;
  /** Part size of the server-side copies of a large rewrap. */
  readonly copyPartBytes: number;
  /** Part size of a re-encrypt's streaming upload. */
  readonly uploadPartBytes: number;
  readonly target: TargetSummary;
  readonly counters: JobCounters;
}

/**
 * Accumulates a {@link PlanReport}.
 *
 * @example
 * ```ts
 * const b = new PlanReportBuilder(settings);
 * b.add(plan, latencyMs);
 * const report = b.finish(false);
 * ```
 */
export class PlanReportBuilder {
  private readonly started = new Date();
  private readonly t0 = performance.now();
  private readonly classes = Object.fromEntries(
    PLAN_CLASSES.map((c) => [c, { objects: 0, bytes: 0 }]),
  ) as Record<PlanClass, ClassStats>;
  private readonly bySourceKey: PlanReport["bySourceKey"] = {};
  private readonly bySourceMaterial: PlanReport["bySourceMaterial"] = {};
  private readonly kms: Record<string, number> = {};
  private readonly esdk = { objects: 0, bytes: 0, bySuite: {}, byKey: {} } as EsdkPlanStats & ClassStats;
  private readonly signed: ClassStats = { objects: 0, bytes: 0 };
  private readonly failures: ReportedFailure[] = [];
  private failuresOmitted = 0;
  private objects = 0;
  private planFailures = 0;
  private invalid = 0;
  private excluded = 0;
  private unproven = 0;
  private keptObjects = 0;
  private keptEntries = 0;
  private multipart = 0;
  private throughJob = 0;
  private copied = 0;
  private requests = 0;
  private latencyMs = 0;
  private latencySamples = 0;

  constructor(private readonly s: PlanEstimateSettings) {}

  /** Adds one planned object and how long its header read took. */
  add(plan: ObjectPlan, latencyMs: number): void {
    this.objects++;
    this.s.counters.bytes.objects += plan.size;
    this.latencyMs += latencyMs;
    this.latencySamples++;
    const c = this.classes[plan.class];
    c.objects++;
    c.bytes += plan.size;
    if (plan.materialUnproven) this.unproven++;
    if (plan.keptEntries > 0) {
      this.keptObjects++;
      this.keptEntries += plan.keptEntries;
    }
    for (const arn of new Set(plan.sourceKeyArns)) {
      const k = (this.bySourceKey[arn] ??= { objects: 0, bytes: 0, classes: {} });
      k.objects++;
      k.bytes += plan.size;
      k.classes[plan.class] = (k.classes[plan.class] ?? 0) + 1;
    }
    const seen = new Set<string>();
    plan.sourceMaterialIds.forEach((mid, i) => {
      const id = mid ?? "(not recorded)";
      const arn = plan.sourceKeyArns[i];
      const m = (this.bySourceMaterial[id] ??= { objects: 0, bytes: 0, keyArns: [], classes: {} });
      if (arn && !m.keyArns.includes(arn)) m.keyArns.push(arn);
      if (seen.has(id)) return;
      seen.add(id);
      m.objects++;
      m.bytes += plan.size;
      m.classes[plan.class] = (m.classes[plan.class] ?? 0) + 1;
    });
    if (plan.class === "esdk" && plan.esdk) this.addEsdk(plan, plan.esdk.suite);
    if (plan.prefix?.header.signingKey !== undefined) {
      this.signed.objects++;
      this.signed.bytes += plan.size;
    }
    this.addWork(plan);
    if (
      plan.class === "unreadable" ||
      plan.class === "foreign" ||
      (plan.class === "esdk" && this.s.mode === "rewrap")
    )
      this.list({
        object: describeRef(plan.ref),
        outcome: plan.class,
        ...(plan.code ? { code: plan.code } : {}),
        reason: plan.reason,
      });
  }

  /** Adds an object whose header could not be read. */
  addFailure(object: string, code: string, reason: string): void {
    this.planFailures++;
    this.list({ object, outcome: "failed", code, reason });
  }

  /** Counts an object left out by the source's globs. */
  addExcluded(): void {
    this.excluded++;
  }

  /** Adds a source line that named no object. */
  addInvalid(e: InvalidSourceEntry): void {
    this.invalid++;
    this.list({ object: e.where, outcome: "failed", code: "ERR_JOB_MANIFEST_LINE", reason: e.reason });
  }

  /** Objects planned so far. */
  get count(): number {
    return this.objects + this.planFailures;
  }

  /** The final report. */
  finish(interrupted: boolean): PlanReport {
    const total = Object.values(this.kms).reduce((a, b) => a + b, 0);
    const meanLatency = this.latencySamples > 0 ? this.latencyMs / this.latencySamples : 0;
    const kmsBound = total / this.s.kmsRps;
    const concurrencyBound = (this.requests * meanLatency) / 1000 / this.s.concurrency;
    const notes: string[] = [];
    if (this.unproven > 0)
      notes.push(
        `${this.unproven} object(s) are under the target key but their key material cannot be compared ` +
          "(the KMS backend reports no KeyMaterialId): they are counted as rewrap.",
      );
    if (this.keptEntries > 0) notes.push(keptNote(this.keptEntries, this.keptObjects, this.s.target, "are"));
    return {
      reportVersion: 1,
      kind: "plan",
      mode: this.s.mode,
      verify: this.s.verify,
      target: this.s.target,
      startedAt: this.started.toISOString(),
      durationMs: Math.round(performance.now() - this.t0),
      interrupted,
      objects: this.objects,
      bytes: this.s.counters.bytes.objects,
      classes: this.classes,
      esdk: this.esdk,
      signed: { ...this.signed },
      planFailures: this.planFailures,
      invalidSourceEntries: this.invalid,
      excluded: this.excluded,
      bySourceKey: this.bySourceKey,
      bySourceMaterial: this.bySourceMaterial,
      materialUnproven: this.unproven,
      keptEntries: { objects: this.keptObjects, entries: this.keptEntries },
      kmsCalls: { byOperation: { ...this.kms }, total },
      kmsCallsWhilePlanning: this.s.counters.total("kms"),
      multipartObjects: this.multipart,
      bytesEstimate: { throughJob: this.throughJob, copiedServerSide: this.copied },
      s3Requests: this.requests,
      estimate: {
        seconds: round(Math.max(kmsBound, concurrencyBound)),
        kmsBoundSeconds: round(kmsBound),
        concurrencyBoundSeconds: round(concurrencyBound),
        kmsRps: this.s.kmsRps,
        concurrency: this.s.concurrency,
      },
      notes,
      failures: this.failures,
      failuresOmitted: this.failuresOmitted,
    };
  }

  /** Counts an ESDK message by suite and key. */
  private addEsdk(plan: ObjectPlan, suite: Parameters<typeof esdkSuiteLabel>[0]): void {
    const count = (stats: ClassStats): void => {
      stats.objects++;
      stats.bytes += plan.size;
    };
    count(this.esdk);
    count((this.esdk.bySuite[esdkSuiteLabel(suite)] ??= { objects: 0, bytes: 0 }));
    const keys = new Set(plan.sourceKeyArns);
    if (keys.size === 0) keys.add("(no KMS key)");
    for (const arn of keys) count((this.esdk.byKey[arn] ??= { objects: 0, bytes: 0 }));
  }

  /** Counts the KMS calls, requests and bytes processing the plan would take. */
  private addWork(plan: ObjectPlan): void {
    const full = this.s.verify === "full";
    const bump = (op: string, n: number): void => {
      if (n > 0) this.kms[op] = (this.kms[op] ?? 0) + n;
    };
    const header = plan.prefix?.bodyOffset ?? 0;
    if (plan.class === "rewrap") {
      bump("ReEncrypt", plan.kmsCalls);
      if (full) bump("Decrypt", 2);
      if (plan.size > this.s.multipartThreshold) {
        this.multipart++;
        // The new prefix is about as long as the old one (same header, as many entries or fewer).
        const parts = multipartLayout({
          prefixLength: Math.max(1, header),
          bodyOffset: header,
          size: plan.size,
          copyPartBytes: this.s.copyPartBytes,
        });
        const first = parts[0];
        const firstBody = first ? first.end - first.start : 0;
        // Part 1's body bytes down and up with the new prefix, and the prefix read back.
        this.throughJob += 2 * firstBody + 2 * header;
        this.copied += Math.max(0, plan.size - (first?.end ?? 0));
        // Create, GET of part 1, UploadPart, the copies, Complete, verify.
        this.requests += 5 + (parts.length - 1);
      } else {
        this.throughJob += (plan.whole ? 0 : plan.size) + plan.size + header;
        this.requests += (plan.whole ? 0 : 1) + 2;
      }
      if (full) this.throughJob += 2 * plan.size;
    } else if (plan.class === "reencrypt" || (plan.class === "esdk" && this.s.mode === "reencrypt")) {
      const wraps = Math.max(1, plan.recipients.length);
      // An ESDK message under raw keys only is opened without KMS.
      const opens = plan.class === "esdk" && plan.sourceKeyArns.length === 0 ? 0 : 1;
      bump("Decrypt", opens + (full ? 1 : 0));
      bump("GenerateDataKey", 1);
      bump("Encrypt", wraps - 1);
      this.throughJob += 2 * plan.size + header + (full ? plan.size : 0);
      // GET, the upload (one PUT, or Create + parts + Complete), verify.
      const parts = Math.ceil(plan.size / this.s.uploadPartBytes);
      this.requests += parts <= 1 ? 3 : 4 + parts;
    }
  }

  private list(f: ReportedFailure): void {
    if (this.failures.length < MAX_LISTED_FAILURES) this.failures.push(f);
    else this.failuresOmitted++;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
