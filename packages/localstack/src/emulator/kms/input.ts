/**
 * Readers for the members of a KMS JSON request.
 *
 * AWS JSON services answer a member of the wrong JSON type with `SerializationException` and a
 * missing or out-of-range member with `ValidationException`; these readers do the same, so a
 * client bug shows up here exactly as it would against KMS.
 */
import { serialization, validation } from "./errors.js";

/** A parsed JSON request body. */
export type JsonObject = Record<string, unknown>;

/** Constraints of a string member. */
export interface StringRule {
  /** Minimum length. @default 1 */
  min?: number;
  /** Maximum length. @default no limit */
  max?: number;
}

/** Constraints of an integer member. */
export interface IntegerRule {
  /** Smallest accepted value. */
  min: number;
  /** Largest accepted value. */
  max: number;
}

/** A member name as KMS writes it in validation messages (`encryptionContext`). */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Reads an optional string member. */
export function optionalString(input: JsonObject, name: string, rule: StringRule = {}): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw serialization(`${name} must be a string`);
  const min = rule.min ?? 1;
  if (value.length < min) {
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  }
  if (rule.max !== undefined && value.length > rule.max) {
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
    );
  }
  return value;
}

/** Reads a required string member. */
export function requiredString(input: JsonObject, name: string, rule: StringRule = {}): string {
  const value = optionalString(input, name, rule);
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** Reads an optional integer member within bounds. */
export function optionalInteger(input: JsonObject, name: string, rule: IntegerRule): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value))
    throw serialization(`${name} must be an integer`);
  if (value < rule.min || value > rule.max) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must have value between ${rule.min} and ${rule.max}`,
    );
  }
  return value;
}

/** Reads an optional boolean member. */
export function optionalBoolean(input: JsonObject, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw serialization(`${name} must be a boolean`);
  return value;
}

/** Reads an optional enum member. */
export function optionalEnum<T extends string>(
  input: JsonObject,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = optionalString(input, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(", ")}]`,
    );
  }
  return value as T;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Reads an optional blob member (base64 in JSON) with a length range in bytes. */
export function optionalBlob(input: JsonObject, name: string, rule: IntegerRule): Buffer | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !BASE64.test(value))
    throw serialization(`${name} must be a base64 string`);
  const bytes = Buffer.from(value, "base64");
  if (bytes.length < rule.min || bytes.length > rule.max) {
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length between ${rule.min} and ${rule.max}`,
    );
  }
  return bytes;
}

/** Reads a required blob member. */
export function requiredBlob(input: JsonObject, name: string, rule: IntegerRule): Buffer {
  const value = optionalBlob(input, name, rule);
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/**
 * Reads an optional map of strings to strings (an encryption context) into a `Map`, so that a
 * member named `__proto__` (an own property of the parsed JSON) is kept as an ordinary entry.
 */
export function optionalStringMap(input: JsonObject, name: string): Map<string, string> | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw serialization(`${name} must be a map`);
  const map = new Map<string, string>();
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") throw serialization(`${name} values must be strings`);
    map.set(key, entry);
  }
  return map;
}

/** Reads an optional list of strings. */
export function optionalStringList(input: JsonObject, name: string, maxItems?: number): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string")) {
    throw serialization(`${name} must be a list of strings`);
  }
  if (maxItems !== undefined && value.length > maxItems) {
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Member must have length less than or equal to ${maxItems}`,
    );
  }
  return value;
}

/** Reads an optional list of objects. */
export function optionalObjectList(input: JsonObject, name: string): JsonObject[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (
    !Array.isArray(value) ||
    !value.every(
      (item): item is JsonObject => typeof item === "object" && item !== null && !Array.isArray(item),
    )
  ) {
    throw serialization(`${name} must be a list of structures`);
  }
  return value;
}

/** Reads an optional nested structure. */
export function optionalObject(input: JsonObject, name: string): JsonObject | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw serialization(`${name} must be a structure`);
  return value as JsonObject;
}
