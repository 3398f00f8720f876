/**
 * Errors of the key tooling: one class with a closed set of stable codes, the KMS error kept as
 * `cause`. The message is one line for people; the code is what programs test.
 */

import { RekeyError } from "@rekey/core";
import { errorNameOf, type KeyToolErrorCode } from "../errors.js";

export type { KeyToolErrorCode };

/**
 * A failure of the key tooling.
 *
 * @example
 * ```ts
 * try { await rotateAndWait(kms, "alias/app"); }
 * catch (e) { if (e instanceof KeyToolError && e.code === "ERR_ROTATION_TIMEOUT") retryLater(); }
 * ```
 */
export class KeyToolError extends RekeyError<KeyToolErrorCode> {
  /** The KMS error name (`AccessDeniedException`, …) when a KMS call failed. */
  readonly kmsErrorName: string | undefined;

  constructor(
    code: KeyToolErrorCode,
    message: string,
    options?: { cause?: unknown; kmsErrorName?: string | undefined },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kmsErrorName = options?.kmsErrorName;
  }
}

function httpStatus(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null || !("$metadata" in e)) return undefined;
  const m = e.$metadata;
  if (typeof m !== "object" || m === null || !("httpStatusCode" in m)) return undefined;
  return typeof m.httpStatusCode === "number" ? m.httpStatusCode : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * True when the endpoint does not implement the operation at all (LocalStack answers
 * `ListKeyRotations` with HTTP 501), or KMS says the key type does not support it. Callers show
 * "unknown" instead of failing.
 */
export function isUnsupportedOperation(e: unknown): boolean {
  const name = errorNameOf(e) ?? "";
  if (httpStatus(e) === 501) return true;
  if (
    [
      "UnsupportedOperationException",
      "UnknownOperationException",
      "NotImplemented",
      "NotImplementedException",
    ].includes(name)
  )
    return true;
  return /not (yet )?implemented/i.test(messageOf(e));
}

/**
 * Wraps a failed KMS call into a {@link KeyToolError}: `NotFoundException` becomes
 * `ERR_KEY_NOT_FOUND`, anything else `ERR_KMS`, with the operation and KMS's own words.
 *
 * @example
 * ```ts
 * try { await kms.describeKey({ KeyId }); } catch (e) { throw kmsFailure("DescribeKey", KeyId, e); }
 * ```
 */
export function kmsFailure(operation: string, keyId: string | undefined, e: unknown): KeyToolError {
  if (e instanceof KeyToolError) return e;
  const name = errorNameOf(e);
  const detail = messageOf(e);
  const what = keyId ? ` for ${keyId}` : "";
  if (name === "NotFoundException") {
    return new KeyToolError("ERR_KEY_NOT_FOUND", `key not found${what}: ${detail}`, {
      cause: e,
      kmsErrorName: name,
    });
  }
  const reason = name && !detail.includes(name) ? `${name}: ${detail}` : detail || (name ?? "unknown error");
  return new KeyToolError("ERR_KMS", `KMS ${operation} failed${what}: ${reason}`, {
    cause: e,
    kmsErrorName: name,
  });
}

/**
 * Runs one KMS call and turns its failure into a {@link KeyToolError}.
 *
 * @example
 * ```ts
 * const out = await kmsCall("DescribeKey", keyId, () => kms.describeKey({ KeyId: keyId }));
 * ```
 */
export async function kmsCall<T>(
  operation: string,
  keyId: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw kmsFailure(operation, keyId, e);
  }
}
