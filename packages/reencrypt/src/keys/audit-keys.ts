/**
 * `auditKeys`: every KMS key of the account and Region (`ListKeys`, paged), with its metadata
 * (`DescribeKey`), aliases (`ListAliases`, paged), rotation settings (`GetKeyRotationStatus`) and
 * history (`ListKeyRotations`, "unknown" where the endpoint lacks it), judged by
 * {@link classifyKey}. One key that cannot be read is reported with its error; the others are
 * still audited.
 */
import PQueue from "p-queue";
import type { KeyMetadata } from "@aws-sdk/client-kms";
import {
  classifyKey,
  outOfScope,
  isRotatableKind,
  type AuditPolicy,
  type Finding,
  type FindingCode,
  type KeyFacts,
  type KeyScope,
} from "./classify-key.js";
import { KeyToolError, kmsCall } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { allKmsItems } from "../support/kms-pages.js";
import { isoDate, readRotationHistory, readRotationSettings } from "./read-rotation.js";

/** Options of {@link auditKeys}. */
export interface AuditOptions {
  /** Longest acceptable rotation period in days (90–2560). @default undefined (no limit) */
  readonly maxPeriodDays?: number;
  /** Days past the cryptoperiod before a key counts as overdue. @default 7 */
  readonly graceDays?: number;
  /** The moment the audit judges ages against. @default new Date() */
  readonly now?: Date;
  /** Keys read at once. KMS control-plane quotas are low; the SDK retries throttling. @default 4 */
  readonly concurrency?: number;
  /** Audit only these keys (ids, ARNs or aliases) instead of listing the account. @default undefined */
  readonly keyIds?: readonly string[];
  /** Stops starting new key reads. */
  readonly signal?: AbortSignal;
}

/** One key in the audit report. */
export interface AuditedKey extends KeyFacts {
  readonly scope: KeyScope;
  readonly findings: readonly Finding[];
  readonly notes: readonly string[];
  /** Set when the key could not be fully read; the audit is then incomplete. */
  readonly error?: string;
}

/** Counts of an audit. */
export interface AuditSummary {
  readonly keys: number;
  readonly inScope: number;
  readonly outOfScope: number;
  readonly keysWithFindings: number;
  readonly findings: Readonly<Record<FindingCode, number>>;
  readonly errors: number;
}

/** What {@link auditKeys} returns. JSON-ready (dates are ISO strings). */
export interface AuditReport {
  readonly generatedAt: string;
  readonly policy: AuditPolicy;
  /** Keys with findings first, then in-scope keys, then the rest; by alias or id within. */
  readonly keys: readonly AuditedKey[];
  readonly summary: AuditSummary;
}

/** Validates a rotation period in days against KMS's range (90–2560). */
export function validatePeriodDays(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 90 || value > 2560) {
    throw new KeyToolError(
      "ERR_INVALID_ARGUMENT",
      `${what} must be a whole number of days from 90 to 2560, not ${value}`,
    );
  }
  return value;
}

/**
 * Audits the rotation of every key.
 *
 * @example
 * ```ts
 * const report = await auditKeys(kmsAdminOf(new KMSClient({})), { maxPeriodDays: 365 });
 * if (report.summary.keysWithFindings > 0) process.exitCode = 2;
 * ```
 */
export async function auditKeys(kms: KmsAdminApi, options: AuditOptions = {}): Promise<AuditReport> {
  const policy: AuditPolicy = {
    graceDays: options.graceDays ?? 7,
    ...(options.maxPeriodDays === undefined
      ? {}
      : { maxPeriodDays: validatePeriodDays(options.maxPeriodDays, "the maximum rotation period") }),
  };
  if (!Number.isInteger(policy.graceDays) || policy.graceDays < 0) {
    throw new KeyToolError(
      "ERR_INVALID_ARGUMENT",
      `the grace must be a whole number of days ≥ 0, not ${policy.graceDays}`,
    );
  }
  const now = options.now ?? new Date();

  const keyIds =
    options.keyIds ??
    (
      await kmsCall("ListKeys", undefined, () =>
        allKmsItems(
          (m) => kms.listKeys({ Limit: 1000, ...m }),
          (r) => r.Keys,
        ),
      )
    ).flatMap((k) => (k.KeyId ? [k.KeyId] : []));

  const aliases = await kmsCall("ListAliases", undefined, () =>
    allKmsItems(
      (m) => kms.listAliases({ Limit: 100, ...m }),
      (r) => r.Aliases,
    ),
  );
  const aliasesByKey = new Map<string, string[]>();
  for (const a of aliases) {
    if (!a.TargetKeyId || !a.AliasName) continue;
    const names = aliasesByKey.get(a.TargetKeyId) ?? [];
    names.push(a.AliasName);
    aliasesByKey.set(a.TargetKeyId, names);
  }

  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const keys = await Promise.all(
    keyIds.map((keyId) =>
      queue.add(
        () => auditOne(kms, keyId, aliasesByKey, policy, now),
        options.signal ? { signal: options.signal } : {},
      ),
    ),
  );
  const sorted = [...keys].sort(byImportance);
  return { generatedAt: now.toISOString(), policy, keys: sorted, summary: summarize(sorted) };
}

