/**
 * `classifyKey`: the audit's judgement of one key, as a pure function of what KMS said about it.
 *
 * In scope are the keys AWS can rotate automatically and whose rotation the account controls —
 * the same keys as seed 003's check (Config rule `cmk-backing-key-rotation-enabled`): customer
 * managed, `SYMMETRIC_DEFAULT`, `Origin=AWS_KMS`, not in a custom key store, enabled, not a
 * multi-Region replica. Every other key gets the reason it is out of scope.
 *
 * Findings on an in-scope key:
 * - `rotation-disabled` — automatic rotation is off;
 * - `period-exceeds-policy` — the rotation period is longer than the policy's maximum;
 * - `rotation-overdue` — the current material (last rotation, or creation if it never rotated)
 *   is older than the cryptoperiod plus a grace. The cryptoperiod is the key's period capped by
 *   the policy, or the policy (default 365 days) when rotation is off. This catches keys whose
 *   rotation was enabled long after creation: KMS counts the period from the enable date.
 */
import type { RotationHistory, RotationSettings } from "./read-rotation.js";

/** Milliseconds in a day. */
export const DAY_MS = 86_400_000;

/** KMS's default rotation period, used as the cryptoperiod of a key whose rotation is off. */
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;

/** What KMS said about one key (dates as ISO strings). */
export interface KeyFacts {
  readonly keyId: string;
  readonly arn: string;
  /** Alias names (`alias/…`) that point at the key. */
  readonly aliases: readonly string[];
  readonly description?: string;
  /** `KeyState`: `Enabled`, `Disabled`, `PendingDeletion`, … */
  readonly state?: string;
  /** `KeySpec` (or the older `CustomerMasterKeySpec`). */
  readonly keySpec?: string;
  readonly keyUsage?: string;
  /** `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`. */
  readonly origin?: string;
  /** `CUSTOMER` or `AWS`. */
  readonly manager?: string;
  readonly customKeyStoreId?: string;
  /** `PRIMARY` or `REPLICA` for multi-Region keys. */
  readonly multiRegionKeyType?: string;
  readonly creationDate?: string;
  readonly currentKeyMaterialId?: string;
  /** `"unknown"` when not read (out of scope) or unreadable. */
  readonly rotation: RotationSettings | "unknown";
  /** `"unknown"` when the endpoint has no `ListKeyRotations` or it could not be read. */
  readonly history: RotationHistory | "unknown";
}

/** Why a key is not audited for rotation. */
export type OutOfScopeReason =
  | "aws-managed"
  | "asymmetric"
  | "hmac"
  | "not-encrypt-decrypt"
  | "imported-material"
  | "custom-key-store"
  | "multi-region-replica"
  | "pending-deletion"
  | "disabled"
  | "not-enabled"
  | "unreadable";

/** Whether the audit judges a key, and if not, why. */
export type KeyScope =
  | { readonly inScope: true }
  | { readonly inScope: false; readonly reason: OutOfScopeReason; readonly explanation: string };

/** The codes of audit findings. */
export type FindingCode = "rotation-disabled" | "period-exceeds-policy" | "rotation-overdue";

/** One thing wrong with a key. */
export interface Finding {
  readonly code: FindingCode;
  readonly message: string;
}

/** The rules an audit applies. */
export interface AuditPolicy {
  /** Longest acceptable rotation period, in days. @default undefined (no limit) */
  readonly maxPeriodDays?: number;
  /** Days past the cryptoperiod before a key counts as overdue. @default 7 */
  readonly graceDays: number;
}

/** What {@link classifyKey} decides. */
export interface KeyClassification {
  readonly scope: KeyScope;
  readonly findings: readonly Finding[];
  /** What could not be judged, and hints. */
  readonly notes: readonly string[];
}

const EXPLANATIONS: Record<OutOfScopeReason, string> = {
  "aws-managed": "AWS-managed key: AWS rotates it every year and its rotation cannot be changed",
  asymmetric: "asymmetric key: KMS cannot rotate it automatically; rotate it manually with an alias cutover",
  hmac: "HMAC key: KMS cannot rotate it automatically; rotate it manually with an alias cutover",
  "not-encrypt-decrypt": "not an ENCRYPT_DECRYPT key: automatic rotation does not apply",
  "imported-material":
    "imported key material (Origin EXTERNAL): automatic rotation is not supported; import new material or cut over",
  "custom-key-store": "key in a custom key store: automatic rotation is not supported; rotate it manually",
  "multi-region-replica": "multi-Region replica: rotation is set on its primary key",
  "pending-deletion": "pending deletion: KMS does not rotate it and reports rotation off",
  disabled: "disabled: KMS does not rotate it; if re-enabled, material older than the period rotates at once",
  "not-enabled": "not in the Enabled state: KMS does not rotate it",
  unreadable: "could not be described: see the error",
};

