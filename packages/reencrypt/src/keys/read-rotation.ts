/**
 * Reads a key's rotation settings (`GetKeyRotationStatus`) and rotation history
 * (`ListKeyRotations`) into plain, JSON-ready records. The history is optional on the wire:
 * LocalStack does not implement `ListKeyRotations` (HTTP 501), and callers show "unknown".
 */
import { isUnsupportedOperation, kmsCall, kmsFailure } from "./errors.js";
import { errorNameOf } from "../errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { allKmsItems } from "../support/kms-pages.js";

/** A key's automatic-rotation settings. Dates are ISO 8601 strings. */
export interface RotationSettings {
  readonly enabled: boolean;
  /** `RotationPeriodInDays`, when rotation is enabled and KMS reports it. */
  readonly periodDays?: number;
  /** `NextRotationDate`, when rotation is enabled. */
  readonly nextRotationDate?: string;
  /** Set only while an on-demand rotation is in progress. */
  readonly onDemandRotationStartDate?: string;
}

/** One key material of a key, as `ListKeyRotations` lists it. */
export interface RotationRecord {
  readonly keyMaterialId?: string;
  /** `CURRENT`, `NON_CURRENT`, … when reported. */
  readonly state?: string;
  /** When the material became current by rotation (absent for the key's first material). */
  readonly rotationDate?: string;
  /** `AUTOMATIC` or `ON_DEMAND` (absent for the first material). */
  readonly rotationType?: string;
}

/** A key's materials and rotations. */
export interface RotationHistory {
  /** Number of key materials (first material included). */
  readonly materials: number;
  /** Materials oldest first. */
  readonly records: readonly RotationRecord[];
  /** Date of the latest rotation, if the key ever rotated. */
  readonly lastRotationDate?: string;
  /** Type of the latest rotation. */
  readonly lastRotationType?: string;
}

/** An ISO string for a date-like SDK value, or `undefined`. */
export function isoDate(value: Date | string | number | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isFinite(d.getTime()) ? d.toISOString() : undefined;
}

/**
 * Reads `GetKeyRotationStatus`.
 *
 * @throws KeyToolError `ERR_KMS` / `ERR_KEY_NOT_FOUND`.
 * @example
 * ```ts
 * const { enabled, periodDays } = await readRotationSettings(kms, keyArn);
 * ```
 */
export async function readRotationSettings(kms: KmsAdminApi, keyId: string): Promise<RotationSettings> {
  const r = await kmsCall("GetKeyRotationStatus", keyId, () => kms.getKeyRotationStatus({ KeyId: keyId }));
  const enabled = r.KeyRotationEnabled === true;
  const next = isoDate(r.NextRotationDate);
  const onDemand = isoDate(r.OnDemandRotationStartDate);
  return {
    enabled,
    ...(enabled && r.RotationPeriodInDays !== undefined ? { periodDays: r.RotationPeriodInDays } : {}),
    ...(enabled && next ? { nextRotationDate: next } : {}),
    ...(onDemand ? { onDemandRotationStartDate: onDemand } : {}),
  };
}

/**
 * Reads every page of `ListKeyRotations` with `IncludeKeyMaterial: ALL_KEY_MATERIAL` (so the
 * first material is counted), falling back to the plain call on endpoints that refuse that
 * parameter. Answers `"unsupported"` when the endpoint does not implement the operation.
 *
 * @throws KeyToolError for any other failure (access denied, throttling).
 * @example
 * ```ts
 * const h = await readRotationHistory(kms, keyArn);
 * if (h !== "unsupported") console.log(h.materials, h.lastRotationDate);
 * ```
 */
export async function readRotationHistory(
  kms: KmsAdminApi,
  keyId: string,
): Promise<RotationHistory | "unsupported"> {
  const list = (all: boolean) =>
    allKmsItems(
      (m) =>
        kms.listKeyRotations({
          KeyId: keyId,
          ...(all ? { IncludeKeyMaterial: "ALL_KEY_MATERIAL" as const } : {}),
          ...m,
        }),
      (r) => r.Rotations,
    );
  let entries;
  try {
    entries = await list(true);
  } catch (e) {
    if (isUnsupportedOperation(e)) return "unsupported";
    if (errorNameOf(e) !== "ValidationException") throw kmsFailure("ListKeyRotations", keyId, e);
    try {
      entries = await list(false);
    } catch (e2) {
      if (isUnsupportedOperation(e2)) return "unsupported";
      throw kmsFailure("ListKeyRotations", keyId, e2);
    }
  }
  const records = entries
    .map((r): RotationRecord => ({
      ...(r.KeyMaterialId ? { keyMaterialId: r.KeyMaterialId } : {}),
      ...(r.KeyMaterialState ? { state: r.KeyMaterialState } : {}),
      ...(isoDate(r.RotationDate) ? { rotationDate: isoDate(r.RotationDate) as string } : {}),
      ...(r.RotationType ? { rotationType: r.RotationType } : {}),
    }))
    // The first material has no rotation date: it sorts first.
    .sort((a, b) => (a.rotationDate ?? "").localeCompare(b.rotationDate ?? ""));
  const rotated = records.filter((r) => r.rotationDate !== undefined);
  const last = rotated[rotated.length - 1];
  // Endpoints that ignore IncludeKeyMaterial list rotations only: the first material is implied.
  const materials = Math.max(records.length, rotated.length + 1);
  return {
    materials,
    records,
    ...(last?.rotationDate ? { lastRotationDate: last.rotationDate } : {}),
    ...(last?.rotationType ? { lastRotationType: last.rotationType } : {}),
  };
}