function rank(k: AuditedKey): number {
  if (k.error !== undefined) return 0;
  if (k.findings.length > 0) return 1;
  return k.scope.inScope ? 2 : 3;
}

function byImportance(a: AuditedKey, b: AuditedKey): number {
  const name = (k: AuditedKey) => k.aliases[0] ?? `~${k.keyId}`;
  return rank(a) - rank(b) || name(a).localeCompare(name(b));
}

function summarize(keys: readonly AuditedKey[]): AuditSummary {
  const findings: Record<FindingCode, number> = {
    "rotation-disabled": 0,
    "period-exceeds-policy": 0,
    "rotation-overdue": 0,
  };
  for (const k of keys) for (const f of k.findings) findings[f.code]++;
  const inScope = keys.filter((k) => k.scope.inScope).length;
  return {
    keys: keys.length,
    inScope,
    outOfScope: keys.length - inScope,
    keysWithFindings: keys.filter((k) => k.findings.length > 0).length,
    findings,
    errors: keys.filter((k) => k.error !== undefined).length,
  };
}

/** The facts of `DescribeKey`'s metadata, without rotation. */
export function factsOf(m: KeyMetadata, aliases: readonly string[]): Omit<KeyFacts, "rotation" | "history"> {
  const keyId = m.KeyId ?? "";
  const spec = m.KeySpec ?? m.CustomerMasterKeySpec;
  const created = isoDate(m.CreationDate);
  return {
    keyId,
    arn: m.Arn ?? keyId,
    aliases: [...aliases].sort(),
    ...(m.Description ? { description: m.Description } : {}),
    ...(m.KeyState ? { state: m.KeyState } : {}),
    ...(spec ? { keySpec: spec } : {}),
    ...(m.KeyUsage ? { keyUsage: m.KeyUsage } : {}),
    ...(m.Origin ? { origin: m.Origin } : {}),
    ...(m.KeyManager ? { manager: m.KeyManager } : {}),
    ...(m.CustomKeyStoreId ? { customKeyStoreId: m.CustomKeyStoreId } : {}),
    ...(m.MultiRegionConfiguration?.MultiRegionKeyType
      ? { multiRegionKeyType: m.MultiRegionConfiguration.MultiRegionKeyType }
      : {}),
    ...(created ? { creationDate: created } : {}),
    ...(m.CurrentKeyMaterialId ? { currentKeyMaterialId: m.CurrentKeyMaterialId } : {}),
  };
}

async function auditOne(
  kms: KmsAdminApi,
  keyRef: string,
  aliasesByKey: ReadonlyMap<string, string[]>,
  policy: AuditPolicy,
  now: Date,
): Promise<AuditedKey> {
  let meta: KeyMetadata | undefined;
  try {
    meta = (await kmsCall("DescribeKey", keyRef, () => kms.describeKey({ KeyId: keyRef }))).KeyMetadata;
    if (!meta?.KeyId) throw new KeyToolError("ERR_KMS", `DescribeKey returned no metadata for ${keyRef}`);
  } catch (e) {
    return {
      keyId: keyRef,
      arn: keyRef,
      aliases: aliasesByKey.get(keyRef) ?? [],
      rotation: "unknown",
      history: "unknown",
      scope: outOfScope("unreadable"),
      findings: [],
      notes: [],
      error: (e as Error).message,
    };
  }
  const base = factsOf(meta, aliasesByKey.get(meta.KeyId ?? "") ?? []);
  let rotation: KeyFacts["rotation"] = "unknown";
  let history: KeyFacts["history"] = "unknown";
  const problems: string[] = [];
  const notes: string[] = [];
  if (isRotatableKind(base)) {
    try {
      rotation = await readRotationSettings(kms, base.arn);
    } catch (e) {
      problems.push((e as Error).message);
    }
    try {
      const h = await readRotationHistory(kms, base.arn);
      if (h === "unsupported")
        notes.push("ListKeyRotations is not supported by this endpoint: history unknown");
      else history = h;
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  const facts: KeyFacts = { ...base, rotation, history };
  const judged = classifyKey(facts, policy, now);
  // A key the audit is not judging may fail to answer without making the audit incomplete.
  const error = judged.scope.inScope && problems.length > 0 ? problems.join("; ") : undefined;
  return {
    ...facts,
    scope: judged.scope,
    findings: judged.findings,
    notes: [...notes, ...judged.notes, ...(error === undefined ? problems : [])],
    ...(error === undefined ? {} : { error }),
  };
}
