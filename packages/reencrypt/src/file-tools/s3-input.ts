/**
 * `openS3Input`: an S3 object as the input of `rekey encrypt | decrypt`, streamed — one
 * `GetObject` whose body is consumed as the transforms take it, so memory stays bounded whatever
 * the object's size.
 */
import type { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { FileError } from "./errors.js";
import { parseS3ObjectUrl, s3Reason } from "./s3-object-url.js";

/** An opened input: its bytes, and its size when known. */
export interface OpenedInput {
  readonly stream: Readable;
  readonly size?: number;
}

/**
 * Opens `s3://bucket/key` for streaming (the current version of the object).
 *
 * @throws FileError `ERR_USAGE` for a URL that names no object, `ERR_INPUT` when S3 refuses the
 * read (no such object or bucket, access denied, …).
 * @example
 * ```ts
 * const { stream } = await openS3Input("s3://data/report.pdf.rkey", s3);
 * await pipeline(stream, decryptStream({ keyring }), createWriteStream("report.pdf"));
 * ```
 */
export async function openS3Input(url: string, s3: S3Client): Promise<OpenedInput> {
  const { bucket, key } = parseS3ObjectUrl(url);
  let out;
  try {
    out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    throw new FileError("ERR_INPUT", `cannot read ${url}: ${s3Reason(e)}`, { cause: e });
  }
  // In Node the SDK's body is a Readable (an IncomingMessage with the SDK's helpers mixed in).
  const stream = out.Body as Readable | undefined;
  if (!stream) throw new FileError("ERR_INPUT", `cannot read ${url}: S3 answered no body`);
  return { stream, ...(out.ContentLength === undefined ? {} : { size: out.ContentLength }) };
}
