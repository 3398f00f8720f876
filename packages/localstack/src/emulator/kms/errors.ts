/** The error a KMS operation answers with: an AWS JSON 1.1 `__type` and an HTTP status. */

/**
 * A KMS protocol error. The handler turns it into `{"__type": code, "message": message}`, which
 * `@aws-sdk/client-kms` maps onto its exception class of the same name.
 *
 * @example
 * ```ts
 * throw new KmsError("NotFoundException", `Key '${arn}' does not exist`);
 * ```
 */
export class KmsError extends Error {
  /** The exception name, e.g. `NotFoundException`. */
  readonly code: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** False when KMS sends no message at all (e.g. `InvalidCiphertextException`). */
  readonly hasMessage: boolean;

  /**
   * @param code - The exception name.
   * @param message - The message; omitted from the answer when undefined.
   * @param status - HTTP status.
   * @default status 400
   */
  constructor(code: string, message?: string, status = 400) {
    super(message ?? code);
    this.name = code;
    this.code = code;
    this.status = status;
    this.hasMessage = message !== undefined;
  }
}

/** `ValidationException` for an input that breaks a documented constraint. */
export function validation(message: string): KmsError {
  return new KmsError("ValidationException", message);
}

/** `SerializationException` for a body that is not JSON or a member of the wrong JSON type. */
export function serialization(message: string): KmsError {
  return new KmsError("SerializationException", message);
}
