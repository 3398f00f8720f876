/**
 * The data plane: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom.
 *
 * Checks run in KMS's order: every member's shape first, then the key named in the request, then the key the
 * blob names, then its state, then the ciphertext itself; `DryRun` answers only after all of
 * them passed. New ciphertext always uses the key's current material; decryption uses the
 * material the blob names, which is how old data keeps decrypting after a rotation.
 */
import { randomBytes } from "node:crypto";
import {
  MAX_CONTEXT_FIELD_BYTES,
  openCiphertext,
  readCiphertextHeader,
  sealCiphertext,
  type EncryptionContext,
} from "../ciphertext.js";
import { KmsError, validation } from "../errors.js";
import {
  lowerFirst,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringList,
  optionalStringMap,
  requiredBlob,
  requiredString,
  type JsonObject,
} from "../input.js";
import type { KeyMaterial, KmsKey, KmsState } from "../state.js";
import { dryRunSucceeded, type OperationTable } from "./types.js";

const MAX_CIPHERTEXT = 6144;
const MAX_PLAINTEXT = 4096;
const ALGORITHMS = ["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"] as const;

function readAlgorithm(input: JsonObject, name: string): void {
  const algorithm = optionalEnum(input, name, ALGORITHMS);
  if (algorithm !== undefined && algorithm !== "SYMMETRIC_DEFAULT") {
    throw new KmsError(
      "InvalidKeyUsageException",
      `${algorithm} is not supported by a SYMMETRIC_DEFAULT key.`,
    );
  }
}

/**
 * Reads an encryption context. A key or value longer than the blob's u16 length fields (or more
 * pairs than that) is a client error, `ValidationException`, never a failure of the emulator.
 */
function readContext(input: JsonObject, name: string): EncryptionContext {
  const context = optionalStringMap(input, name) ?? new Map<string, string>();
  const tooLong = (text: string): boolean => Buffer.byteLength(text) > MAX_CONTEXT_FIELD_BYTES;
  if (
    context.size > MAX_CONTEXT_FIELD_BYTES ||
    [...context].some(([key, value]) => tooLong(key) || tooLong(value))
  ) {
    throw validation(
      `1 validation error detected: Value at '${lowerFirst(name)}' failed to satisfy constraint: Map keys and values must each be at most ${MAX_CONTEXT_FIELD_BYTES} bytes long`,
    );
  }
  return context;
}

/** Reads the members every data-plane call may carry and returns `DryRun`. */
function readCommon(input: JsonObject): boolean {
  optionalStringList(input, "GrantTokens", 10);
  if (optionalObject(input, "Recipient") !== undefined) {
    throw new KmsError(
      "UnsupportedOperationException",
      "The emulator does not support Recipient (Nitro Enclaves).",
    );
  }
  return optionalBoolean(input, "DryRun") === true;
}

/** A fresh blob for `plaintext` under the key's current material. */
function wrap(state: KmsState, key: KmsKey, plaintext: Buffer, context: EncryptionContext) {
  const material = state.current(key);
  const blob = sealCiphertext(
    { keyId: key.id, keyMaterialId: material.id },
    material.secret,
    plaintext,
    context,
  );
  return { blob, material };
}

interface Unwrapped {
  key: KmsKey;
  material: KeyMaterial;
  plaintext: Buffer;
}

/** Decrypts a blob, checking the key it names against the key the request names. */
function unwrap(
  state: KmsState,
  blob: Buffer,
  context: EncryptionContext,
  requested: KmsKey | undefined,
): Unwrapped {
  const header = readCiphertextHeader(blob);
  if (header === undefined) throw new KmsError("InvalidCiphertextException");
  const key = state.keys.get(header.keyId);
  if (key === undefined) {
    if (state.deletedKeyIds.has(header.keyId)) {
      throw new KmsError("NotFoundException", `Key '${state.keyArn(header.keyId)}' does not exist`);
    }
    throw new KmsError("InvalidCiphertextException");
  }
  if (requested !== undefined && requested.id !== key.id) {
    throw new KmsError(
      "IncorrectKeyException",
      "The key ID in the request does not identify a KMS key that can perform this operation.",
    );
  }
  state.requireEncryptDecrypt(key);
  state.requireEnabled(key);
  const material = key.materials.find((candidate) => candidate.id === header.keyMaterialId);
  const plaintext = material === undefined ? undefined : openCiphertext(blob, material.secret, context);
  // KMS says nothing more about a blob that does not verify: no message at all.
  if (material === undefined || plaintext === undefined) throw new KmsError("InvalidCiphertextException");
  return { key, material, plaintext };
}

