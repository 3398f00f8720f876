/**
 * Key policies, grants and tags. The emulator stores and returns them faithfully so tooling
 * can read them (an alias cutover preflight compares the old and new key's policy and grants),
 * but it does not evaluate them: every caller may do everything.
 */
import { randomBytes } from "node:crypto";
import { KmsError, validation } from "../errors.js";
import {
  optionalBoolean,
  optionalObject,
  optionalObjectList,
  optionalString,
  optionalStringList,
  optionalStringMap,
  requiredString,
  type JsonObject,
} from "../input.js";
import type { Grant } from "../state.js";
import { dryRunSucceeded, epochSeconds, page, readPage, type OperationTable } from "./types.js";

const GRANT_OPERATIONS = [
  "Decrypt",
  "Encrypt",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "ReEncryptFrom",
  "ReEncryptTo",
  "Sign",
  "Verify",
  "GetPublicKey",
  "CreateGrant",
  "RetireGrant",
  "DescribeKey",
  "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext",
  "GenerateMac",
  "VerifyMac",
  "DeriveSharedSecret",
];

const MAX_POLICY_LENGTH = 32768;
const MAX_TAGS = 50;

/**
 * Reads `Policy` and checks that it is a JSON policy document with a `Statement` list.
 *
 * @param required - PutKeyPolicy requires it; CreateKey does not.
 */
export function readPolicy(input: JsonObject, required: true): string;
export function readPolicy(input: JsonObject, required: false): string | undefined;
export function readPolicy(input: JsonObject, required: boolean): string | undefined {
  const policy = required
    ? requiredString(input, "Policy", { max: MAX_POLICY_LENGTH })
    : optionalString(input, "Policy", { max: MAX_POLICY_LENGTH });
  if (policy === undefined) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(policy);
  } catch {
    throw new KmsError("MalformedPolicyDocumentException", "The policy is not valid JSON.");
  }
  const statements =
    typeof document === "object" && document !== null
      ? (document as Record<string, unknown>)["Statement"]
      : undefined;
  if (!Array.isArray(statements) && (typeof statements !== "object" || statements === null)) {
    throw new KmsError("MalformedPolicyDocumentException", "The policy has no Statement.");
  }
  return policy;
}

/** Reads `Tags` (a list of `{TagKey, TagValue}`) with KMS's limits. */
export function readTags(input: JsonObject): Array<[string, string]> | undefined {
  const list = optionalObjectList(input, "Tags");
  if (list === undefined) return undefined;
  if (list.length > MAX_TAGS) throw new KmsError("TagException", `A key can have at most ${MAX_TAGS} tags.`);
  return list.map((tag) => {
    const key = requiredString(tag, "TagKey", { max: 128 });
    const value = requiredString(tag, "TagValue", { min: 0, max: 256 });
    if (key.startsWith("aws:"))
      throw new KmsError("TagException", "Tag keys beginning with aws: are reserved.");
    return [key, value];
  });
}

function grantEntry(keyArn: string, accountId: string, grant: Grant): JsonObject {
  return {
    KeyId: keyArn,
    GrantId: grant.grantId,
    ...(grant.name === undefined ? {} : { Name: grant.name }),
    CreationDate: epochSeconds(grant.createdAt),
    GranteePrincipal: grant.granteePrincipal,
    ...(grant.retiringPrincipal === undefined ? {} : { RetiringPrincipal: grant.retiringPrincipal }),
    IssuingAccount: `arn:aws:iam::${accountId}:root`,
    Operations: [...grant.operations],
    ...(grant.constraints === undefined ? {} : { Constraints: grant.constraints }),
  };
}

/** Reads the required `KeyId` member; the key is looked up once every member was read. */
function readKeyRef(input: JsonObject): string {
  return requiredString(input, "KeyId", { max: 2048 });
}

function readPolicyName(input: JsonObject): void {
  const name = optionalString(input, "PolicyName", { max: 128 }) ?? "default";
  if (name !== "default") throw new KmsError("NotFoundException", `No such policy: ${name}`);
}

