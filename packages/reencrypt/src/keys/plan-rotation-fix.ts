/**
 * `planRotationFix`: from an audit report, exactly which keys `--fix` would change and how.
 * Only what enabling automatic rotation solves is planned: `rotation-disabled` (enable it) and
 * `period-exceeds-policy` (set a shorter period). Overdue material is listed for a manual
 * `rekey keys rotate`, because enabling rotation starts a new period instead of rotating now.
 */
import { DEFAULT_ROTATION_PERIOD_DAYS, type Finding, type FindingCode } from "./classify-key.js";
import type { AuditReport } from "./audit-keys.js";
import { validatePeriodDays } from "./audit-keys.js";
import { KeyToolError } from "./errors.js";

/** Options of {@link planRotationFix}. */
export interface RotationFixOptions {
  /**
   * Period to set, 90–2560 days.
   * @default the policy's maximum if it is shorter than 365 days, else 365 (KMS's default)
   */
  readonly rotationPeriodDays?: number;
}

/** One planned change. */
export interface RotationFixChange {
  readonly keyId: string;
  readonly arn: string;
  readonly aliases: readonly string[];
  /** `enable-rotation`: rotation is off; `set-period`: rotation is on with too long a period. */
  readonly change: "enable-rotation" | "set-period";
  /** The current period, for `set-period`. */
  readonly fromPeriodDays?: number;
  readonly toPeriodDays: number;
  /** The findings this change resolves. */
  readonly resolves: readonly FindingCode[];
}

/** A key whose findings `--fix` does not resolve. */
export interface RotationFixManual {
  readonly keyId: string;
  readonly arn: string;
  readonly aliases: readonly string[];
  readonly findings: readonly Finding[];
  /** What to do instead. */
  readonly action: string;
}

/** What {@link planRotationFix} returns. */
export interface RotationFixPlan {
  readonly rotationPeriodDays: number;
  readonly changes: readonly RotationFixChange[];
  readonly manual: readonly RotationFixManual[];
}

/**
 * Plans the remediation of an audit.
 *
 * @throws KeyToolError `ERR_INVALID_ARGUMENT` for a period outside 90–2560 days or longer than
 *   the audit's policy.
 * @example
 * ```ts
 * const plan = planRotationFix(await auditKeys(kms, { maxPeriodDays: 365 }), { rotationPeriodDays: 180 });
 * for (const c of plan.changes) console.log(c.arn, c.change, c.toPeriodDays);
 * ```
 */
export function planRotationFix(report: AuditReport, options: RotationFixOptions = {}): RotationFixPlan {
  const max = report.policy.maxPeriodDays;
  const period =
    options.rotationPeriodDays === undefined
      ? Math.min(DEFAULT_ROTATION_PERIOD_DAYS, max ?? DEFAULT_ROTATION_PERIOD_DAYS)
      : validatePeriodDays(options.rotationPeriodDays, "the rotation period");
  if (max !== undefined && period > max) {
    throw new KeyToolError(
      "ERR_INVALID_ARGUMENT",
      `the rotation period (${period} days) is longer than the maximum the audit enforces (${max} days)`,
    );
  }
  const changes: RotationFixChange[] = [];
  const manual: RotationFixManual[] = [];
  for (const k of report.keys) {
    if (!k.scope.inScope || k.findings.length === 0) continue;
    const codes = k.findings.map((f) => f.code);
    const who = { keyId: k.keyId, arn: k.arn, aliases: k.aliases };
    if (codes.includes("rotation-disabled")) {
      changes.push({
        ...who,
        change: "enable-rotation",
        toPeriodDays: period,
        resolves: ["rotation-disabled"],
      });
    } else if (codes.includes("period-exceeds-policy")) {
      const from = k.rotation === "unknown" ? undefined : k.rotation.periodDays;
      changes.push({
        ...who,
        change: "set-period",
        ...(from === undefined ? {} : { fromPeriodDays: from }),
        toPeriodDays: period,
        resolves: ["period-exceeds-policy"],
      });
    }
    const rest = k.findings.filter((f) => f.code === "rotation-overdue");
    if (rest.length > 0) {
      manual.push({
        ...who,
        findings: rest,
        action: `rotate the material now: rekey keys rotate ${k.aliases[0] ?? k.arn}`,
      });
    }
  }
  return { rotationPeriodDays: period, changes, manual };
}
