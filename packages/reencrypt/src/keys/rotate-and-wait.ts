/**
 * `rotateAndWait`: `RotateKeyOnDemand`, then waits until the new key material is current.
 *
 * KMS rotates in the background, so the call returning proves nothing. Completion is observed,
 * in order of preference, by:
 * 1. `DescribeKey` → `CurrentKeyMaterialId` differs from the one before the call;
 * 2. where material ids are not reported: `ListKeyRotations` shows a new current material;
 * 3. where that is not implemented either: `GetKeyRotationStatus` → `OnDemandRotationStartDate`
 *    is gone (the new material id is then unknown).
 */
import { setTimeout as delay } from "node:timers/promises";
import { KeyToolError, kmsCall, kmsFailure } from "./errors.js";
import { errorNameOf } from "../errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { readRotationHistory, readRotationSettings, type RotationHistory } from "./read-rotation.js";

/** How completion was observed. */
export type RotationWaitMethod = "current-key-material-id" | "list-key-rotations" | "rotation-status";

/** Options of {@link rotateAndWait}. */
export interface RotateAndWaitOptions {
  /** Give up after this long. @default 300000 (5 minutes) */
  readonly timeoutMs?: number;
  /** Time between checks. @default 2000 */
  readonly intervalMs?: number;
  /**
   * Stops waiting (`ERR_INTERRUPTED`). The rotation itself, once requested, goes on in KMS;
   * aborted before the request, nothing is rotated.
   */
  readonly signal?: AbortSignal;
  /** Called before each wait, for a progress indicator. */
  readonly onProgress?: (progress: {
    readonly elapsedMs: number;
    readonly method: RotationWaitMethod;
  }) => void;
  /** Waits between checks; tests replace it. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  /** Milliseconds clock; tests replace it. @default Date.now */
  readonly now?: () => number;
}

/** What {@link rotateAndWait} observed. */
export interface RotationOutcome {
  readonly keyId: string;
  readonly keyArn: string;
  /** The material that was current before the rotation, when known. */
  readonly previousKeyMaterialId?: string;
  /** The material that is current now, when known. */
  readonly newKeyMaterialId?: string;
  readonly method: RotationWaitMethod;
  /** When the rotation was requested (ISO 8601). */
  readonly requestedAt: string;
  readonly elapsedMs: number;
}

const LIMIT_HINT =
  "the on-demand rotation quota of this key is used up (AWS allows 25 per key, LocalStack 10)";

function currentOf(history: RotationHistory): { id?: string; count: number } {
  const current =
    history.records.filter((r) => r.state === "CURRENT").pop() ?? history.records[history.records.length - 1];
  return { ...(current?.keyMaterialId ? { id: current.keyMaterialId } : {}), count: history.materials };
}

/**
 * Rotates a key on demand and waits for the new material.
 *
 * @param keyRef - Key id, key ARN, alias name or alias ARN.
 * @throws KeyToolError `ERR_ROTATION_TIMEOUT` when the material did not change in time,
 *   `ERR_INTERRUPTED` when `signal` aborted (the message says whether the rotation was requested
 *   and so continues in KMS), `ERR_KEY_NOT_FOUND`, or `ERR_KMS` (e.g. `LimitExceededException`,
 *   `DisabledException`).
 * @example
 * ```ts
 * const r = await rotateAndWait(kms, "alias/app-data", { timeoutMs: 60_000 });
 * console.log(`${r.previousKeyMaterialId} -> ${r.newKeyMaterialId}`);
 * ```
 */
