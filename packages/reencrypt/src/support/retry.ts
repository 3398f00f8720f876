/**
 * Retry with exponential backoff and full jitter (sleep a random time between 0 and
 * `min(maxDelayMs, baseDelayMs * 2^attempt)`), for the transient failures of KMS and S3:
 * throttling, 5xx and network errors. Full jitter spreads the retries of many concurrent tasks
 * that were throttled together, so they do not come back as one burst.
 */
import { causeChain, errorNameOf, httpStatusOf } from "../errors.js";
import { sleep } from "./sleep.js";

/** How a step is retried. */
export interface RetryOptions {
  /** Most attempts, the first included. @default 10 */
  readonly attempts?: number;
  /** Backoff unit: the cap of the first delay. @default 50 */
  readonly baseDelayMs?: number;
  /** Largest delay between two attempts. @default 5000 */
  readonly maxDelayMs?: number;
  /** Source of randomness in [0, 1), replaced by tests. @default Math.random */
  readonly random?: () => number;
}

/** What {@link retry} reports before each new attempt. */
export interface RetryEvent {
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** Its error. */
  readonly error: unknown;
  /** The delay before the next attempt. */
  readonly delayMs: number;
}

/** The retry defaults. */
export const DEFAULT_RETRY: Required<Omit<RetryOptions, "random">> = {
  attempts: 10,
  baseDelayMs: 50,
  maxDelayMs: 5000,
};

/** Error names KMS and S3 use for failures worth retrying. */
const RETRYABLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalError",
  "InternalFailure",
  "KMSInternalException",
  "DependencyTimeoutException",
  "KeyUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkingError",
  // S3 HTTP 409: a concurrent conditional write to the same key was in progress; AWS asks
  // for a retry. Every write of the job is conditional, so a retry is as safe as the first try.
  "ConditionalRequestConflict",
  "OperationAborted",
]);

/** Node and undici codes of network failures. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * PostgreSQL SQLSTATEs a later attempt may get past: a serialization failure (`40001`), a
 * deadlock (`40P01`), the server shutting down or restarting (`57P01`–`57P03`, a backend
 * terminated by an administrator included) and too many connections (`53300`). Class `08`
 * (connection exceptions) is matched by its prefix. Every other SQLSTATE (a syntax or type
 * error, `42…`, `22…`, a constraint, `23…`, a trigger's exception) is final.
 */
const TRANSIENT_SQLSTATES = new Set(["40001", "40P01", "57P01", "57P02", "57P03", "53300"]);

/** True for a PostgreSQL SQLSTATE in {@link TRANSIENT_SQLSTATES} or class `08`. */
function isTransientSqlState(code: string): boolean {
  return /^[0-9A-Z]{5}$/.test(code) && (code.startsWith("08") || TRANSIENT_SQLSTATES.has(code));
}

/**
 * True for an error worth another attempt: KMS `ThrottlingException`, S3 `SlowDown`, HTTP 500,
 * 502, 503, 504, S3's 409 `ConditionalRequestConflict`, network errors, and PostgreSQL's
 * transient SQLSTATEs (a lost connection, a server shutting down, a serialization failure or
 * deadlock, too many connections). A 4xx that is not throttling (412, 404, access denied, a
 * disabled key) is final, as is any other SQLSTATE.
 *
 * @example
 * ```ts
 * isRetryableError(Object.assign(new Error(), { name: "ThrottlingException" })); // true
 * ```
 */
export function isRetryableError(e: unknown): boolean {
  const name = errorNameOf(e);
  if (name !== undefined && RETRYABLE_NAMES.has(name)) return true;
  const status = httpStatusOf(e);
  if (status === 500 || status === 502 || status === 503 || status === 504) return true;
  if (status === 429) return true;
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && typeof cause === "object" && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && (NETWORK_CODES.has(code) || isTransientSqlState(code))) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  // A socket closed before a response arrived: the SDK reports no status at all; node-postgres
  // says its connection ended (the server went away without an error message).
  return (
    status === undefined &&
    name === "Error" &&
    /socket hang up|ECONNRESET|aborted|Connection terminated|is not queryable/i.test(String(e))
  );
}

/**
 * True when a failure, or any error along its `cause` chain, is one a later attempt may get
 * past (see {@link isRetryableError}): what a job's own error wraps decides, e.g. an
 * `ERR_JOB_S3` whose cause is a 503 is transient, one whose cause is access denied is not.
 *
 * @example
 * ```ts
 * isTransientFailure(new JobError("ERR_JOB_S3", "write", { cause: slowDown })); // true
 * ```
 */
export function isTransientFailure(e: unknown): boolean {
  for (const at of causeChain(e)) if (isRetryableError(at)) return true;
  return false;
}

/** Options of one {@link retry} call. */
export interface RetryCallOptions extends RetryOptions {
  /** Stops the retries (and the backoff sleep) at once. */
  readonly signal?: AbortSignal;
  /** Which errors are retried. @default isRetryableError */
  readonly isRetryable?: (e: unknown) => boolean;
  /** Called before each new attempt (for counters and logs). */
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * Runs `fn` until it succeeds, fails with an error that is not retryable, or runs out of
 * attempts; the last error is thrown as it is.
 *
 * @example
 * ```ts
 * const out = await retry(() => s3.send(new GetObjectCommand(input)), { signal, attempts: 8 });
 * ```
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryCallOptions = {},
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_RETRY.attempts);
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const random = options.random ?? Math.random;
  const retryable = options.isRetryable ?? isRetryableError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted || attempt >= attempts || !retryable(error)) throw error;
      const delayMs = Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      options.onRetry?.({ attempt, error, delayMs });
      await sleep(delayMs, options.signal);
    }
  }
}

/**
 * True for a throttling answer of KMS or S3.
 *
 * @example
 * ```ts
 * isThrottle(Object.assign(new Error(), { name: "SlowDown" })); // true
 * ```
 */
export function isThrottle(e: unknown): boolean {
  const name = errorNameOf(e);
  return name === "ThrottlingException" || name === "SlowDown" || name === "Throttling";
}
