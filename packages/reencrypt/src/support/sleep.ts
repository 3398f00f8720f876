/** A timer promise that an `AbortSignal` cancels, so a backing-off task stops at once on abort. */
import { JobError } from "../errors.js";

/**
 * Waits `ms` milliseconds, or rejects with `ERR_JOB_ABORTED` as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * await sleep(250, controller.signal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The error a cancelled job step rejects with: a {@link JobError} `ERR_JOB_ABORTED` whose cause
 * is the signal's reason.
 *
 * @example
 * ```ts
 * if (signal.aborted) throw abortedError(signal);
 * ```
 */
export function abortedError(signal?: AbortSignal): JobError {
  return new JobError("ERR_JOB_ABORTED", "the job was cancelled", { cause: signal?.reason });
}
