/**
 * `rekey report merge`: one report from the reports of several workers (`rekey rewrap --shard`
 * runs) and S3 Batch Operations completion reports, as text or JSON, and as an HTML page. The
 * exit code is the one a single run over every object would have set.
 */
import type { Command } from "commander";
import { exitMeaning } from "./job/job-summary.js";
import { formatBytes } from "./job/parse-size.js";
import { mergeReportFiles, type MergedReport } from "../reports/merge-reports.js";
import { renderReportHtml } from "../reports/report-html.js";
import { replaceFile } from "../file-tools/atomic-output.js";
import { processContext, type CliContext } from "./util/context.js";
import { wantsJson, withOutputOptions, writeJson, writeLines, type OutputFlags } from "./util/output.js";

const LISTED = 20;

/**
 * The merged report for people, one string per line.
 *
 * @example
 * ```ts
 * writeLines(ctx.stdout, mergedSummary(merged));
 * ```
 */
export function mergedSummary(r: MergedReport): string[] {
  const runs = r.inputs.filter((i) => i.kind === "run").length;
  const lines = [
    `Merged ${r.inputs.length} report(s): ${runs} run(s), ${r.inputs.length - runs} Batch Operations completion report(s)`,
  ];
  if (r.target) lines.push(`Target: ${r.target.description}${r.mode ? ` (${r.mode})` : ""}`);
  const wall = r.wallMs / 1000;
  lines.push(
    `Objects: ${r.objects}` +
      (runs > 0
        ? ` in ${wall.toFixed(1)} s wall (${wall > 0 ? (r.objects / wall).toFixed(1) : "-"} objects/s), ${(r.workerMs / 1000).toFixed(1)} s of worker time`
        : "") +
      (r.interrupted ? ", interrupted" : ""),
  );
  if (r.stopped) lines.push(`Stopped: ${r.stopped.reason} [${r.stopped.code}]`);
  for (const [outcome, n] of Object.entries(r.outcomes))
    if (n > 0) lines.push(`  ${outcome.padEnd(12)} ${n}`);
  if (r.invalidSourceEntries > 0) lines.push(`Invalid source lines: ${r.invalidSourceEntries}`);
  lines.push(
    `Bytes: ${formatBytes(r.bytes.objects)} of objects; ${formatBytes(r.bytes.read)} read and ` +
      `${formatBytes(r.bytes.written)} written by the jobs; ${formatBytes(r.bytes.copiedServerSide)} copied by S3`,
  );
  lines.push(`KMS: ${r.kms.requests} call(s), ${r.kms.retries} retried, ${r.kms.throttled} throttled`);
  if (r.batchOperations.tasks > 0)
    lines.push(
      `Batch Operations tasks: ${r.batchOperations.tasks} (${Object.entries(r.batchOperations.byTaskStatus)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")})`,
    );
  const keys = Object.entries(r.bySourceKey);
  if (keys.length > 0) {
    lines.push("By source key:");
    for (const [arn, s] of keys) lines.push(`  ${arn}: ${s.objects} object(s), ${formatBytes(s.bytes)}`);
  }
  for (const note of r.notes) lines.push(`Note: ${note}`);
  const total = r.failures.length + r.failuresOmitted;
  if (total > 0) {
    lines.push(`Not on the target (${Math.min(LISTED, total)} of ${total} listed):`);
    for (const f of r.failures.slice(0, LISTED))
      lines.push(`  ${f.outcome}: ${f.object}: ${f.reason}${f.code ? ` [${f.code}]` : ""}`);
  }
  lines.push(`Exit code ${r.exitCode}: ${exitMeaning(r.exitCode)}.`);
  return lines;
}

/**
 * Registers `report merge`.
 *
 * @example
 * ```ts
 * registerReportCommands(program); // rekey report merge shard-*.json --html report.html
 * ```
 */
export function registerReportCommands(program: Command, ctx: CliContext = processContext()): void {
  const report = program.command("report").description("Work with the reports of runs");
  const merge = report
    .command("merge")
    .description(
      "Merge run reports (one per shard or worker) and S3 Batch Operations completion reports (CSV) into one",
    )
    .argument("<reports...>", "JSON run reports and completion report CSV files (.gz too)")
    .option("--html <file>", "also write the merged report as a self-contained HTML page")
    .option("--json-file <file>", "also write the merged report as JSON");
  withOutputOptions(merge, "one JSON document").action(
    async (files: string[], flags: OutputFlags & { html?: string; jsonFile?: string }) => {
      const merged = await mergeReportFiles(files);
      if (flags.jsonFile) await replaceFile(flags.jsonFile, `${JSON.stringify(merged, null, 2)}\n`);
      if (flags.html) await replaceFile(flags.html, renderReportHtml(merged));
      if (wantsJson(flags)) writeJson(ctx.stdout, merged);
      else writeLines(ctx.stdout, [...mergedSummary(merged), ...(flags.html ? [`HTML: ${flags.html}`] : [])]);
      ctx.setExitCode(merged.exitCode);
    },
  );
}
