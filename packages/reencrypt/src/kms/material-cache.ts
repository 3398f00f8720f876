/**
 * The current key material of each key the job meets, looked up once per key ARN
 * (`DescribeKey` → `CurrentKeyMaterialId`) and shared by every task: N concurrent objects under a
 * new key make one `DescribeKey`, not N. A failed lookup is cached as "unknown" with its reason,
 * so a deleted or inaccessible key costs one call, and the objects under it are still tried
 * (and fail with KMS's own reason); a transient failure (throttling, 5xx) is not cached.
 */
import { describeError } from "../errors.js";
import type { JobKmsApi } from "./job-kms.js";
import { isRetryableError } from "../support/retry.js";

/** What is known of a key's current material. */
export interface KeyMaterialInfo {
  /** `CurrentKeyMaterialId`, when KMS reports one. */
  readonly currentKeyMaterialId: string | undefined;
  /** `KeyState` (e.g. `Enabled`, `Disabled`), when known. */
  readonly keyState: string | undefined;
  /** Why the lookup failed, when it did. */
  readonly error?: string;
}

/**
 * A single-flight cache of {@link KeyMaterialInfo} per key ARN.
 *
 * @example
 * ```ts
 * const materials = new MaterialCache(kms);
 * const { currentKeyMaterialId } = await materials.lookup(entryKeyArn);
 * ```
 */
export class MaterialCache {
  private readonly entries = new Map<string, Promise<KeyMaterialInfo>>();

  constructor(
    private readonly kms: JobKmsApi,
    private readonly signal?: AbortSignal,
  ) {}

  /** Seeds the cache (the target, already described at start). */
  seed(keyArn: string, info: KeyMaterialInfo): void {
    this.entries.set(keyArn, Promise.resolve(info));
  }

  /** The key's current material, described once. Never rejects. */
  lookup(keyArn: string): Promise<KeyMaterialInfo> {
    let hit = this.entries.get(keyArn);
    if (!hit) {
      hit = this.describe(keyArn);
      this.entries.set(keyArn, hit);
    }
    return hit;
  }

  /**
   * Records the material KMS just rewrapped onto (`DestinationKeyMaterialId`). When it differs
   * from the cached one, the key rotated during the run: later objects are judged against the
   * newer material.
   */
  observe(keyArn: string, materialId: string | undefined, keyState = "Enabled"): void {
    if (!materialId) return;
    this.entries.set(keyArn, Promise.resolve({ currentKeyMaterialId: materialId, keyState }));
  }

  /** Keys looked up so far. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  private async describe(keyArn: string): Promise<KeyMaterialInfo> {
    try {
      const { KeyMetadata } = await this.kms.describeKey(
        { KeyId: keyArn },
        this.signal ? { abortSignal: this.signal } : {},
      );
      return { currentKeyMaterialId: KeyMetadata?.CurrentKeyMaterialId, keyState: KeyMetadata?.KeyState };
    } catch (e) {
      // A cancelled lookup must not stay cached as "unknown" for a later run of the same cache,
      // nor a transient failure (throttling, 5xx past the retries): with the material unknown,
      // every object under the key would be moved, current or not. The objects waiting on this
      // lookup get "unknown"; the next one looks the key up again.
      if (this.signal?.aborted || isRetryableError(e)) this.entries.delete(keyArn);
      return { currentKeyMaterialId: undefined, keyState: undefined, error: describeError(e).reason };
    }
  }
}
