/**
 * The `aws-kms` wrapped-key entry: args are `[keyArn, requestedKeyId, keyMaterialId?]` and the
 * body is the KMS ciphertext blob of the data key. `requestedKeyId` is what the caller named
 * (often an alias) and is informational only: it is not authenticated, and nothing trusts it
 * without KMS confirming.
 */
import { FormatError } from "../errors.js";
import type { WrappedKeyEntry } from "../format/entries.js";

/** The entry type of KMS-wrapped data keys. */
export const KMS_ENTRY_TYPE = "aws-kms";

/** A decoded `aws-kms` entry. */
export interface KmsEntry {
  /** ARN of the KMS key that wrapped the data key. */
  readonly keyArn: string;
  /** The key id, ARN or alias the writer asked for. */
  readonly requestedKeyId: string;
  /** The key material that wrapped it, when KMS reported one. */
  readonly keyMaterialId: string | undefined;
  /** The KMS ciphertext blob. */
  readonly ciphertextBlob: Uint8Array;
}

/** Builds an `aws-kms` entry. */
export function encodeKmsEntry(e: KmsEntry): WrappedKeyEntry {
  const args = e.keyMaterialId ? [e.keyArn, e.requestedKeyId, e.keyMaterialId] : [e.keyArn, e.requestedKeyId];
  return { type: KMS_ENTRY_TYPE, args, body: e.ciphertextBlob };
}

/**
 * Decodes an `aws-kms` entry.
 *
 * @example
 * ```ts
 * const kms = inspect(bytes).entries.filter(isKmsEntry).map(decodeKmsEntry);
 * ```
 */
export function decodeKmsEntry(entry: WrappedKeyEntry): KmsEntry {
  if (entry.type !== KMS_ENTRY_TYPE) throw new FormatError(`not an ${KMS_ENTRY_TYPE} entry`);
  const [keyArn, requestedKeyId, keyMaterialId] = entry.args;
  // An absent material id is two args, never an empty third: one meaning, one encoding.
  if (!keyArn || requestedKeyId === undefined || entry.args.length > 3 || keyMaterialId === "")
    throw new FormatError("malformed aws-kms entry");
  return { keyArn, requestedKeyId, keyMaterialId, ciphertextBlob: entry.body };
}

/** True for an `aws-kms` entry. */
export function isKmsEntry(entry: WrappedKeyEntry): boolean {
  return entry.type === KMS_ENTRY_TYPE;
}