export async function rotateAndWait(
  kms: KmsAdminApi,
  keyRef: string,
  options: RotateAndWaitOptions = {},
): Promise<RotationOutcome> {
  const now = options.now ?? Date.now;
  const sleep =
    options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
  const timeoutMs = options.timeoutMs ?? 300_000;
  const intervalMs = options.intervalMs ?? 2000;

  const meta = (await kmsCall("DescribeKey", keyRef, () => kms.describeKey({ KeyId: keyRef }))).KeyMetadata;
  if (!meta?.KeyId || !meta.Arn)
    throw new KeyToolError("ERR_KMS", `DescribeKey returned no metadata for ${keyRef}`);
  const keyArn = meta.Arn;
  const before = meta.CurrentKeyMaterialId;

  let method: RotationWaitMethod = "current-key-material-id";
  let historyBefore: { ids: Set<string>; count: number } | undefined;
  if (!before) {
    const h = await readRotationHistory(kms, keyArn);
    if (h === "unsupported") method = "rotation-status";
    else {
      method = "list-key-rotations";
      historyBefore = {
        ids: new Set(h.records.flatMap((r) => (r.keyMaterialId ? [r.keyMaterialId] : []))),
        count: h.materials,
      };
    }
  }

  if (options.signal?.aborted)
    throw new KeyToolError(
      "ERR_INTERRUPTED",
      `interrupted before the rotation of ${keyArn} was requested: nothing was rotated`,
    );
  const requestedAt = new Date(now()).toISOString();
  const start = now();
  try {
    await kms.rotateKeyOnDemand({ KeyId: keyArn });
  } catch (e) {
    const f = kmsFailure("RotateKeyOnDemand", keyRef, e);
    if (errorNameOf(e) === "LimitExceededException") {
      throw new KeyToolError("ERR_KMS", `${f.message} (${LIMIT_HINT})`, {
        cause: e,
        kmsErrorName: f.kmsErrorName,
      });
    }
    throw f;
  }

  const check = async (): Promise<{ done: boolean; id?: string }> => {
    switch (method) {
      case "current-key-material-id": {
        const m = (await kmsCall("DescribeKey", keyArn, () => kms.describeKey({ KeyId: keyArn })))
          .KeyMetadata;
        const id = m?.CurrentKeyMaterialId;
        return id && id !== before ? { done: true, id } : { done: false };
      }
      case "list-key-rotations": {
        const h = await readRotationHistory(kms, keyArn);
        if (h === "unsupported" || !historyBefore) return { done: false };
        const c = currentOf(h);
        if (c.id !== undefined && historyBefore.ids.size > 0) {
          return historyBefore.ids.has(c.id) ? { done: false } : { done: true, id: c.id };
        }
        return c.count > historyBefore.count
          ? { done: true, ...(c.id ? { id: c.id } : {}) }
          : { done: false };
      }
      case "rotation-status": {
        const s = await readRotationSettings(kms, keyArn);
        return { done: s.onDemandRotationStartDate === undefined };
      }
    }
  };

  for (;;) {
    const r = await check();
    const elapsedMs = now() - start;
    if (r.done) {
      return {
        keyId: meta.KeyId,
        keyArn,
        ...(before ? { previousKeyMaterialId: before } : {}),
        ...(r.id ? { newKeyMaterialId: r.id } : {}),
        method,
        requestedAt,
        elapsedMs,
      };
    }
    if (elapsedMs >= timeoutMs) {
      throw new KeyToolError(
        "ERR_ROTATION_TIMEOUT",
        `rotation of ${keyArn} was requested at ${requestedAt} but the new material is not current after ${Math.round(elapsedMs / 1000)}s; check later with \`rekey keys status ${keyRef}\``,
      );
    }
    options.onProgress?.({ elapsedMs, method });
    try {
      if (options.signal?.aborted) throw options.signal.reason;
      await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsedMs)), options.signal);
    } catch (e) {
      if (!options.signal?.aborted) throw e;
      throw new KeyToolError(
        "ERR_INTERRUPTED",
        `stopped waiting: the on-demand rotation of ${keyArn} requested at ${requestedAt} continues in KMS; check it with \`rekey keys status ${keyRef}\``,
        { cause: e },
      );
    }
  }
}
