/**
 * `inspectSource`: the header of a message in a file, on stdin, or in S3 — read without any KMS
 * call and without reading past the header. For S3 that is a ranged GET of `bytes=0-4095`,
 * grown only when the parser needs more (each further range conditional on the first ETag).
 */
import type { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { inspect, inspectStream, type Inspection } from "@rekey/core";
import { completePrefix, DEFAULT_HEADER_READ_BYTES } from "../planning/read-prefix.js";
import { FileError } from "./errors.js";
import { isS3Url, parseS3ObjectUrl, s3Reason } from "./s3-object-url.js";
import { openInput } from "./transform-file.js";

/** What {@link inspectSource} returns: the inspection without the parsed binary prefix. */
export interface SourceInspection extends Omit<Inspection, "prefix"> {
  /** The file, `-`, or `s3://bucket/key`. */
  readonly source: string;
  /** Size of the whole object or file, when known. */
  readonly size?: number;
}

/** Options of {@link inspectSource}. */
export interface InspectSourceOptions {
  readonly stdin: Readable;
  /** Called only for an `s3://` source. */
  readonly s3: () => S3Client;
  /** First ranged read. @default 4096 */
  readonly firstReadBytes?: number;
}

function strip(source: string, i: Inspection, size?: number): SourceInspection {
  const { prefix: _prefix, ...rest } = i;
  return { source, ...(size === undefined ? {} : { size }), ...rest };
}

async function inspectS3(url: string, options: InspectSourceOptions): Promise<SourceInspection> {
  const { bucket, key } = parseS3ObjectUrl(url);
  const s3 = options.s3();
  const get = async (range: string, ifMatch?: string) => {
    try {
      const out = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          Range: range,
          ...(ifMatch ? { IfMatch: ifMatch } : {}),
        }),
      );
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { out, bytes };
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 416 || (e as { name?: string }).name === "InvalidRange")
        throw new FileError("ERR_INPUT", `${url}: the object is empty`);
      throw new FileError("ERR_INPUT", `cannot read ${url}: ${s3Reason(e)}`, { cause: e });
    }
  };
  const first = await get(`bytes=0-${(options.firstReadBytes ?? DEFAULT_HEADER_READ_BYTES) - 1}`);
  const total = /\/(\d+)$/.exec(first.out.ContentRange ?? "")?.[1];
  const size = total === undefined ? (first.out.ContentLength ?? first.bytes.length) : Number(total);
  const etag = first.out.ETag;
  const read = await completePrefix(first.bytes, size, async (start, end) => {
    return (await get(`bytes=${start}-${end - 1}`, etag)).bytes;
  });
  if (read.kind === "esdk")
    throw new FileError(
      "ERR_INPUT",
      `${url}: an AWS Encryption SDK message (suite ${read.header.suite.name}), not a rekey message`,
    );
  if (read.kind !== "ok") throw new FileError("ERR_INPUT", `${url}: ${read.reason}`);
  return strip(url, inspect(read.bytes), size);
}

/**
 * Inspects a file, stdin (`-`) or an `s3://bucket/key` object.
 *
 * @throws FileError `ERR_INPUT` / `ERR_USAGE`; core's `FormatError` for bytes that are not a message.
 * @example
 * ```ts
 * const info = await inspectSource("s3://data/report.pdf.rkey", { stdin: process.stdin, s3: () => s3 });
 * console.log(info.entries[0]?.keyArn, info.entries[0]?.keyMaterialId);
 * ```
 */
export async function inspectSource(
  source: string,
  options: InspectSourceOptions,
): Promise<SourceInspection> {
  if (isS3Url(source)) return inspectS3(source, options);
  const { stream, size } = await openInput(source, options.stdin);
  return strip(source, await inspectStream(stream), size);
}
