/** The printed human summaries of a run and of a plan. */
import { EXIT_CODES, type JobReport } from "../../runner/job-report.js";
import type { PlanReport } from "../../runner/plan-report.js";
import { describeCapabilities } from "../../stores/s3/probe-store.js";
import { formatBytes } from "./parse-size.js";

const LISTED = 20;

/**
 * What each exit code means, as printed at the end of a run.
 *
 * @example
 * ```ts
 * exitMeaning(2); // "some objects are not on the target (…)"
 * ```
 */
export function exitMeaning(code: number): string {
  switch (code) {
    case EXIT_CODES.ok:
      return "every object is on the target";
    case EXIT_CODES.incomplete:
      return "some objects are not on the target (conflict, esdk, unreadable, skipped, bad manifest lines, or foreign with --strict)";
    case EXIT_CODES.failed:
      return "some objects failed; a re-run retries them";
    case EXIT_CODES.unsafeStore:
      return "the store does not honour conditional writes, or could not be probed; nothing was written there";
    case EXIT_CODES.keyUnusable:
      return "stopped early on a key that fails every object; the objects not tried are left for a re-run";
    case EXIT_CODES.interrupted:
      return "interrupted";
    default:
      return "the job could not run";
  }
}

/**
 * The summary of a run, one string per line.
 *
 * @example
 * ```ts
 * writeLines(ctx.stdout, runSummary(report, "report.json"));
 * ```
 */
export function runSummary(r: JobReport, reportPath: string | undefined): string[] {
  const seconds = r.durationMs / 1000;
  const lines = [
    `Target: ${r.target.description}`,
    `Objects: ${r.objects} in ${seconds.toFixed(1)} s (${seconds > 0 ? (r.objects / seconds).toFixed(1) : r.objects} objects/s)${
      r.interrupted ? ", interrupted" : ""
    }`,
  ];
  if (r.stopped) lines.push(`Stopped: ${r.stopped.reason} [${r.stopped.code}]`);
  for (const [outcome, n] of Object.entries(r.outcomes))
    if (n > 0) lines.push(`  ${outcome.padEnd(12)} ${n}`);
  for (const store of r.stores) lines.push(`Store ${describeCapabilities(store)}`);
  if (r.esdk.migrated > 0) {
    const dropped = Object.entries(r.esdk.droppedContextKeys);
    lines.push(
      `Migrated from the AWS Encryption SDK: ${r.esdk.migrated} object(s)` +
        (dropped.length > 0 ? `; reserved context keys dropped: ${ops(r.esdk.droppedContextKeys)}` : ""),
    );
  }
  if (r.unconditionalWrites > 0)
    lines.push(
      `Written without store-enforced conditions (--writers-stopped): ${r.unconditionalWrites} object(s)`,
    );
  const previous = Object.entries(r.fromCheckpoint).filter(([, n]) => (n ?? 0) > 0);
  if (previous.length > 0)
    lines.push(`Done by earlier runs (checkpoint): ${previous.map(([o, n]) => `${o} ${n}`).join(", ")}`);
  if (r.invalidSourceEntries > 0) lines.push(`Invalid source lines: ${r.invalidSourceEntries}`);
  if (r.excluded > 0) lines.push(excludedLine(r.excluded));
  lines.push(
    `Bytes: ${formatBytes(r.bytes.objects)} of objects; ${formatBytes(r.bytes.read)} read and ` +
      `${formatBytes(r.bytes.written)} written by the job; ${formatBytes(r.bytes.copiedServerSide)} copied by S3`,
  );
  lines.push(
    `KMS: ${r.kms.requests} call(s) (${ops(r.kms.byOperation)}), ${r.kms.retries} retried, ${r.kms.throttled} throttled`,
  );
  if (r.s3.requests > 0)
    lines.push(`S3: ${r.s3.requests} request(s), ${r.s3.retries} retried, ${r.s3.throttled} throttled`);
  const keys = Object.entries(r.bySourceKey);
  if (keys.length > 0) {
    lines.push("By source key:");
    for (const [arn, s] of keys)
      lines.push(`  ${arn}: ${s.objects} object(s), ${formatBytes(s.bytes)} (${ops(s.outcomes)})`);
  }
  const materials = Object.entries(r.bySourceMaterial);
  if (materials.length > 0) {
    lines.push("By source key material:");
    for (const [mid, s] of materials) lines.push(`  ${mid}: ${s.objects} object(s) (${ops(s.outcomes)})`);
  }
  for (const note of r.notes) lines.push(`Note: ${note}`);
  const total = r.failures.length + r.failuresOmitted;
  if (total > 0) {
    lines.push(`Not on the target (${Math.min(LISTED, total)} of ${total} listed; all in the report):`);
    for (const f of r.failures.slice(0, LISTED))
      lines.push(`  ${f.outcome}: ${f.object}: ${f.reason}${f.code ? ` [${f.code}]` : ""}`);
  }
  if (reportPath) lines.push(`Report: ${reportPath}`);
  lines.push(`Exit code ${r.exitCode}: ${exitMeaning(r.exitCode)}${leftAlone(r)}.`);
  return lines;
}