/** Policy, grant and tag operations. */
export const accessOperations: OperationTable = {
  GetKeyPolicy(input, state) {
    const keyRef = readKeyRef(input);
    readPolicyName(input);
    const key = state.findKey(keyRef, "keyOnly");
    return { Policy: key.policy, PolicyName: "default" };
  },

  PutKeyPolicy(input, state) {
    const keyRef = readKeyRef(input);
    readPolicyName(input);
    const policy = readPolicy(input, true);
    optionalBoolean(input, "BypassPolicyLockoutSafetyCheck");
    const key = state.findKey(keyRef, "keyOnly");
    state.requireNotPendingDeletion(key);
    key.policy = policy;
    return {};
  },

  ListKeyPolicies(input, state) {
    const keyRef = readKeyRef(input);
    const request = readPage(input, { defaultLimit: 100, maxLimit: 1000 });
    state.findKey(keyRef, "keyOnly");
    const { items, paging } = page(["default"], request);
    return { PolicyNames: items, ...paging };
  },

  CreateGrant(input, state) {
    const keyRef = readKeyRef(input);
    const granteePrincipal = requiredString(input, "GranteePrincipal", { max: 256 });
    const retiringPrincipal = optionalString(input, "RetiringPrincipal", { max: 256 });
    const operations = optionalStringList(input, "Operations");
    if (operations === undefined || operations.length === 0) {
      throw validation(
        "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null",
      );
    }
    for (const operation of operations) {
      if (!GRANT_OPERATIONS.includes(operation)) {
        throw validation(
          `Value '${operation}' at 'operations' failed to satisfy constraint: Member must satisfy enum value set`,
        );
      }
    }
    const constraints = optionalObject(input, "Constraints");
    if (constraints !== undefined) {
      optionalStringMap(constraints, "EncryptionContextSubset");
      optionalStringMap(constraints, "EncryptionContextEquals");
    }
    const name = optionalString(input, "Name", { max: 256 });
    optionalStringList(input, "GrantTokens", 10);
    const dryRun = optionalBoolean(input, "DryRun") === true;
    const key = state.findKey(keyRef, "keyOnly");
    state.requireNotPendingDeletion(key);
    if (dryRun) throw dryRunSucceeded();
    const grant: Grant = {
      grantId: randomBytes(32).toString("hex"),
      grantToken: randomBytes(48).toString("base64url"),
      name,
      createdAt: state.clock.now(),
      granteePrincipal,
      retiringPrincipal,
      operations,
      constraints,
    };
    key.grants.push(grant);
    return { GrantId: grant.grantId, GrantToken: grant.grantToken };
  },

  ListGrants(input, state) {
    const keyRef = readKeyRef(input);
    const grantId = optionalString(input, "GrantId", { max: 128 });
    const grantee = optionalString(input, "GranteePrincipal", { max: 256 });
    const request = readPage(input, { defaultLimit: 50, maxLimit: 100 });
    const key = state.findKey(keyRef, "keyOnly");
    const matching = key.grants.filter(
      (grant) =>
        (grantId === undefined || grant.grantId === grantId) &&
        (grantee === undefined || grant.granteePrincipal === grantee),
    );
    const { items, paging } = page(matching, request);
    return { Grants: items.map((grant) => grantEntry(key.arn, state.accountId, grant)), ...paging };
  },

  RevokeGrant(input, state) {
    const keyRef = readKeyRef(input);
    const grantId = requiredString(input, "GrantId", { max: 128 });
    const dryRun = optionalBoolean(input, "DryRun") === true;
    const key = state.findKey(keyRef, "keyOnly");
    const index = key.grants.findIndex((grant) => grant.grantId === grantId);
    if (index < 0) throw new KmsError("NotFoundException", `Grant ${grantId} does not exist`);
    state.requireNotPendingDeletion(key);
    if (dryRun) throw dryRunSucceeded();
    key.grants.splice(index, 1);
    return {};
  },

  RetireGrant(input, state) {
    const token = optionalString(input, "GrantToken", { max: 8192 });
    const grantId = optionalString(input, "GrantId", { max: 128 });
    const keyRef = optionalString(input, "KeyId", { max: 2048 });
    const dryRun = optionalBoolean(input, "DryRun") === true;
    if (token === undefined && (grantId === undefined || keyRef === undefined)) {
      throw validation("Either GrantToken or KeyId and GrantId is required");
    }
    const candidates = keyRef === undefined ? [...state.keys.values()] : [state.findKey(keyRef, "keyOnly")];
    for (const key of candidates) {
      const index = key.grants.findIndex(
        (grant) =>
          (token !== undefined && grant.grantToken === token) ||
          (grantId !== undefined && grant.grantId === grantId),
      );
      if (index < 0) continue;
      if (dryRun) throw dryRunSucceeded();
      key.grants.splice(index, 1);
      return {};
    }
    throw new KmsError("NotFoundException", "Grant does not exist");
  },

  TagResource(input, state) {
    const keyRef = readKeyRef(input);
    const tags = readTags(input);
    if (tags === undefined) throw validation("Tags must not be null");
    const key = state.findKey(keyRef, "keyOnly");
    state.requireNotPendingDeletion(key);
    if (new Map([...key.tags, ...tags]).size > MAX_TAGS) {
      throw new KmsError("TagException", `A key can have at most ${MAX_TAGS} tags.`);
    }
    for (const [tagKey, value] of tags) key.tags.set(tagKey, value);
    return {};
  },

  UntagResource(input, state) {
    const keyRef = readKeyRef(input);
    const tagKeys = optionalStringList(input, "TagKeys");
    if (tagKeys === undefined) throw validation("TagKeys must not be null");
    const key = state.findKey(keyRef, "keyOnly");
    state.requireNotPendingDeletion(key);
    for (const tagKey of tagKeys) key.tags.delete(tagKey);
    return {};
  },

  ListResourceTags(input, state) {
    const keyRef = readKeyRef(input);
    const request = readPage(input, { defaultLimit: 50, maxLimit: 50 });
    const key = state.findKey(keyRef, "keyOnly");
    const { items, paging } = page([...key.tags], request);
    return { Tags: items.map(([TagKey, TagValue]) => ({ TagKey, TagValue })), ...paging };
  },
};
