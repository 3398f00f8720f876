/**
 * Key rotation: automatic rotation settings, on-demand rotation and the rotation history.
 * The rules themselves (schedules, disabled keys, catch-up on re-enable) live in `../state.ts`.
 */
import { KmsError } from "../errors.js";
import { optionalEnum, optionalInteger, requiredString } from "../input.js";
import type { KeyMaterial, KmsKey } from "../state.js";
import { epochSeconds, page, readPage, type OperationTable } from "./types.js";

function rotationEntry(key: KmsKey, material: KeyMaterial, current: boolean) {
  return {
    KeyId: key.id,
    KeyMaterialId: material.id,
    KeyMaterialState: current ? "CURRENT" : "NON_CURRENT",
    ...(material.rotationType === undefined
      ? {}
      : { RotationDate: epochSeconds(material.createdAt), RotationType: material.rotationType }),
  };
}

/**
 * KMS rotates only symmetric keys; automatic and on-demand rotation also need key material KMS
 * made itself, outside a custom key store (`material: true`).
 *
 * @throws KmsError `UnsupportedOperationException`.
 */
function requireRotatable(key: KmsKey, options: { material: boolean }): void {
  const { keySpec, origin, customKeyStoreId } = key.kind;
  if (keySpec !== "SYMMETRIC_DEFAULT" || (options.material && (origin !== "AWS_KMS" || customKeyStoreId))) {
    throw new KmsError("UnsupportedOperationException", `${key.arn} does not support key rotation.`);
  }
}

/** The rotation operations. */
export const rotationOperations: OperationTable = {
  EnableKeyRotation(input, state) {
    const keyRef = requiredString(input, "KeyId", { max: 2048 });
    const period = optionalInteger(input, "RotationPeriodInDays", { min: 90, max: 2560 }) ?? 365;
    const key = state.findKey(keyRef, "keyOnly");
    requireRotatable(key, { material: true });
    state.requireEnabled(key);
    state.enableRotation(key, period);
    return {};
  },

  DisableKeyRotation(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    state.requireEnabled(key);
    key.rotationEnabled = false;
    key.rotationAnchor = undefined;
    return {};
  },

  GetKeyRotationStatus(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    requireRotatable(key, { material: false });
    // A key pending deletion reports rotation off, but keeps its setting for a cancellation.
    const next = key.state === "PendingDeletion" ? undefined : state.nextRotationDate(key);
    // Only while an on-demand rotation runs, as KMS reports it.
    const onDemand =
      key.onDemandRotationStartedAt === undefined
        ? {}
        : { OnDemandRotationStartDate: epochSeconds(key.onDemandRotationStartedAt) };
    if (next === undefined) return { KeyId: key.arn, KeyRotationEnabled: false, ...onDemand };
    return {
      KeyId: key.arn,
      KeyRotationEnabled: true,
      RotationPeriodInDays: key.rotationPeriodDays,
      NextRotationDate: epochSeconds(next),
      ...onDemand,
    };
  },

  RotateKeyOnDemand(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    requireRotatable(key, { material: true });
    state.requireEnabled(key);
    state.rotateOnDemand(key);
    return { KeyId: key.arn };
  },

  ListKeyRotations(input, state) {
    const keyRef = requiredString(input, "KeyId", { max: 2048 });
    const include =
      optionalEnum(input, "IncludeKeyMaterial", ["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"] as const) ??
      "ROTATIONS_ONLY";
    const request = readPage(input, { defaultLimit: 100, maxLimit: 1000 });
    const key = state.findKey(keyRef, "keyOnly");
    const currentId = state.current(key).id;
    const listed = key.materials.filter(
      (material) => include === "ALL_KEY_MATERIAL" || material.rotationType !== undefined,
    );
    const { items, paging } = page(listed, request);
    return {
      Rotations: items.map((material) => rotationEntry(key, material, material.id === currentId)),
      ...paging,
    };
  },
};
