/**
 * Between the shapes of `@aws-sdk/client-kms` (bytes as `Uint8Array`, dates as `Date`) and the
 * AWS JSON 1.1 the emulator's operations read and write (bytes as base64, dates as epoch
 * seconds) — what the SDK's serializers do on the wire, done in process for the fake.
 */
import type { JsonObject } from "./input.js";

/** Members that carry bytes (base64 in JSON). */
const BLOB_MEMBERS = new Set(["CiphertextBlob", "Plaintext", "PublicKey"]);

/** Members that carry timestamps (epoch seconds in JSON). */
const DATE_MEMBERS = new Set([
  "CreationDate",
  "DeletionDate",
  "ValidTo",
  "NextRotationDate",
  "OnDemandRotationStartDate",
  "RotationDate",
  "LastUpdatedDate",
]);

/**
 * An SDK command input as the JSON request KMS receives: bytes to base64, dates to epoch
 * seconds, `undefined` members left out.
 */
export function jsonRequestOf(input: object): JsonObject {
  return toJson(input) as JsonObject;
}

function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    const out: JsonObject = {};
    for (const [name, member] of Object.entries(value)) if (member !== undefined) out[name] = toJson(member);
    return out;
  }
  return value;
}

/** A JSON answer as the SDK returns it: blob members as `Uint8Array`, timestamps as `Date`. */
export function sdkOutputOf(output: JsonObject): JsonObject {
  return fromJson(output) as JsonObject;
}

/** Members whose maps hold the caller's own names (an encryption context): never converted. */
const OPAQUE_MEMBERS = new Set(["Constraints", "EncryptionContextSubset", "EncryptionContextEquals"]);

function fromJson(value: unknown, name = ""): unknown {
  if (OPAQUE_MEMBERS.has(name)) return value;
  if (typeof value === "string" && BLOB_MEMBERS.has(name))
    return new Uint8Array(Buffer.from(value, "base64"));
  if (typeof value === "number" && DATE_MEMBERS.has(name)) return new Date(value * 1000);
  if (Array.isArray(value)) return value.map((item) => fromJson(item));
  if (typeof value === "object" && value !== null) {
    const out: JsonObject = {};
    for (const [member, inner] of Object.entries(value)) out[member] = fromJson(inner, member);
    return out;
  }
  return value;
}