/**
 * The out-of-scope verdict with its explanation.
 *
 * @example
 * ```ts
 * outOfScope("unreadable").explanation; // "could not be described: see the error"
 * ```
 */
export function outOfScope(reason: OutOfScopeReason): KeyScope {
  return { inScope: false, reason, explanation: EXPLANATIONS[reason] };
}

/**
 * Decides whether a key is in scope, and why not.
 *
 * @example
 * ```ts
 * keyScope({ ...facts, manager: "AWS" }); // { inScope: false, reason: "aws-managed", … }
 * ```
 */
export function keyScope(facts: KeyFacts): KeyScope {
  const out = outOfScope;
  if (facts.manager === "AWS") return out("aws-managed");
  const spec = facts.keySpec ?? "SYMMETRIC_DEFAULT";
  if (spec.startsWith("HMAC_")) return out("hmac");
  if (spec !== "SYMMETRIC_DEFAULT") return out("asymmetric");
  if (facts.keyUsage !== undefined && facts.keyUsage !== "ENCRYPT_DECRYPT") return out("not-encrypt-decrypt");
  if (facts.origin === "EXTERNAL") return out("imported-material");
  if (
    facts.customKeyStoreId !== undefined ||
    facts.origin === "AWS_CLOUDHSM" ||
    facts.origin === "EXTERNAL_KEY_STORE"
  )
    return out("custom-key-store");
  if (facts.multiRegionKeyType === "REPLICA") return out("multi-region-replica");
  if (facts.state === "PendingDeletion" || facts.state === "PendingReplicaDeletion")
    return out("pending-deletion");
  if (facts.state === "Disabled") return out("disabled");
  if (facts.state !== undefined && facts.state !== "Enabled") return out("not-enabled");
  return { inScope: true };
}

/** True when the key's rotation settings are worth reading (customer-managed, rotatable kind). */
export function isRotatableKind(facts: Omit<KeyFacts, "rotation" | "history">): boolean {
  const scope = keyScope({ ...facts, rotation: "unknown", history: "unknown" });
  return (
    scope.inScope ||
    scope.reason === "disabled" ||
    scope.reason === "pending-deletion" ||
    scope.reason === "not-enabled"
  );
}

function days(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * Judges one key against the policy at `now`.
 *
 * @example
 * ```ts
 * const { scope, findings } = classifyKey(facts, { graceDays: 7, maxPeriodDays: 365 }, new Date());
 * ```
 */
export function classifyKey(facts: KeyFacts, policy: AuditPolicy, now: Date): KeyClassification {
  const scope = keyScope(facts);
  if (!scope.inScope) return { scope, findings: [], notes: [] };
  const findings: Finding[] = [];
  const notes: string[] = [];
  const rotation = facts.rotation;
  if (rotation === "unknown") {
    notes.push("rotation status could not be read");
    return { scope, findings, notes };
  }
  const max = policy.maxPeriodDays;
  const keyPeriod = rotation.periodDays ?? DEFAULT_ROTATION_PERIOD_DAYS;
  if (!rotation.enabled) {
    findings.push({
      code: "rotation-disabled",
      message: "automatic rotation is off",
    });
  } else if (max !== undefined && keyPeriod > max) {
    findings.push({
      code: "period-exceeds-policy",
      message: `rotation period ${keyPeriod} days is longer than the policy's ${max} days`,
    });
  }

  const period = rotation.enabled
    ? Math.min(keyPeriod, max ?? Number.POSITIVE_INFINITY)
    : (max ?? DEFAULT_ROTATION_PERIOD_DAYS);
  const allowedMs = (period + policy.graceDays) * DAY_MS;
  const created = facts.creationDate;
  const history = facts.history;
  const since = history === "unknown" ? undefined : (history.lastRotationDate ?? created);
  if (since !== undefined) {
    const age = now.getTime() - Date.parse(since);
    if (age > allowedMs) {
      const what =
        history !== "unknown" && history.lastRotationDate
          ? `last rotated ${day(history.lastRotationDate)}`
          : `never rotated since creation on ${day(since)}`;
      findings.push({
        code: "rotation-overdue",
        message: `current key material is ${days(age)} days old (${what}); the period is ${period} days + ${policy.graceDays} days grace`,
      });
    }
  } else if (created !== undefined && now.getTime() - Date.parse(created) <= allowedMs) {
    // Without a history the material's age is unknown, but it cannot be older than the key.
  } else {
    notes.push(`rotation history unavailable: cannot tell whether the material is older than ${period} days`);
  }
  return { scope, findings, notes };
}
