/** Text renderings of the key tooling's results, for a terminal. JSON output prints the objects. */
import { counted } from "./plural.js";
import type { AuditReport, AuditedKey } from "../../keys/audit-keys.js";
import type { RotationFixPlan } from "../../keys/plan-rotation-fix.js";
import type { RotationFixResult } from "../../keys/apply-rotation-fix.js";
import type { KeyRotationStatus } from "../../keys/key-rotation-status.js";
import type { RotationOutcome } from "../../keys/rotate-and-wait.js";
import type { TerraformCheckResult } from "../../keys/check-terraform-plan.js";
import type { CheckStatus, CutoverPreflight } from "../../keys/preflight-cutover.js";
import { day, renderTable } from "./output.js";

function name(k: { aliases: readonly string[]; keyId: string }): string {
  return k.aliases.length > 0 ? `${k.aliases.join(",")} (${k.keyId})` : k.keyId;
}

function rotationCells(k: AuditedKey | KeyRotationStatus): string[] {
  const r = k.rotation;
  const h = k.history;
  return [
    r === "unknown" ? "unknown" : r.enabled ? "on" : "off",
    r !== "unknown" && r.enabled ? `${r.periodDays ?? 365}d` : "-",
    r !== "unknown" ? day(r.nextRotationDate) : "-",
    h === "unknown" ? "unknown" : String(h.materials),
    h === "unknown"
      ? "unknown"
      : h.lastRotationDate
        ? `${day(h.lastRotationDate)} ${h.lastRotationType ?? ""}`.trim()
        : "never",
  ];
}

function statusCell(k: AuditedKey): string {
  if (k.error !== undefined) return "ERROR";
  if (!k.scope.inScope) return `out of scope: ${k.scope.reason}`;
  return k.findings.length > 0 ? k.findings.map((f) => f.code).join(",") : "ok";
}

/**
 * The audit as a table, then findings, out-of-scope reasons, notes and a summary.
 *
 * @example
 * ```ts
 * writeLines(ctx.stdout, renderAudit(report));
 * ```
 */
export function renderAudit(report: AuditReport): string[] {
  const rows = report.keys.map((k) => [
    k.keyId,
    k.aliases.join(",") || "-",
    k.state ?? "?",
    k.keySpec ?? "?",
    k.origin ?? "?",
    k.manager ?? "?",
    ...(k.scope.inScope || k.rotation !== "unknown" ? rotationCells(k) : ["-", "-", "-", "-", "-"]),
    statusCell(k),
  ]);
  const out = renderTable(
    [
      "KEY",
      "ALIASES",
      "STATE",
      "SPEC",
      "ORIGIN",
      "MANAGER",
      "ROTATION",
      "PERIOD",
      "NEXT",
      "MATERIALS",
      "LAST ROTATION",
      "STATUS",
    ],
    rows,
  );
  const withFindings = report.keys.filter((k) => k.findings.length > 0);
  if (withFindings.length > 0) {
    out.push("", `Findings (${withFindings.length} key${withFindings.length === 1 ? "" : "s"}):`);
    for (const k of withFindings)
      for (const f of k.findings) out.push(`  ${name(k)}: ${f.code} — ${f.message}`);
  }
  const errors = report.keys.filter((k) => k.error !== undefined);
  if (errors.length > 0) {
    out.push("", `Errors (${errors.length}):`);
    for (const k of errors) out.push(`  ${name(k)}: ${k.error}`);
  }
  const outside = report.keys.filter((k) => !k.scope.inScope && k.error === undefined);
  if (outside.length > 0) {
    out.push("", `Out of scope (${outside.length}):`);
    for (const k of outside) if (!k.scope.inScope) out.push(`  ${name(k)}: ${k.scope.explanation}`);
  }
  const noted = report.keys.filter((k) => k.notes.length > 0);
  if (noted.length > 0) {
    out.push("", "Notes:");
    for (const k of noted) for (const n of k.notes) out.push(`  ${name(k)}: ${n}`);
  }
  const s = report.summary;
  const policy =
    report.policy.maxPeriodDays === undefined
      ? "no maximum period"
      : `maximum period ${report.policy.maxPeriodDays} days`;
  out.push(
    "",
    `${counted(s.keys, "key")}: ${s.inScope} in scope, ${s.outOfScope} out of scope; ${s.keysWithFindings} with findings; ${counted(s.errors, "error")} (${policy}, grace ${report.policy.graceDays} days)`,
  );
  return out;
}

