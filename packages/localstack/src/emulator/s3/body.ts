/**
 * Receiving request bodies. The body streams through, chunk by chunk: `aws-chunked` decoding,
 * MD5 (for the ETag), the declared checksum and `x-amz-content-sha256` are computed on the way
 * to the sink (a blob file for object data, a bounded buffer for XML documents). On any failure
 * the rest of the body is drained, never destroyed, so the connection survives and the client
 * reads a proper error instead of a reset: the service drains before answering any error.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { BlobStore, Extent } from "./blobs.js";
import { CHECKSUM_LENGTH, checksumAlgorithmOf, checksumHeaderName, createChecksum } from "./checksum.js";
import type { ChecksumAlgorithm } from "./checksum.js";
import { AwsChunkedDecoder } from "./chunked.js";
import { S3Error } from "./errors.js";

/**
 * How a checksum covers an object: `FULL_OBJECT`, the checksum of all its bytes, or
 * `COMPOSITE`, the checksum of its parts' checksums (multipart uploads), written `<base64>-N`.
 */
export type ChecksumType = "FULL_OBJECT" | "COMPOSITE";

/** A checksum S3 verified and keeps with the object. */
export interface StoredChecksum {
  readonly algorithm: ChecksumAlgorithm;
  /** Base64, as in the `x-amz-checksum-*` header (`<base64>-N` for a composite checksum). */
  readonly value: string;
  /** @default "FULL_OBJECT" */
  readonly type?: ChecksumType;
}

/** What was learnt while receiving a body. */
export interface ReceivedBody {
  readonly size: number;
  /** MD5 of the (decoded) bytes: the ETag of a single PUT, the part ETag of an upload. */
  readonly md5: Buffer;
  /** The checksum the client sent (header or trailer), verified; absent when none was sent. */
  readonly checksum?: StoredChecksum;
}

/** Limits of one body. */
export interface BodyLimits {
  /** Largest accepted decoded size; past it `EntityTooLarge` (or `tooLarge`). */
  readonly maxSize: number;
  /** The error for a body over `maxSize` (default `EntityTooLarge`). */
  readonly tooLarge?: S3Error;
  /**
   * The checksum algorithm the body must use (a part of an upload created with one): a
   * checksum of another algorithm is refused, and when the client sends none it is computed.
   */
  readonly checksumAlgorithm?: ChecksumAlgorithm;
}

/** 5 GiB: the largest single PUT or part S3 accepts. */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

/**
 * Streams a body into a new blob. Returns its extents (unreferenced: the caller retains or
 * discards them) and what was computed on the way.
 *
 * @example
 * ```ts
 * const { extents, body } = await receiveBlob(req, blobs, { maxSize: MAX_PUT_SIZE });
 * ```
 */
export async function receiveBlob(
  req: IncomingMessage,
  blobs: BlobStore,
  limits: BodyLimits,
): Promise<{ extents: Extent[]; body: ReceivedBody }> {
  const plan = planBody(req, limits);
  const writer = await blobs.create();
  try {
    const body = await consume(req, plan, (data) => writer.write(data));
    const extents = await writer.commit();
    return { extents, body };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Reads a small body (an XML document) into memory, with the same decoding and checks.
 *
 * @example
 * ```ts
 * const xml = await receiveSmall(req, 1024 * 1024);
 * ```
 */
export async function receiveSmall(req: IncomingMessage, maxSize: number): Promise<Buffer> {
  const limits: BodyLimits = { maxSize, tooLarge: new S3Error("MaxMessageLengthExceeded") };
  const plan = planBody(req, limits, false);
  const chunks: Buffer[] = [];
  await consume(req, plan, (data) => void chunks.push(data));
  return Buffer.concat(chunks);
}

/** How long {@link drain} waits for a stalled client before answering anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Reads and discards whatever is left of a body; resolves once it has ended (or after a
 * timeout, for a client that stalls). Answering only then lets the client finish sending and
 * keep its connection: a Node client does not reuse a socket whose request was still being
 * written when the answer came.
 */
export function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      req.off("end", done);
      req.off("close", done);
      req.off("error", done);
      resolve();
    };
    const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
    req.on("end", done);
    req.on("close", done);
    req.on("error", done);
    req.resume();
  });
}

