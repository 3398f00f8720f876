/** A read-only view of the emulated KMS for tests that must look behind the API. */
import { readCiphertextHeader, type CiphertextHeader } from "./ciphertext.js";
import type { KmsState } from "./state.js";

/**
 * What tests may see of the emulator's KMS beyond the API: which material a blob was made
 * with, and every material a key has had. Secrets never leave the emulator.
 *
 * @example
 * ```ts
 * const { keyMaterialId } = emulator.kms.readCiphertext(blob)!;
 * expect(emulator.kms.keyMaterialIds(keyId)).toContain(keyMaterialId);
 * ```
 */
export interface KmsInspector {
  /** Ids of the keys that exist (pending deletion included), in creation order. */
  keyIds(): string[];
  /** Material ids of a key, oldest first; the last one is current. Empty for an unknown key. */
  keyMaterialIds(keyId: string): string[];
  /** The key and material an emulator ciphertext blob names, or `undefined` for other bytes. */
  readCiphertext(blob: Uint8Array): CiphertextHeader | undefined;
  /** Runs the automatic rotations and key deletions that are due by the emulated clock. */
  processDue(): void;
}

/** Creates the inspector of one KMS state. */
export function inspectKms(state: KmsState): KmsInspector {
  return {
    keyIds: () => [...state.keys.keys()],
    keyMaterialIds: (keyId) => state.keys.get(keyId)?.materials.map((material) => material.id) ?? [],
    readCiphertext: (blob) => readCiphertextHeader(blob),
    processDue: () => state.processDue(),
  };
}
