/**
 * `waitForAlias`: reads an alias back until it resolves to the expected key. KMS aliases are
 * eventually consistent: right after `UpdateAlias` succeeds, `DescribeKey` on the alias may
 * still answer with the key it pointed at before. The read-back is retried with a short,
 * doubling delay for a bounded time; only then is the alias reported as not moved.
 */
import { setTimeout as delay } from "node:timers/promises";
import { KeyToolError, kmsCall } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";

/** Options of {@link waitForAlias}. */
export interface WaitForAliasOptions {
  /** Give up after this long. @default 60000 */
  readonly timeoutMs?: number;
  /** Delay before the second read; it doubles after each read. @default 250 */
  readonly initialDelayMs?: number;
  /** Longest delay between two reads. @default 4000 */
  readonly maxDelayMs?: number;
  /** Waits between reads; tests replace it. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** Milliseconds clock; tests replace it. @default Date.now */
  readonly now?: () => number;
}

/** How the alias was seen to point at the key. */
export interface AliasReadBack {
  /** `DescribeKey` calls made, the first included. */
  readonly reads: number;
  readonly elapsedMs: number;
}

/**
 * Waits until `alias` resolves to `keyArn`.
 *
 * @throws KeyToolError `ERR_ALIAS_MISMATCH` when it still resolves elsewhere after `timeoutMs`;
 *   `ERR_KMS` / `ERR_KEY_NOT_FOUND` when `DescribeKey` fails.
 * @example
 * ```ts
 * await kms.updateAlias({ AliasName: "alias/app-data", TargetKeyId: newKeyArn });
 * await waitForAlias(kms, "alias/app-data", newKeyArn);
 * ```
 */
export async function waitForAlias(
  kms: KmsAdminApi,
  alias: string,
  keyArn: string,
  options: WaitForAliasOptions = {},
): Promise<AliasReadBack> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxDelayMs = options.maxDelayMs ?? 4000;
  let wait = options.initialDelayMs ?? 250;
  const start = now();
  for (let reads = 1; ; reads++) {
    const seen = (await kmsCall("DescribeKey", alias, () => kms.describeKey({ KeyId: alias }))).KeyMetadata
      ?.Arn;
    const elapsedMs = now() - start;
    if (seen === keyArn) return { reads, elapsedMs };
    if (elapsedMs >= timeoutMs) {
      throw new KeyToolError(
        "ERR_ALIAS_MISMATCH",
        `${alias} still points at ${seen ?? "nothing"}, not ${keyArn}, ${Math.round(elapsedMs / 1000)}s after UpdateAlias (read ${reads} times)`,
      );
    }
    await sleep(Math.min(wait, timeoutMs - elapsedMs));
    wait = Math.min(wait * 2, maxDelayMs);
  }
}
