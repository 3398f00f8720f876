/**
 * S3 protocol errors. A handler throws an {@link S3Error}; the service turns it into the S3 XML
 * error document (or a bare status for HEAD, whose responses have no body).
 */

/** The S3 error codes the emulator answers with, and the HTTP status and message S3 gives each. */
const CATALOGUE = {
  AccessDenied: [403, "Access Denied"],
  BadRequest: [400, "Bad Request"],
  BadDigest: [
    400,
    "The Content-MD5 or checksum value that you specified did not match what the server received.",
  ],
  BucketAlreadyOwnedByYou: [
    409,
    "Your previous request to create the named bucket succeeded and you already own it.",
  ],
  BucketNotEmpty: [409, "The bucket you tried to delete is not empty"],
  EntityTooLarge: [400, "Your proposed upload exceeds the maximum allowed size"],
  EntityTooSmall: [400, "Your proposed upload is smaller than the minimum allowed object size."],
  IncompleteBody: [
    400,
    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  ],
  InternalError: [500, "We encountered an internal error. Please try again."],
  InvalidArgument: [400, "Invalid Argument"],
  InvalidBucketName: [400, "The specified bucket is not valid."],
  InvalidDigest: [400, "The Content-MD5 you specified is not valid."],
  InvalidObjectState: [403, "The operation is not valid for the object's storage class"],
  InvalidPart: [
    400,
    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  ],
  InvalidPartNumber: [416, "The requested partnumber is not satisfiable"],
  InvalidPartOrder: [
    400,
    "The list of parts was not in ascending order. Parts must be ordered by part number.",
  ],
  InvalidRange: [416, "The requested range is not satisfiable"],
  InvalidRequest: [400, "Invalid Request"],
  InvalidStorageClass: [400, "The storage class you specified is not valid"],
  InvalidTag: [400, "The TagValue you have provided is invalid"],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  KeyTooLongError: [400, "Your key is too long"],
  MalformedTrailerError: [400, "The request contained trailing data that was not well-formed."],
  MalformedXML: [
    400,
    "The XML you provided was not well-formed or did not validate against our published schema",
  ],
  MaxMessageLengthExceeded: [400, "Your request was too big."],
  MetadataTooLarge: [400, "Your metadata headers exceed the maximum allowed metadata size"],
  MethodNotAllowed: [405, "The specified method is not allowed against this resource."],
  MissingContentLength: [411, "You must provide the Content-Length HTTP header."],
  NoSuchBucket: [404, "The specified bucket does not exist"],
  NoSuchKey: [404, "The specified key does not exist."],
  NoSuchUpload: [
    404,
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
  ],
  NoSuchVersion: [404, "The specified version does not exist."],
  NotImplemented: [501, "A header or query you provided implies functionality that is not implemented."],
  PreconditionFailed: [412, "At least one of the pre-conditions you specified did not hold"],
  XAmzContentSHA256Mismatch: [
    400,
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
  ],
} as const satisfies Record<string, readonly [number, string]>;

/** An S3 error code the emulator knows. */
export type S3ErrorCode = keyof typeof CATALOGUE;

/** Options of an {@link S3Error} beyond its code. */
export interface S3ErrorOptions {
  /** Overrides the catalogue message. */
  message?: string;
  /** Overrides the catalogue status (used for injected faults and 304-like answers). */
  status?: number;
  /** Extra child elements of `<Error>` in order, e.g. `BucketName`, `Key`, `Condition`. */
  details?: Readonly<Record<string, string>>;
  /** Extra response headers, e.g. `x-amz-delete-marker` on a 404 for a deleted key. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * An error answered in the S3 protocol.
 *
 * @example
 * ```ts
 * throw new S3Error("NoSuchKey", { details: { Key: key } });
 * ```
 */
export class S3Error extends Error {
  /** The S3 error code, e.g. `NoSuchKey`. */
  readonly code: string;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Extra child elements of `<Error>`. */
  readonly details: Readonly<Record<string, string>>;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: S3ErrorCode | CustomS3Error, options: S3ErrorOptions = {}) {
    const [code_, status, message] =
      typeof code === "string" ? [code, ...CATALOGUE[code]] : [code.code, code.status, code.message];
    super(options.message ?? message);
    this.name = "S3Error";
    this.code = code_;
    this.status = options.status ?? status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

/** An error code outside the catalogue, e.g. one chosen by the fault injector (`SlowDown`). */
export interface CustomS3Error {
  code: string;
  status: number;
  message: string;
}
