/** How a report names the target. */
import type { ResolvedTarget } from "../kms/resolve-target.js";
import { describeKmsScope, targetScope } from "../kms/kms-scope.js";

/** The target as reported and printed at start. */
export interface TargetSummary {
  /** As given: `current`, `alias:NAME`, `key:ARN`. */
  readonly spec: string;
  /** The key it resolved to (absent for `current`). */
  readonly keyArn?: string;
  readonly aliasName?: string;
  /** The key's current material at start, when KMS reports it. */
  readonly currentKeyMaterialId?: string;
  /**
   * Where the job's KMS client reaches (`us-east-1 (aws, account 111122223333)`): only entries
   * under keys there are moved. Absent when not known (every entry is considered).
   */
  readonly kmsScope?: string;
  /** One line for people. */
  readonly description: string;
}

/**
 * Summarizes a resolved target.
 *
 * @example
 * ```ts
 * summarizeTarget("alias:app", target).description; // "alias/app → arn:aws:kms:…:key/… (material 8f3a…)"
 * ```
 */
export function summarizeTarget(spec: string, t: ResolvedTarget): TargetSummary {
  const scope = targetScope(t);
  const kmsScope = scope ? { kmsScope: describeKmsScope(scope) } : {};
  if (t.kind === "current")
    return { spec, ...kmsScope, description: "the current key material of each object's own key" };
  const material = t.currentKeyMaterialId
    ? ` (material ${t.currentKeyMaterialId})`
    : " (material id not reported)";
  return {
    spec,
    keyArn: t.keyArn,
    ...(t.aliasName ? { aliasName: t.aliasName } : {}),
    ...(t.currentKeyMaterialId ? { currentKeyMaterialId: t.currentKeyMaterialId } : {}),
    ...kmsScope,
    description: `${t.aliasName ? `${t.aliasName} → ` : ""}${t.keyArn}${material}`,
  };
}