/**
 * The summary of a plan, one string per line.
 *
 * @example
 * ```ts
 * writeLines(ctx.stdout, planSummary(plan, "plan.json"));
 * ```
 */
export function planSummary(p: PlanReport, reportPath: string | undefined): string[] {
  const lines = [
    `Plan (dry run, nothing written) — target: ${p.target.description}`,
    `Objects: ${p.objects} (${formatBytes(p.bytes)})${p.interrupted ? ", interrupted" : ""}`,
  ];
  for (const [cls, s] of Object.entries(p.classes))
    if (s.objects > 0)
      lines.push(`  ${cls.padEnd(12)} ${String(s.objects).padStart(8)}  ${formatBytes(s.bytes)}`);
  if (p.planFailures > 0)
    lines.push(`  unplanned    ${String(p.planFailures).padStart(8)}  (header read failed)`);
  if (p.invalidSourceEntries > 0) lines.push(`Invalid source lines: ${p.invalidSourceEntries}`);
  if (p.excluded > 0) lines.push(excludedLine(p.excluded));
  if (p.signed.objects > 0)
    lines.push(
      `Signed rekey messages: ${p.signed.objects} (${formatBytes(p.signed.bytes)}); a rewrap keeps their signatures`,
    );
  if (p.esdk.objects > 0) {
    lines.push(
      `AWS Encryption SDK messages: ${p.esdk.objects} (${formatBytes(p.esdk.bytes)}), ` +
        (p.mode === "reencrypt" ? "a run migrates them" : "rewrap cannot move them: run reencrypt"),
    );
    for (const [suite, s] of Object.entries(p.esdk.bySuite))
      lines.push(`  suite ${suite}: ${s.objects} object(s), ${formatBytes(s.bytes)}`);
    for (const [arn, s] of Object.entries(p.esdk.byKey))
      lines.push(`  key ${arn}: ${s.objects} object(s), ${formatBytes(s.bytes)}`);
  }
  const keys = Object.entries(p.bySourceKey);
  if (keys.length > 0) {
    lines.push("By source key:");
    for (const [arn, s] of keys)
      lines.push(`  ${arn}: ${s.objects} object(s), ${formatBytes(s.bytes)} (${ops(s.classes)})`);
  }
  const materials = Object.entries(p.bySourceMaterial);
  if (materials.length > 0) {
    lines.push("By source key material:");
    for (const [mid, s] of materials)
      lines.push(`  ${mid}: ${s.objects} object(s), ${formatBytes(s.bytes)} (${ops(s.classes)})`);
  }
  lines.push(
    `KMS calls the run would make: ${p.kmsCalls.total}${p.kmsCalls.total ? ` (${ops(p.kmsCalls.byOperation)})` : ""}`,
  );
  if (p.multipartObjects > 0) lines.push(`Multipart (server-side copy) objects: ${p.multipartObjects}`);
  lines.push(
    `Bytes the run would move through the job: ~${formatBytes(p.bytesEstimate.throughJob)}; copied by S3: ~${formatBytes(
      p.bytesEstimate.copiedServerSide,
    )}`,
  );
  lines.push(
    `Estimated run time: ~${p.estimate.seconds} s at ${p.estimate.kmsRps} KMS calls/s and concurrency ${p.estimate.concurrency} ` +
      `(KMS bound ${p.estimate.kmsBoundSeconds} s, request bound ${p.estimate.concurrencyBoundSeconds} s)`,
  );
  for (const note of p.notes) lines.push(`Note: ${note}`);
  const total = p.failures.length + p.failuresOmitted;
  if (total > 0) {
    lines.push(`Not movable (${Math.min(LISTED, total)} of ${total} listed):`);
    for (const f of p.failures.slice(0, LISTED)) lines.push(`  ${f.outcome}: ${f.object}: ${f.reason}`);
  }
  if (reportPath) lines.push(`Report: ${reportPath}`);
  return lines;
}

/** With exit code 0, the objects that are not messages it does not count (see `runVerdict`). */
function leftAlone(r: JobReport): string {
  const foreign = r.outcomes.foreign + (r.fromCheckpoint.foreign ?? 0);
  return r.exitCode === EXIT_CODES.ok && foreign > 0
    ? ` (${foreign} object(s) that are not rekey or ESDK messages left alone, not counted)`
    : "";
}

/**
 * The summary line of the objects the globs left out.
 *
 * @example
 * ```ts
 * excludedLine(3); // "Excluded by --include / --exclude: 3 object(s), not read"
 * ```
 */
export function excludedLine(n: number): string {
  return `Excluded by --include / --exclude: ${n} object(s), not read`;
}

function ops(m: Record<string, number | undefined>): string {
  return Object.entries(m)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}
