/**
 * Key rotation: automatic rotation settings, on-demand rotation and the rotation history.
 * The rules themselves (schedules, disabled keys, catch-up on re-enable) live in `../state.ts`.
 */
import { KmsError } from "../errors.js";
import { optionalEnum, optionalInteger, requiredString } from "../input.js";
import { ON_DEMAND_ROTATION_LIMIT, type KeyMaterial, type KmsKey } from "../state.js";
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

/** The rotation operations. */
export const rotationOperations: OperationTable = {
  EnableKeyRotation(input, state) {
    const keyRef = requiredString(input, "KeyId", { max: 2048 });
    const period = optionalInteger(input, "RotationPeriodInDays", { min: 90, max: 2560 }) ?? 365;
    const key = state.findKey(keyRef, "keyOnly");
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
    // A key pending deletion reports rotation off, but keeps its setting for a cancellation.
    const next = key.state === "PendingDeletion" ? undefined : state.nextRotationDate(key);
    if (next === undefined) return { KeyId: key.arn, KeyRotationEnabled: false };
    return {
      KeyId: key.arn,
      KeyRotationEnabled: true,
      RotationPeriodInDays: key.rotationPeriodDays,
      NextRotationDate: epochSeconds(next),
    };
  },

  RotateKeyOnDemand(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    state.requireEnabled(key);
    if (key.onDemandRotations >= ON_DEMAND_ROTATION_LIMIT) {
      throw new KmsError(
        "LimitExceededException",
        `The on-demand rotations limit has been reached for the given key: ${key.arn}. The limit is ${ON_DEMAND_ROTATION_LIMIT}.`,
      );
    }
    // KMS rotates in the background and reports OnDemandRotationStartDate meanwhile; the
    // emulator completes the rotation before answering, so the new material is usable at once.
    state.rotate(key, "ON_DEMAND", state.clock.now());
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
