/**
 * `applyRotationFix`: carries out a {@link RotationFixPlan}. Each key gets `EnableKeyRotation`
 * with the planned period, then `GetKeyRotationStatus` is read back to prove the change took
 * effect. Keys are changed one after the other (KMS allows few `EnableKeyRotation` calls per
 * second) and a failing key never stops the others.
 */
import { KeyToolError, kmsCall } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import type { RotationFixChange, RotationFixPlan } from "./plan-rotation-fix.js";
import { readRotationSettings, type RotationSettings } from "./read-rotation.js";

/** The outcome for one key. */
export interface RotationFixResult {
  readonly change: RotationFixChange;
  /**
   * `applied`: re-read shows rotation on with the planned period; `unverified`: on, but the
   * endpoint does not report the period; `failed`: the call failed or the re-read disagrees.
   */
  readonly status: "applied" | "unverified" | "failed";
  /** The settings read back after the change. */
  readonly after?: RotationSettings;
  readonly error?: string;
}

/** Options of {@link applyRotationFix}. */
export interface ApplyRotationFixOptions {
  /** Called after each key, for progress output. */
  readonly onResult?: (result: RotationFixResult) => void;
  /** Stops before the next key. */
  readonly signal?: AbortSignal;
}

/**
 * Applies the plan and reports every key.
 *
 * @example
 * ```ts
 * const results = await applyRotationFix(kms, plan);
 * const failed = results.filter((r) => r.status === "failed");
 * ```
 */
export async function applyRotationFix(
  kms: KmsAdminApi,
  plan: RotationFixPlan,
  options: ApplyRotationFixOptions = {},
): Promise<RotationFixResult[]> {
  const results: RotationFixResult[] = [];
  for (const change of plan.changes) {
    if (options.signal?.aborted) break;
    const result = await applyOne(kms, change);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

async function applyOne(kms: KmsAdminApi, change: RotationFixChange): Promise<RotationFixResult> {
  try {
    await kmsCall("EnableKeyRotation", change.arn, () =>
      kms.enableKeyRotation({ KeyId: change.arn, RotationPeriodInDays: change.toPeriodDays }),
    );
    const after = await readRotationSettings(kms, change.arn);
    if (!after.enabled) {
      throw new KeyToolError("ERR_KMS", "rotation still reads as disabled after EnableKeyRotation");
    }
    if (after.periodDays === undefined) return { change, status: "unverified", after };
    if (after.periodDays !== change.toPeriodDays) {
      return {
        change,
        status: "failed",
        after,
        error: `rotation period reads ${after.periodDays} days, expected ${change.toPeriodDays}`,
      };
    }
    return { change, status: "applied", after };
  } catch (e) {
    return { change, status: "failed", error: (e as Error).message };
  }
}
