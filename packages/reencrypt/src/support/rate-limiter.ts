/**
 * A token bucket in front of every KMS call. KMS shares one request quota per account and
 * Region between the job and the applications that use the keys; past it, KMS answers
 * `ThrottlingException`. The bucket keeps the job under its share instead of finding the quota
 * by being throttled.
 *
 * Implemented as virtual scheduling (GCRA): each `acquire` reserves the next free slot, so
 * waiters are served in arrival order and no timer runs while nobody waits.
 */
import { abortedError } from "./sleep.js";

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained rate in requests per second; `Infinity` disables the cap. */
  readonly ratePerSecond: number;
  /** Requests that may go at once after an idle period. @default max(1, ceil(ratePerSecond / 10)) */
  readonly burst?: number;
  /** Monotonic clock in milliseconds, replaced by tests. @default performance.now */
  readonly now?: () => number;
}

/** A rate limiter. */
export interface RateLimiter {
  /** Resolves when the caller may make one request; rejects with `ERR_JOB_ABORTED` on abort. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** The configured sustained rate (requests per second). */
  readonly ratePerSecond: number;
}

/**
 * Creates a token-bucket limiter.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ ratePerSecond: 500 });
 * await limiter.acquire(signal);
 * await kms.reEncrypt(input);
 * ```
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const rate = options.ratePerSecond;
  if (!(rate > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${rate}`);
  if (rate === Infinity) return { ratePerSecond: rate, acquire: (signal) => unlimited(signal) };
  const now = options.now ?? (() => performance.now());
  const interval = 1000 / rate;
  const burst = Math.max(1, options.burst ?? Math.ceil(rate / 10));
  // The theoretical arrival time of the next request; a request may go when
  // `tat - now <= (burst - 1) * interval`.
  let tat = now();
  return {
    ratePerSecond: rate,
    acquire(signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) return Promise.reject(abortedError(signal));
      const t = now();
      const start = Math.max(tat, t);
      tat = start + interval;
      const wait = start - t - (burst - 1) * interval;
      if (wait <= 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(abortedError(signal));
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, wait);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

function unlimited(signal?: AbortSignal): Promise<void> {
  return signal?.aborted ? Promise.reject(abortedError(signal)) : Promise.resolve();
}
