/** The test adapter's error: why the backend that was asked for cannot be provided. */

/**
 * Stable reasons of a {@link LocalAwsError}:
 * - `BAD_BACKEND`: `REKEY_TEST_BACKEND` names no backend;
 * - `BAD_VARIABLE`: another `REKEY_TEST_*` variable has a value of the wrong form;
 * - `NO_ENDPOINT`: the env backend was forced without `REKEY_TEST_ENDPOINT` / `AWS_ENDPOINT_URL`;
 * - `ENDPOINT_UNREACHABLE`: the env backend was forced and its endpoint does not answer;
 * - `NO_CONTAINER_LIBRARY`: LocalStack was forced and its optional peer dependencies
 *   (`testcontainers`, `@testcontainers/localstack`) are not installed;
 * - `NO_CONTAINER_RUNTIME`: LocalStack was forced and no container runtime answered;
 * - `LOCALSTACK_FAILED`: a container runtime answered but the LocalStack container did not start.
 *
 * @example
 * ```ts
 * if ((LOCAL_AWS_ERROR_CODES as readonly string[]).includes(code)) throw new LocalAwsError(code as LocalAwsErrorCode, message);
 * ```
 */
export const LOCAL_AWS_ERROR_CODES = [
  "BAD_BACKEND",
  "BAD_VARIABLE",
  "NO_ENDPOINT",
  "ENDPOINT_UNREACHABLE",
  "NO_CONTAINER_LIBRARY",
  "NO_CONTAINER_RUNTIME",
  "LOCALSTACK_FAILED",
] as const;

/** One of {@link LOCAL_AWS_ERROR_CODES}. */
export type LocalAwsErrorCode = (typeof LOCAL_AWS_ERROR_CODES)[number];

/**
 * Why `startLocalAws` could not provide the backend that was asked for. A forced backend that is
 * not available is this error, never a silent fallback to another backend.
 *
 * @example
 * ```ts
 * try {
 *   await startLocalAws({ backend: "localstack" });
 * } catch (error) {
 *   if (error instanceof LocalAwsError && error.code === "NO_CONTAINER_RUNTIME") console.log("no Docker here");
 * }
 * ```
 */
export class LocalAwsError extends Error {
  /** Stable reason code. */
  readonly code: LocalAwsErrorCode;

  constructor(code: LocalAwsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LocalAwsError";
    this.code = code;
  }
}

/**
 * The message of any thrown value, for error messages that wrap it.
 *
 * @example
 * ```ts
 * messageOf(new Error("boom")); // "boom"
 * messageOf("plain"); // "plain"
 * ```
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
