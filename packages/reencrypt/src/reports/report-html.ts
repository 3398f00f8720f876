/**
 * The merged report as one self-contained HTML page: no script, no stylesheet or font fetched,
 * and a Content-Security-Policy that forbids any request (`default-src 'none'`), so it opens the
 * same from a laptop, an S3 bucket or a CI artifact. Charts are inline SVG bars: objects by
 * outcome, objects and bytes by source key and by key material, Batch Operations tasks by
 * result; then the failures table. Every figure is in a table cell or bar that names what it
 * counts (`data-group`, `data-name`, `data-metric`, `data-value`), so a program can read the
 * page back. Every text from a report (keys, object names, reasons) is escaped.
 */
import { OBJECT_OUTCOMES, type ObjectOutcome } from "../model/object-result.js";
import type { MergedReport } from "./merge-reports.js";

/** One bar of a chart. */
interface Bar {
  readonly name: string;
  readonly value: number;
  readonly label: string;
}

const OUTCOME_COLOURS: Record<ObjectOutcome, string> = {
  rewrapped: "#2e7d32",
  reencrypted: "#1565c0",
  current: "#7cb342",
  conflict: "#f9a825",
  esdk: "#ef6c00",
  foreign: "#8d6e63",
  unreadable: "#6a1b9a",
  failed: "#c62828",
  skipped: "#90a4ae",
};

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<img src=x onerror="…">'); // "&lt;img src=x onerror=&quot;…&quot;&gt;"
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const count = (n: number): string => n.toLocaleString("en-US");

function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

const short = (s: string, max = 44): string => (s.length <= max ? s : `…${s.slice(-(max - 1))}`);

/** A horizontal bar chart, one bar per row, scaled to the largest value. */
function barChart(
  title: string,
  group: string,
  metric: string,
  bars: readonly Bar[],
  colour: (b: Bar) => string,
): string {
  if (bars.length === 0) return "";
  const rowHeight = 22;
  const labelWidth = 330;
  const barWidth = 360;
  const width = labelWidth + barWidth + 130;
  const height = bars.length * rowHeight + 30;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rows = bars
    .map((b, i) => {
      const y = 24 + i * rowHeight;
      const w = b.value === 0 ? 0 : Math.max(1, Math.round((b.value / max) * barWidth));
      return (
        `<g><title>${escapeHtml(`${b.name}: ${b.label}`)}</title>` +
        `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${escapeHtml(short(b.name))}</text>` +
        `<rect x="${labelWidth}" y="${y + 2}" width="${w}" height="${rowHeight - 6}" fill="${colour(b)}" ` +
        `data-group="${escapeHtml(group)}" data-name="${escapeHtml(b.name)}" data-metric="${metric}" data-value="${b.value}"></rect>` +
        `<text x="${labelWidth + w + 6}" y="${y + 14}">${escapeHtml(b.label)}</text></g>`
      );
    })
    .join("");
  return (
    `<figure><svg role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<text x="0" y="14" class="t">${escapeHtml(title)}</text>${rows}</svg></figure>`
  );
}

function cell(group: string, name: string, metric: string, value: number, text = count(value)): string {
  return `<td class="n" data-group="${escapeHtml(group)}" data-name="${escapeHtml(name)}" data-metric="${metric}" data-value="${value}">${escapeHtml(text)}</td>`;
}

function keyTable(
  caption: string,
  group: string,
  rows: Record<string, { objects: number; bytes: number; outcomes: Partial<Record<ObjectOutcome, number>> }>,
): string {
  const entries = Object.entries(rows).sort((a, b) => b[1].objects - a[1].objects);
  if (entries.length === 0) return "";
  const body = entries
    .map(
      ([name, s]) =>
        `<tr><th scope="row">${escapeHtml(name)}</th>${cell(group, name, "objects", s.objects)}` +
        `${cell(group, name, "bytes", s.bytes)}<td>${escapeHtml(
          Object.entries(s.outcomes)
            .filter(([, n]) => (n ?? 0) > 0)
            .map(([o, n]) => `${o} ${count(n ?? 0)}`)
            .join(", "),
        )}</td></tr>`,
    )
    .join("");
  return `<table><caption>${escapeHtml(caption)}</caption><thead><tr><th>${
    group === "bySourceKey" ? "Key" : "Key material"
  }</th><th>Objects</th><th>Bytes</th><th>Outcomes</th></tr></thead><tbody>${body}</tbody></table>`;
}

/**
 * Renders the merged report as a self-contained HTML page.
 *
 * @example
 * ```ts
 * await writeFile("report.html", renderReportHtml(await mergeReportFiles(files)));
 * ```
 */