/** The `--fix` plan, and with results the outcome per key. */
export function renderFixPlan(plan: RotationFixPlan, results?: readonly RotationFixResult[]): string[] {
  const out: string[] = [];
  if (plan.changes.length === 0) out.push("No key to change.");
  else {
    out.push(
      results
        ? "Changes:"
        : `Would change ${plan.changes.length} key(s) (dry run; add --apply to change them):`,
    );
    for (const c of plan.changes) {
      const what =
        c.change === "enable-rotation"
          ? `enable automatic rotation, period ${c.toPeriodDays} days`
          : `set rotation period ${c.fromPeriodDays ?? "?"} → ${c.toPeriodDays} days`;
      const r = results?.find((x) => x.change.arn === c.arn);
      const outcome = !results
        ? ""
        : !r
          ? "  [not attempted]"
          : r.status === "failed"
            ? `  [FAILED: ${r.error ?? "unknown"}]`
            : r.status === "unverified"
              ? "  [done; period not reported by the endpoint]"
              : `  [done: rotation on, ${r.after?.periodDays ?? "?"} days, next ${day(r.after?.nextRotationDate)}]`;
      out.push(`  ${name(c)}: ${what}${outcome}`);
    }
  }
  if (plan.manual.length > 0) {
    out.push("", "Not changed by --fix:");
    for (const m of plan.manual)
      out.push(`  ${name(m)}: ${m.findings.map((f) => f.message).join("; ")} — ${m.action}`);
  }
  return out;
}

/** `rekey keys status`. */
export function renderStatus(s: KeyRotationStatus): string[] {
  const r = s.rotation;
  const h = s.history;
  const out = [
    `key:              ${s.arn}`,
    `aliases:          ${s.aliases.join(", ") || "-"}`,
    `state:            ${s.state ?? "?"} (${s.keySpec ?? "?"}, ${s.origin ?? "?"}, ${s.manager ?? "?"})`,
    `created:          ${s.creationDate ?? "?"}`,
    `current material: ${s.currentKeyMaterialId ?? "not reported"}`,
    `rotation:         ${
      r === "unknown"
        ? "unknown"
        : r.enabled
          ? `on, every ${r.periodDays ?? 365} days, next ${day(r.nextRotationDate)}`
          : "off"
    }`,
  ];
  if (r !== "unknown" && r.onDemandRotationStartDate)
    out.push(`on-demand rotation in progress since ${r.onDemandRotationStartDate}`);
  if (h === "unknown") out.push("history:          unknown");
  else {
    out.push(`history:          ${h.materials} material(s)`);
    const rows = h.records.map((rec) => [
      rec.keyMaterialId ?? "?",
      rec.state ?? "-",
      rec.rotationDate ?? "(first material)",
      rec.rotationType ?? "-",
    ]);
    if (rows.length > 0)
      out.push(...renderTable(["MATERIAL", "STATE", "ROTATED", "TYPE"], rows).map((l) => `  ${l}`));
  }
  for (const n of s.notes) out.push(`note: ${n}`);
  return out;
}

/** `rekey keys rotate`. */
export function renderRotation(r: RotationOutcome): string[] {
  return [
    `rotated ${r.keyArn}`,
    `old material: ${r.previousKeyMaterialId ?? "not reported"}`,
    `new material: ${r.newKeyMaterialId ?? "not reported"}`,
    `observed by ${r.method} after ${(r.elapsedMs / 1000).toFixed(1)}s`,
  ];
}

/** `rekey keys terraform-check`. */
export function renderTerraform(r: TerraformCheckResult, file: string): string[] {
  const out = [
    `${file}: ${r.keys.length} aws_kms_key resource(s)${r.terraformVersion ? ` (Terraform ${r.terraformVersion})` : ""}`,
  ];
  for (const k of r.keys) {
    const mark = k.status === "finding" ? "FAIL" : k.status === "ok" ? "ok  " : "skip";
    out.push(`  ${mark} ${k.address} [${k.actions.join(",") || "planned"}]: ${k.message}`);
  }
  out.push(
    r.findings.length === 0
      ? "No finding."
      : `${r.findings.length} key(s) without automatic rotation (CKV_AWS_7): set enable_key_rotation = true`,
  );
  return out;
}

const MARK: Record<CheckStatus, string> = {
  pass: "[ok]  ",
  fail: "[FAIL]",
  warn: "[warn]",
  skip: "[skip]",
  info: "[info]",
};

/** The cutover checklist. */
export function renderPreflight(p: CutoverPreflight, heading = "Preflight"): string[] {
  const out = [`${heading} of ${p.alias}${p.target ? ` → ${p.target.arn}` : ""}:`];
  for (const c of p.checks) {
    out.push(`  ${MARK[c.status]} ${c.title}`);
    for (const d of c.details) out.push(`         ${d}`);
  }
  out.push(p.passed ? "Preflight passed." : "Preflight FAILED: nothing was changed.");
  return out;
}
