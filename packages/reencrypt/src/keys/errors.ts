/**
 * Errors of the key tooling: one class with a closed set of stable codes, the KMS error kept as
 * `cause`. The message is one line for people; the code is what programs test.
 */

/** The stable codes of {@link KeyToolError}. */
export type KeyToolErrorCode =
  /** An option or argument is malformed or out of range. */
  | "ERR_INVALID_ARGUMENT"
  /** The key or alias does not exist (KMS `NotFoundException`). */
  | "ERR_KEY_NOT_FOUND"
  /** A file given as a Terraform plan is not one. */
  | "ERR_NOT_A_PLAN"
  /** A key policy is not a readable policy document. */
  | "ERR_INVALID_POLICY"
  /** An on-demand rotation did not complete within the timeout. */
  | "ERR_ROTATION_TIMEOUT"
  /** The alias cutover preflight failed; nothing was changed. */
  | "ERR_PREFLIGHT_FAILED"
  /**
   * An alias does not resolve to the key a cutover moved it to: still the old key after the
   * bounded read-back (KMS aliases are eventually consistent), or moved again meanwhile.
   */
  | "ERR_ALIAS_MISMATCH"
  /** The command was interrupted (SIGINT) while waiting; what was already requested goes on. */
  | "ERR_INTERRUPTED"
  /** A KMS call failed (access denied, throttled, disabled key, network). */
  | "ERR_KMS";

/**
 * A failure of the key tooling.
 *
 * @example
 * ```ts
 * try { await rotateAndWait(kms, "alias/app"); }
 * catch (e) { if (e instanceof KeyToolError && e.code === "ERR_ROTATION_TIMEOUT") retryLater(); }
 * ```
 */
export class KeyToolError extends Error {
  /** A stable, machine-readable code. */
  readonly code: KeyToolErrorCode;
  /** The KMS error name (`AccessDeniedException`, …) when a KMS call failed. */
  readonly kmsErrorName: string | undefined;

  constructor(
    code: KeyToolErrorCode,
    message: string,
    options?: { cause?: unknown; kmsErrorName?: string | undefined },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kmsErrorName = options?.kmsErrorName;
    this.name = "KeyToolError";
  }
}

/** The `name` of an SDK (or any) error, if it has one. */
export function awsErrorName(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && "name" in e && typeof e.name === "string") return e.name;
  return undefined;
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
  const name = awsErrorName(e) ?? "";
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
  const name = awsErrorName(e);
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
