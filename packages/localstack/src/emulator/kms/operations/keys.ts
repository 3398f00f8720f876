/** Key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/DisableKey, key deletion, description. */
import { KmsError, validation } from "../errors.js";
import {
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  requiredString,
  type JsonObject,
} from "../input.js";
import { DAY_MS, type KmsKey, type KmsState } from "../state.js";
import { readPolicy, readTags } from "./access.js";
import { epochSeconds, page, readPage, type OperationTable } from "./types.js";

/** `KeyMetadata` of a key, as DescribeKey and CreateKey answer it. */
export function keyMetadata(state: KmsState, key: KmsKey): JsonObject {
  const metadata: JsonObject = {
    AWSAccountId: state.accountId,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: epochSeconds(key.createdAt),
    Enabled: key.state === "Enabled",
    Description: key.description,
    KeyUsage: key.kind.keyUsage,
    KeyState: key.state,
    Origin: key.kind.origin,
    KeyManager: key.kind.keyManager,
    CustomerMasterKeySpec: key.kind.keySpec,
    KeySpec: key.kind.keySpec,
    ...(key.kind.keySpec === "SYMMETRIC_DEFAULT" ? { EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] } : {}),
    ...(key.kind.customKeyStoreId === undefined ? {} : { CustomKeyStoreId: key.kind.customKeyStoreId }),
    MultiRegion: key.kind.multiRegionKeyType !== undefined,
    ...(key.kind.multiRegionKeyType === undefined
      ? {}
      : { MultiRegionConfiguration: { MultiRegionKeyType: key.kind.multiRegionKeyType } }),
    CurrentKeyMaterialId: state.current(key).id,
  };
  if (key.deletionDate !== undefined) {
    metadata["DeletionDate"] = epochSeconds(key.deletionDate);
    metadata["PendingDeletionWindowInDays"] = key.pendingWindowDays;
  }
  return metadata;
}

/** The key operations. */
export const keyOperations: OperationTable = {
  CreateKey(input, state) {
    const keySpec = optionalString(input, "KeySpec") ?? optionalString(input, "CustomerMasterKeySpec");
    if (keySpec !== undefined && keySpec !== "SYMMETRIC_DEFAULT") {
      throw new KmsError(
        "UnsupportedOperationException",
        `The emulator supports only SYMMETRIC_DEFAULT keys, not ${keySpec}`,
      );
    }
    const usage = optionalEnum(input, "KeyUsage", [
      "ENCRYPT_DECRYPT",
      "SIGN_VERIFY",
      "GENERATE_VERIFY_MAC",
      "KEY_AGREEMENT",
    ] as const);
    if (usage !== undefined && usage !== "ENCRYPT_DECRYPT") {
      throw validation(`KeyUsage ${usage} is not compatible with KeySpec SYMMETRIC_DEFAULT`);
    }
    const origin = optionalEnum(input, "Origin", [
      "AWS_KMS",
      "EXTERNAL",
      "AWS_CLOUDHSM",
      "EXTERNAL_KEY_STORE",
    ] as const);
    if (origin !== undefined && origin !== "AWS_KMS") {
      throw new KmsError(
        "UnsupportedOperationException",
        `The emulator supports only Origin AWS_KMS, not ${origin}`,
      );
    }
    if (optionalBoolean(input, "MultiRegion") === true) {
      throw new KmsError("UnsupportedOperationException", "The emulator does not support multi-Region keys");
    }
    optionalBoolean(input, "BypassPolicyLockoutSafetyCheck");
    const description = optionalString(input, "Description", { min: 0, max: 8192 });
    const policy = readPolicy(input, false);
    const tags = readTags(input);
    const key = state.createKey({
      ...(description === undefined ? {} : { description }),
      ...(policy === undefined ? {} : { policy }),
      ...(tags === undefined ? {} : { tags: new Map(tags) }),
    });
    return { KeyMetadata: keyMetadata(state, key) };
  },

  DescribeKey(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "allowAlias");
    return { KeyMetadata: keyMetadata(state, key) };
  },

  ListKeys(input, state) {
    const request = readPage(input, { defaultLimit: 100, maxLimit: 1000 });
    const { items, paging } = page([...state.keys.values()], request);
    return { Keys: items.map((key) => ({ KeyId: key.id, KeyArn: key.arn })), ...paging };
  },

  EnableKey(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    state.requireNotPendingDeletion(key);
    state.enable(key);
    return {};
  },

  DisableKey(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    state.requireNotPendingDeletion(key);
    key.state = "Disabled";
    return {};
  },

  ScheduleKeyDeletion(input, state) {
    const keyRef = requiredString(input, "KeyId", { max: 2048 });
    const days = optionalInteger(input, "PendingWindowInDays", { min: 7, max: 30 }) ?? 30;
    const key = state.findKey(keyRef, "keyOnly");
    state.requireNotPendingDeletion(key);
    key.state = "PendingDeletion";
    key.pendingWindowDays = days;
    key.deletionDate = new Date(state.clock.now().getTime() + days * DAY_MS);
    return {
      KeyId: key.arn,
      DeletionDate: epochSeconds(key.deletionDate),
      KeyState: key.state,
      PendingWindowInDays: days,
    };
  },

  CancelKeyDeletion(input, state) {
    const key = state.findKey(requiredString(input, "KeyId", { max: 2048 }), "keyOnly");
    if (key.state !== "PendingDeletion") {
      throw new KmsError("KMSInvalidStateException", `${key.arn} is not pending deletion.`);
    }
    // KMS leaves a key whose deletion was cancelled disabled; the caller enables it explicitly.
    key.state = "Disabled";
    key.deletionDate = undefined;
    key.pendingWindowDays = undefined;
    return { KeyId: key.arn };
  },

  UpdateKeyDescription(input, state) {
    const keyRef = requiredString(input, "KeyId", { max: 2048 });
    const description = optionalString(input, "Description", { min: 0, max: 8192 });
    if (description === undefined) throw validation("Description must not be null");
    const key = state.findKey(keyRef, "keyOnly");
    state.requireNotPendingDeletion(key);
    key.description = description;
    return {};
  },
};
