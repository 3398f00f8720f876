/** Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. */
import { KmsError } from "../errors.js";
import { optionalString, requiredString, type JsonObject } from "../input.js";
import type { KmsState } from "../state.js";
import { epochSeconds, page, readPage, type OperationTable } from "./types.js";

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

function readAliasName(input: JsonObject): string {
  const name = requiredString(input, "AliasName", { max: 256 });
  if (!ALIAS_NAME.test(name)) {
    throw new KmsError(
      "ValidationException",
      `1 validation error detected: Value '${name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$`,
    );
  }
  if (name.startsWith("alias/aws/")) {
    throw new KmsError("InvalidAliasNameException", "Alias must not begin with 'alias/aws/'");
  }
  return name;
}

function targetKey(input: JsonObject, state: KmsState) {
  // An alias can only point at a key named by id or ARN, never at another alias.
  const key = state.findKey(requiredString(input, "TargetKeyId", { max: 2048 }), "keyOnly");
  state.requireNotPendingDeletion(key);
  return key;
}

/** The alias operations. */
export const aliasOperations: OperationTable = {
  CreateAlias(input, state) {
    const name = readAliasName(input);
    const key = targetKey(input, state);
    if (state.aliases.has(name)) {
      throw new KmsError(
        "AlreadyExistsException",
        `An alias with the name ${state.aliasArn(name)} already exists`,
      );
    }
    const now = state.clock.now();
    state.aliases.set(name, { name, targetKeyId: key.id, createdAt: now, updatedAt: now });
    return {};
  },

  UpdateAlias(input, state) {
    const name = readAliasName(input);
    const alias = state.aliases.get(name);
    if (alias === undefined)
      throw new KmsError("NotFoundException", `Alias ${state.aliasArn(name)} is not found.`);
    const key = targetKey(input, state);
    alias.targetKeyId = key.id;
    alias.updatedAt = state.clock.now();
    return {};
  },

  DeleteAlias(input, state) {
    const name = readAliasName(input);
    if (!state.aliases.delete(name)) {
      throw new KmsError("NotFoundException", `Alias ${state.aliasArn(name)} is not found.`);
    }
    return {};
  },

  ListAliases(input, state) {
    const keyRef = optionalString(input, "KeyId", { max: 2048 });
    const request = readPage(input, { defaultLimit: 50, maxLimit: 100 });
    const keyId = keyRef === undefined ? undefined : state.findKey(keyRef, "keyOnly").id;
    const aliases = [...state.aliases.values()]
      .filter((alias) => keyId === undefined || alias.targetKeyId === keyId)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const { items, paging } = page(aliases, request);
    return {
      Aliases: items.map((alias) => ({
        AliasName: alias.name,
        AliasArn: state.aliasArn(alias.name),
        TargetKeyId: alias.targetKeyId,
        CreationDate: epochSeconds(alias.createdAt),
        LastUpdatedDate: epochSeconds(alias.updatedAt),
      })),
      ...paging,
    };
  },
};