interface BodyPlan {
  readonly chunked: boolean;
  /** Decoded length announced by the client; undefined only for small bodies sent without. */
  readonly expectedSize: number | undefined;
  readonly maxSize: number;
  readonly tooLarge: S3Error;
  /** Checksum to verify; the value comes from a header now or from a trailer at the end. */
  readonly checksum?: { algorithm: ChecksumAlgorithm; header?: string; trailer?: string };
  /** Checksum to compute without a value to verify (the upload's algorithm, none sent). */
  readonly computed?: ChecksumAlgorithm;
  readonly contentMd5?: Buffer;
  /** A hex `x-amz-content-sha256` (signed payload) to verify. */
  readonly contentSha256?: string;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Reads the headers that describe the body, failing before any byte is read if they are wrong. */
function planBody(req: IncomingMessage, limits: BodyLimits, lengthRequired = true): BodyPlan {
  const encodings = (header(req, "content-encoding") ?? "").split(",").map((e) => e.trim().toLowerCase());
  const sha = header(req, "x-amz-content-sha256");
  const chunked = encodings.includes("aws-chunked") || (sha?.startsWith("STREAMING-") ?? false);

  const lengthHeader = chunked ? header(req, "x-amz-decoded-content-length") : header(req, "content-length");
  let expectedSize: number | undefined;
  if (lengthHeader !== undefined) {
    if (!/^\d{1,16}$/.test(lengthHeader.trim())) {
      throw new S3Error("InvalidArgument", { message: "Invalid content length." });
    }
    expectedSize = Number(lengthHeader.trim());
  } else if (chunked || (lengthRequired && req.headers["transfer-encoding"] !== undefined)) {
    throw new S3Error("MissingContentLength");
  } else if (lengthRequired) {
    // No length and no transfer coding: HTTP says there is no body, so an empty object.
    expectedSize = 0;
  }
  const tooLarge = limits.tooLarge ?? new S3Error("EntityTooLarge");
  if (expectedSize !== undefined && expectedSize > limits.maxSize) throw tooLarge;

  const plan: {
    -readonly [K in keyof BodyPlan]: BodyPlan[K];
  } = { chunked, expectedSize, maxSize: limits.maxSize, tooLarge };

  const checksumHeaders = Object.keys(req.headers).filter(
    (name) => name.startsWith("x-amz-checksum-") && checksumAlgorithmOf(name) !== undefined,
  );
  const trailer = header(req, "x-amz-trailer")?.trim().toLowerCase();
  const trailerAlgorithm = trailer === undefined ? undefined : checksumAlgorithmOf(trailer);
  if (checksumHeaders.length + (trailerAlgorithm === undefined ? 0 : 1) > 1) {
    throw new S3Error("InvalidRequest", { message: "Expecting a single x-amz-checksum- header" });
  }
  if (trailerAlgorithm !== undefined) {
    if (!chunked) {
      throw new S3Error("InvalidRequest", { message: "x-amz-trailer requires an aws-chunked body." });
    }
    plan.checksum = { algorithm: trailerAlgorithm, trailer: checksumHeaderName(trailerAlgorithm) };
  } else if (checksumHeaders[0] !== undefined) {
    const algorithm = checksumAlgorithmOf(checksumHeaders[0])!;
    const value = header(req, checksumHeaders[0])!;
    checkChecksumValue(algorithm, value);
    plan.checksum = { algorithm, header: value };
  } else {
    const sdkAlgorithm = header(req, "x-amz-sdk-checksum-algorithm");
    if (sdkAlgorithm !== undefined && checksumAlgorithmOf(sdkAlgorithm) === undefined) {
      throw new S3Error("InvalidRequest", {
        message: "Value for x-amz-sdk-checksum-algorithm header is invalid.",
      });
    }
  }

  const required = limits.checksumAlgorithm;
  if (required !== undefined) {
    const sent =
      plan.checksum?.algorithm ?? checksumAlgorithmOf(header(req, "x-amz-sdk-checksum-algorithm") ?? "");
    if (sent !== undefined && sent !== required) {
      throw new S3Error("InvalidRequest", {
        message: `Checksum Type mismatch occurred, expected checksum Type: ${required.toLowerCase()}, actual checksum Type: ${sent.toLowerCase()}`,
      });
    }
    if (plan.checksum === undefined) plan.computed = required;
  }

  const md5 = header(req, "content-md5");
  if (md5 !== undefined) {
    const digest = Buffer.from(md5, "base64");
    if (digest.length !== 16 || digest.toString("base64") !== md5.trim()) throw new S3Error("InvalidDigest");
    plan.contentMd5 = digest;
  }
  if (sha !== undefined && /^[0-9a-f]{64}$/i.test(sha)) plan.contentSha256 = sha.toLowerCase();
  return plan;
}

function checkChecksumValue(algorithm: ChecksumAlgorithm, value: string): void {
  const bytes = Buffer.from(value, "base64");
  if (bytes.length !== CHECKSUM_LENGTH[algorithm] || bytes.toString("base64") !== value.trim()) {
    throw new S3Error("InvalidRequest", {
      message: `Value for ${checksumHeaderName(algorithm)} header is invalid.`,
    });
  }
}

async function consume(
  req: IncomingMessage,
  plan: BodyPlan,
  sink: (data: Buffer) => Promise<void> | void,
): Promise<ReceivedBody> {
  const decoder = plan.chunked ? new AwsChunkedDecoder() : undefined;
  const md5 = createHash("md5");
  const summed = plan.checksum?.algorithm ?? plan.computed;
  const checksum = summed === undefined ? undefined : createChecksum(summed);
  const sha256 = plan.contentSha256 === undefined ? undefined : createHash("sha256");
  let size = 0;
  // destroyOnReturn: false — leaving the loop early must not reset the connection.
  for await (const raw of req.iterator({ destroyOnReturn: false })) {
    const chunk = raw as Buffer;
    sha256?.update(chunk);
    const pieces = decoder === undefined ? [chunk] : decoder.push(chunk);
    for (const piece of pieces) {
      size += piece.length;
      if (size > plan.maxSize) throw plan.tooLarge;
      if (plan.expectedSize !== undefined && size > plan.expectedSize) {
        throw new S3Error("IncompleteBody", { message: "The body is longer than its declared length." });
      }
      md5.update(piece);
      checksum?.update(piece);
      await sink(piece);
    }
  }
  const trailers = decoder?.finish();
  if (plan.expectedSize !== undefined && size !== plan.expectedSize) throw new S3Error("IncompleteBody");

  const md5Digest = md5.digest();
  if (plan.contentMd5 !== undefined && !plan.contentMd5.equals(md5Digest)) throw new S3Error("BadDigest");
  if (sha256 !== undefined && sha256.digest("hex") !== plan.contentSha256) {
    throw new S3Error("XAmzContentSHA256Mismatch");
  }
  let stored: StoredChecksum | undefined;
  if (plan.checksum !== undefined && checksum !== undefined) {
    const { algorithm } = plan.checksum;
    const expected = plan.checksum.header ?? trailers?.get(plan.checksum.trailer ?? "");
    if (expected === undefined) {
      throw new S3Error("MalformedTrailerError", {
        message: `The ${checksumHeaderName(algorithm)} trailer was announced but not sent.`,
      });
    }
    checkChecksumValue(algorithm, expected);
    const actual = (await checksum.digest()).toString("base64");
    if (actual !== expected.trim()) {
      throw new S3Error("BadDigest", {
        message: `The ${algorithm} you specified did not match the calculated checksum.`,
      });
    }
    stored = { algorithm, value: actual };
  } else if (plan.computed !== undefined && checksum !== undefined) {
    stored = { algorithm: plan.computed, value: (await checksum.digest()).toString("base64") };
  }
  return { size, md5: md5Digest, ...(stored === undefined ? {} : { checksum: stored }) };
}
