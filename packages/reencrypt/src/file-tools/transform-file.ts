/**
 * Streams a file, stdin or an S3 object through transforms into an output — a file, stdout or
 * an S3 object — that is never left half written: see {@link openAtomicOutput} and
 * {@link openS3Output}. The input is opened before the output so a missing input fails without
 * creating anything.
 */
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import { openAtomicOutput, type AtomicOutput } from "./atomic-output.js";
import { FileError, ioReason } from "./errors.js";
import { openS3Input, type OpenedInput } from "./s3-input.js";
import { isS3Url } from "./s3-object-url.js";
import { openS3Output } from "./s3-output.js";

/** Options of {@link transformFile}. */
export interface TransformFileOptions {
  /** Input path, `-` for stdin, or `s3://bucket/key`. */
  readonly input: string;
  /** Output path, `-` for stdout, or `s3://bucket/key`. */
  readonly output: string;
  /** Applied in order (e.g. `encryptStream(...)`). */
  readonly transforms: readonly Transform[];
  readonly stdin: Readable;
  readonly stdout: Writable;
  /** Replace an existing output file or object. @default false */
  readonly force?: boolean;
  /** Mode of a new output file. @default 0o666 less the umask */
  readonly mode?: number;
  /** The S3 client, called only for an `s3://` input or output. */
  readonly s3?: () => S3Client;
  /** Aborts the streams (Ctrl-C): the output file is not written, its temporary file deleted. @default none */
  readonly signal?: AbortSignal;
}

/**
 * Opens an input file for streaming.
 *
 * @throws FileError `ERR_INPUT` when it cannot be read or is a directory.
 */
export async function openInput(path: string, stdin: Readable): Promise<OpenedInput> {
  if (path === "-") return { stream: stdin };
  let handle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    throw new FileError("ERR_INPUT", `cannot read ${path}: ${ioReason(e)}`, { cause: e });
  }
  const st = await handle.stat();
  if (st.isDirectory()) {
    await handle.close();
    throw new FileError("ERR_INPUT", `cannot read ${path}: is a directory`);
  }
  return { stream: handle.createReadStream(), size: st.size };
}

function sameTarget(input: string, output: string): boolean {
  if (input === "-" || output === "-") return false;
  if (isS3Url(input) || isS3Url(output)) return input === output;
  return resolve(input) === resolve(output);
}

function s3Of(options: TransformFileOptions): S3Client {
  if (!options.s3) throw new FileError("ERR_USAGE", "s3:// needs an S3 client");
  return options.s3();
}

/**
 * Runs input → transforms → output; the output file appears only on success.
 *
 * @throws FileError for input/output problems, or whatever a transform fails with.
 * @example
 * ```ts
 * await transformFile({ input: "a.pdf", output: "a.pdf.rkey", transforms: [encryptStream({ keyring })],
 *   stdin: process.stdin, stdout: process.stdout });
 * ```
 */
export async function transformFile(options: TransformFileOptions): Promise<void> {
  if (sameTarget(options.input, options.output)) {
    throw new FileError(
      "ERR_USAGE",
      `the input and the output are the same ${isS3Url(options.input) ? "object" : "file"}`,
    );
  }
  const { stream: input, size } = isS3Url(options.input)
    ? await openS3Input(options.input, s3Of(options))
    : await openInput(options.input, options.stdin);
  let output: AtomicOutput;
  try {
    output = isS3Url(options.output)
      ? await openS3Output(options.output, {
          s3: s3Of(options),
          ...(size === undefined ? {} : { expectedBytes: size }),
          ...(options.force ? { force: true } : {}),
        })
      : await openAtomicOutput(options.output, {
          stdout: options.stdout,
          ...(options.force ? { force: true } : {}),
          ...(options.mode === undefined ? {} : { mode: options.mode }),
        });
  } catch (e) {
    input.destroy();
    throw e;
  }
  try {
    // stdout is shared with the rest of the program: never end it.
    await pipeline([input, ...options.transforms, output.stream], {
      end: options.output !== "-",
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await output.commit();
  } catch (e) {
    await output.abort();
    throw e;
  }
}
