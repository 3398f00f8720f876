/**
 * Streams a file (or stdin) through transforms into an output (or stdout) that is never left
 * half written: see {@link openAtomicOutput}. The input is opened before the output so a missing
 * input fails without creating anything.
 */
import { open } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { openAtomicOutput } from "./atomic-output.js";
import { FileError, ioReason } from "./errors.js";

/** Options of {@link transformFile}. */
export interface TransformFileOptions {
  /** Input path, or `-` for stdin. */
  readonly input: string;
  /** Output path, or `-` for stdout. */
  readonly output: string;
  /** Applied in order (e.g. `encryptStream(...)`). */
  readonly transforms: readonly Transform[];
  readonly stdin: Readable;
  readonly stdout: Writable;
  /** Replace an existing output file. @default false */
  readonly force?: boolean;
  /** Mode of a new output file. @default 0o666 less the umask */
  readonly mode?: number;
}

/**
 * Opens an input file for streaming.
 *
 * @throws FileError `ERR_INPUT` when it cannot be read or is a directory.
 */
export async function openInput(path: string, stdin: Readable): Promise<{ stream: Readable; size?: number }> {
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
  if (options.input !== "-" && options.output !== "-" && resolve(options.input) === resolve(options.output)) {
    throw new FileError("ERR_USAGE", "the input and the output are the same file");
  }
  const { stream: input } = await openInput(options.input, options.stdin);
  let output;
  try {
    output = await openAtomicOutput(options.output, {
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
    await pipeline([input, ...options.transforms, output.stream], { end: options.output !== "-" });
    await output.commit();
  } catch (e) {
    await output.abort();
    throw e;
  }
}
