/**
 * A hook on every KMS call rekey makes: operation, key, key material, duration and error. Use it
 * for metrics, audit logs and counting calls per object.
 */
import { errorNameOf } from "../errors.js";

/**
 * The KMS operations rekey makes: the data plane of the SDK and the re-encrypt job, and the
 * control plane of the key tooling (`kmsAdminOf` in `@rekey/reencrypt`).
 */
export type KmsOperation =
  | "GenerateDataKey"
  | "Encrypt"
  | "Decrypt"
  | "ReEncrypt"
  | "DescribeKey"
  | "ListKeys"
  | "ListAliases"
  | "GetKeyRotationStatus"
  | "ListKeyRotations"
  | "EnableKeyRotation"
  | "RotateKeyOnDemand"
  | "GetKeyPolicy"
  | "ListGrants"
  | "ListResourceTags"
  | "CreateKey"
  | "UpdateAlias";

/** One KMS call, reported after it settles. */
export interface KmsCallEvent {
  readonly operation: KmsOperation;
  /** The key id, ARN or alias the call named. */
  readonly keyId: string | undefined;
  /** The key ARN KMS answered with (the destination key for ReEncrypt). */
  readonly keyArn: string | undefined;
  /** The key material that wrapped / unwrapped the data key (destination material for ReEncrypt). */
  readonly keyMaterialId: string | undefined;
  /** ReEncrypt only: the material the data key was wrapped under before. */
  readonly sourceKeyMaterialId?: string | undefined;
  /** Wall time of the call in milliseconds. */
  readonly durationMs: number;
  /** The error, when the call failed. */
  readonly error?: unknown;
  /** The error's name (e.g. `ThrottlingException`), when the call failed. */
  readonly errorName?: string | undefined;
}

/** Receives {@link KmsCallEvent}s. Must not throw; exceptions it throws are ignored. */
export type KmsCallListener = (event: KmsCallEvent) => void;

/**
 * Runs one KMS call and reports it to `listener` (if any) once it settles, with its duration and,
 * on failure, the error and its name; the call's result or error is passed on unchanged.
 * `describe` picks the key ARN and material id out of the response.
 *
 * @example
 * ```ts
 * const out = await observeKmsCall(onKmsCall, "DescribeKey", keyId, () => kms.describeKey({ KeyId: keyId }),
 *   (r) => ({ keyArn: r.KeyMetadata?.Arn, keyMaterialId: r.KeyMetadata?.CurrentKeyMaterialId }));
 * ```
 */
export async function observeKmsCall<T>(
  listener: KmsCallListener | undefined,
  operation: KmsCallEvent["operation"],
  keyId: string | undefined,
  call: () => Promise<T>,
  describe: (response: T) => Pick<KmsCallEvent, "keyArn" | "keyMaterialId" | "sourceKeyMaterialId">,
): Promise<T> {
  const start = performance.now();
  try {
    const response = await call();
    emit(listener, { operation, keyId, ...describe(response), durationMs: performance.now() - start });
    return response;
  } catch (error) {
    emit(listener, {
      operation,
      keyId,
      keyArn: undefined,
      keyMaterialId: undefined,
      durationMs: performance.now() - start,
      error,
      errorName: errorNameOf(error),
    });
    throw error;
  }
}

function emit(listener: KmsCallListener | undefined, event: KmsCallEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A faulty metrics hook must not fail an encryption.
  }
}