function generateDataKey(input: JsonObject, state: KmsState, withPlaintext: boolean): JsonObject {
  const keyRef = requiredString(input, "KeyId", { max: 2048 });
  const context = readContext(input, "EncryptionContext");
  const bytes = optionalInteger(input, "NumberOfBytes", { min: 1, max: 1024 });
  const spec = optionalEnum(input, "KeySpec", ["AES_256", "AES_128"] as const);
  if ((bytes === undefined) === (spec === undefined)) {
    throw validation("Please specify either number of bytes or key spec.");
  }
  const dryRun = readCommon(input);
  const key = state.findKey(keyRef, "allowAlias");
  state.requireEncryptDecrypt(key);
  state.requireEnabled(key);
  if (dryRun) throw dryRunSucceeded();
  const plaintext = randomBytes(bytes ?? (spec === "AES_128" ? 16 : 32));
  const { blob, material } = wrap(state, key, plaintext, context);
  return {
    CiphertextBlob: blob.toString("base64"),
    ...(withPlaintext ? { Plaintext: plaintext.toString("base64") } : {}),
    KeyId: key.arn,
    KeyMaterialId: material.id,
  };
}

/** The data-plane operations. */
export const cryptoOperations: OperationTable = {
  Encrypt(input, state) {
    const keyRef = requiredString(input, "KeyId", { max: 2048 });
    const plaintext = requiredBlob(input, "Plaintext", { min: 1, max: MAX_PLAINTEXT });
    const context = readContext(input, "EncryptionContext");
    readAlgorithm(input, "EncryptionAlgorithm");
    const dryRun = readCommon(input);
    const key = state.findKey(keyRef, "allowAlias");
    state.requireEncryptDecrypt(key);
    state.requireEnabled(key);
    if (dryRun) throw dryRunSucceeded();
    const { blob } = wrap(state, key, plaintext, context);
    // Encrypt carries no KeyMaterialId in KMS's answer, unlike GenerateDataKey and Decrypt.
    return {
      CiphertextBlob: blob.toString("base64"),
      KeyId: key.arn,
      EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
    };
  },

  Decrypt(input, state) {
    const blob = requiredBlob(input, "CiphertextBlob", { min: 1, max: MAX_CIPHERTEXT });
    const context = readContext(input, "EncryptionContext");
    const keyRef = optionalString(input, "KeyId", { max: 2048 });
    readAlgorithm(input, "EncryptionAlgorithm");
    const dryRun = readCommon(input);
    const requested = keyRef === undefined ? undefined : state.findKey(keyRef, "allowAlias");
    const { key, material, plaintext } = unwrap(state, blob, context, requested);
    if (dryRun) throw dryRunSucceeded();
    return {
      KeyId: key.arn,
      Plaintext: plaintext.toString("base64"),
      EncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      KeyMaterialId: material.id,
    };
  },

  ReEncrypt(input, state) {
    const blob = requiredBlob(input, "CiphertextBlob", { min: 1, max: MAX_CIPHERTEXT });
    const sourceContext = readContext(input, "SourceEncryptionContext");
    const sourceRef = optionalString(input, "SourceKeyId", { max: 2048 });
    const destinationRef = requiredString(input, "DestinationKeyId", { max: 2048 });
    const destinationContext = readContext(input, "DestinationEncryptionContext");
    readAlgorithm(input, "SourceEncryptionAlgorithm");
    readAlgorithm(input, "DestinationEncryptionAlgorithm");
    optionalStringList(input, "GrantTokens", 10);
    const dryRun = optionalBoolean(input, "DryRun") === true;
    const requested = sourceRef === undefined ? undefined : state.findKey(sourceRef, "allowAlias");
    const destination = state.findKey(destinationRef, "allowAlias");
    const source = unwrap(state, blob, sourceContext, requested);
    state.requireEncryptDecrypt(destination);
    state.requireEnabled(destination);
    if (dryRun) throw dryRunSucceeded();
    const { blob: rewrapped, material } = wrap(state, destination, source.plaintext, destinationContext);
    return {
      CiphertextBlob: rewrapped.toString("base64"),
      SourceKeyId: source.key.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      SourceKeyMaterialId: source.material.id,
      DestinationKeyMaterialId: material.id,
    };
  },

  GenerateDataKey(input, state) {
    return generateDataKey(input, state, true);
  },

  GenerateDataKeyWithoutPlaintext(input, state) {
    return generateDataKey(input, state, false);
  },

  GenerateRandom(input) {
    const bytes = optionalInteger(input, "NumberOfBytes", { min: 1, max: 1024 });
    if (bytes === undefined) throw validation("NumberOfBytes must not be null");
    if (optionalString(input, "CustomKeyStoreId") !== undefined) {
      throw new KmsError("UnsupportedOperationException", "The emulator has no custom key stores.");
    }
    return { Plaintext: randomBytes(bytes).toString("base64") };
  },
};
