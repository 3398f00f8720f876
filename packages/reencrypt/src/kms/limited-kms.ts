/**
 * Wraps the job's KMS client so every call, whoever makes it (`rewrapKmsEntry`, a `KmsKeyring`
 * decrypting for verification, target resolution), first takes a token from the rate limiter,
 * is counted, and is retried with backoff on throttling and transient errors. Each retry takes a
 * new token: a retry is a request against the same quota.
 */
import { observeKmsCall, type KmsCallListener, type KmsCallOptions } from "@rekey/core";
import type { JobCounters } from "../support/job-counters.js";
import type { JobKmsApi } from "./job-kms.js";
import type { RateLimiter } from "../support/rate-limiter.js";
import { isThrottle, retry, type RetryEvent, type RetryOptions } from "../support/retry.js";

/** Options of {@link limitedKms}. */
export interface LimitedKmsOptions {
  readonly limiter: RateLimiter;
  readonly counters: JobCounters;
  /** @default DEFAULT_RETRY */
  readonly retry?: RetryOptions;
  /** Cancels waits, backoffs and calls that were given no signal of their own. */
  readonly signal?: AbortSignal;
  /**
   * Reported for the job's own `DescribeKey` and `ListAliases` calls (each after its retries);
   * the cryptographic calls are reported by the keyrings that make them.
   */
  readonly onKmsCall?: KmsCallListener;
}

/**
 * A {@link JobKmsApi} whose calls are rate-limited, counted and retried.
 *
 * @example
 * ```ts
 * const kms = limitedKms(jobKmsOf(client), { limiter: createRateLimiter({ ratePerSecond: 500 }), counters });
 * await rewrapKmsEntry(entry, { client: kms, destinationKeyId, encryptionContext });
 * ```
 */
export function limitedKms(inner: JobKmsApi, options: LimitedKmsOptions): JobKmsApi {
  const wrap =
    <I, O>(operation: string, call: (input: I, o?: KmsCallOptions) => Promise<O>) =>
    (input: I, o?: KmsCallOptions): Promise<O> => {
      const signal = o?.abortSignal ?? options.signal;
      return retry(
        async () => {
          await options.limiter.acquire(signal);
          options.counters.request("kms", operation);
          return call(input, signal ? { abortSignal: signal } : {});
        },
        Object.assign({}, options.retry, signal ? { signal } : undefined, {
          onRetry: (e: RetryEvent) => options.counters.retried("kms", operation, isThrottle(e.error)),
        }),
      );
    };
  const describeKey = wrap("DescribeKey", (i: Parameters<JobKmsApi["describeKey"]>[0], o) =>
    inner.describeKey(i, o),
  );
  const listAliases = wrap("ListAliases", (i: Parameters<JobKmsApi["listAliases"]>[0], o) =>
    inner.listAliases(i, o),
  );
  return {
    generateDataKey: wrap("GenerateDataKey", (i, o) => inner.generateDataKey(i, o)),
    encrypt: wrap("Encrypt", (i, o) => inner.encrypt(i, o)),
    decrypt: wrap("Decrypt", (i, o) => inner.decrypt(i, o)),
    reEncrypt: wrap("ReEncrypt", (i, o) => inner.reEncrypt(i, o)),
    describeKey: (i, o) =>
      observeKmsCall(
        options.onKmsCall,
        "DescribeKey",
        i.KeyId,
        () => describeKey(i, o),
        (r) => ({ keyArn: r.KeyMetadata?.Arn, keyMaterialId: r.KeyMetadata?.CurrentKeyMaterialId }),
      ),
    listAliases: (i, o) =>
      observeKmsCall(
        options.onKmsCall,
        "ListAliases",
        i.KeyId,
        () => listAliases(i, o),
        () => ({
          keyArn: undefined,
          keyMaterialId: undefined,
        }),
      ),
  };
}