export function renderReportHtml(r: MergedReport, title = "rekey report"): string {
  const outcomeBars: Bar[] = OBJECT_OUTCOMES.filter((o) => r.outcomes[o] > 0).map((o) => ({
    name: o,
    value: r.outcomes[o],
    label: count(r.outcomes[o]),
  }));
  const keyBars = (
    rows: Record<string, { objects: number; bytes: number }>,
    metric: "objects" | "bytes",
  ): Bar[] =>
    Object.entries(rows)
      .sort((a, b) => b[1][metric] - a[1][metric])
      .map(([name, s]) => ({
        name,
        value: s[metric],
        label: metric === "bytes" ? humanBytes(s.bytes) : count(s.objects),
      }));
  const colourOf = (b: Bar): string => OUTCOME_COLOURS[b.name as ObjectOutcome] ?? "#546e7a";
  const summary: [string, string, number, string?][] = [
    ["Objects", "objects", r.objects],
    ["Bytes of objects", "bytes.objects", r.bytes.objects, humanBytes(r.bytes.objects)],
    ["Bytes read by the job", "bytes.read", r.bytes.read, humanBytes(r.bytes.read)],
    ["Bytes written by the job", "bytes.written", r.bytes.written, humanBytes(r.bytes.written)],
    [
      "Bytes copied by S3",
      "bytes.copiedServerSide",
      r.bytes.copiedServerSide,
      humanBytes(r.bytes.copiedServerSide),
    ],
    ["KMS requests", "kms.requests", r.kms.requests],
    ["KMS requests throttled", "kms.throttled", r.kms.throttled],
    ["S3 requests", "s3.requests", r.s3.requests],
    ["Batch Operations tasks", "batchOperations.tasks", r.batchOperations.tasks],
    ["Invalid source lines", "invalidSourceEntries", r.invalidSourceEntries],
    ["Wall time (s)", "wallMs", r.wallMs, (r.wallMs / 1000).toFixed(1)],
    ["Worker time (s)", "workerMs", r.workerMs, (r.workerMs / 1000).toFixed(1)],
    ["Exit code", "exitCode", r.exitCode],
  ];
  const summaryRows = summary
    .map(
      ([label, name, value, text]) =>
        `<tr><th scope="row">${escapeHtml(label)}</th>${cell("summary", name, "value", value, text ?? count(value))}</tr>`,
    )
    .join("");
  const outcomeRows = OBJECT_OUTCOMES.map(
    (o) => `<tr><th scope="row">${o}</th>${cell("outcomes", o, "objects", r.outcomes[o])}</tr>`,
  ).join("");
  const inputs = r.inputs
    .map(
      (i) =>
        `<tr><td>${escapeHtml(i.file)}</td><td>${i.kind}</td>${cell("inputs", i.file, "objects", i.objects)}<td>${
          i.exitCode ?? ""
        }</td></tr>`,
    )
    .join("");
  const failures = r.failures
    .map(
      (f) =>
        `<tr data-group="failures"><td>${escapeHtml(f.object)}</td><td>${f.outcome}</td><td>${escapeHtml(
          f.code ?? "",
        )}</td><td>${escapeHtml(f.reason)}</td></tr>`,
    )
    .join("");
  const tasks = r.batchOperations;
  const taskBars: Bar[] = [
    ...Object.entries(tasks.byTaskStatus).map(([name, value]) => ({ name, value, label: count(value) })),
    ...Object.entries(tasks.byErrorCode).map(([name, value]) => ({
      name: `failed: ${name}`,
      value,
      label: count(value),
    })),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e0e0e0;padding:3px 10px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:8px 0}svg text{font:12px system-ui,sans-serif;fill:#212121}svg text.t{font-weight:600}
.status{padding:8px 12px;border-radius:4px;display:inline-block}
.ok{background:#e8f5e9}.bad{background:#ffebee}
td{word-break:break-all}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="status ${r.complete ? "ok" : "bad"}">${
    r.complete ? "Every object is on the target." : "Some objects are not on the target."
  } Exit code ${r.exitCode}.${r.target ? ` Target: ${escapeHtml(r.target.description)}.` : ""}${
    r.mode ? ` Mode: ${r.mode}.` : ""
  }</p>
<h2>Summary</h2>
<table><tbody>${summaryRows}</tbody></table>
<h2>Objects by outcome</h2>
${barChart("Objects by outcome", "outcomes", "objects", outcomeBars, colourOf)}
<table><tbody>${outcomeRows}</tbody></table>
<h2>By source key</h2>
${barChart("Objects by source key", "bySourceKey", "objects", keyBars(r.bySourceKey, "objects"), () => "#1565c0")}
${barChart("Bytes by source key", "bySourceKey", "bytes", keyBars(r.bySourceKey, "bytes"), () => "#00838f")}
${keyTable("By source key", "bySourceKey", r.bySourceKey)}
<h2>By key material</h2>
${barChart("Objects by key material", "bySourceMaterial", "objects", keyBars(r.bySourceMaterial, "objects"), () => "#5e35b1")}
${barChart("Bytes by key material", "bySourceMaterial", "bytes", keyBars(r.bySourceMaterial, "bytes"), () => "#8e24aa")}
${keyTable("By key material", "bySourceMaterial", r.bySourceMaterial)}
${
  tasks.tasks > 0
    ? `<h2>S3 Batch Operations tasks</h2>\n${barChart("Tasks by result", "batchOperations", "tasks", taskBars, (b) => (b.name === "succeeded" ? "#2e7d32" : "#c62828"))}`
    : ""
}
<h2>Inputs</h2>
<table><thead><tr><th>File</th><th>Kind</th><th>Objects</th><th>Exit code</th></tr></thead><tbody>${inputs}</tbody></table>
<h2>Failures (${count(r.failures.length)} listed${r.failuresOmitted > 0 ? `, ${count(r.failuresOmitted)} more not listed` : ""})</h2>
<table><thead><tr><th>Object</th><th>Outcome</th><th>Code</th><th>Reason</th></tr></thead><tbody>${failures}</tbody></table>
${r.notes.length > 0 ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""}
</body></html>
`;
}
