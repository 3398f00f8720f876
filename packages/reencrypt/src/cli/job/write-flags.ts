/**
 * The flags of every command that runs the job and writes (`rewrap`, `reencrypt`, `alias
 * cutover`): how large objects are written (multipart settings) and how the job treats the
 * store (probe prefix, stores that ignore conditional writes) and keys that fail every object.
 * Defined once so each command takes the same flags with the same meaning.
 */
import type { Command } from "commander";
import { JOB_DEFAULTS } from "../../runner/job-context.js";
import type { JobOptions } from "../../runner/job-options.js";
import { DEFAULT_PROBE_PREFIX } from "../../stores/s3/probe-store.js";
import { DEFAULT_MAX_KEY_FAILURES } from "../../runner/key-failures.js";
import { formatBytes, parseSize } from "./parse-size.js";
import { parseWholeNumber } from "../util/usage-error.js";

/** The multipart flags, as commander parses them. */
export interface MultipartFlags {
  readonly multipartThreshold?: string;
  readonly copyPartSize?: string;
  readonly uploadPartSize?: string;
}

/** The write-safety flags, as commander parses them. */
export interface WriteSafetyFlags extends MultipartFlags {
  readonly writersStopped?: boolean;
  readonly probePrefix?: string;
  readonly maxKeyFailures?: string;
}

/**
 * Adds `--multipart-threshold`, `--copy-part-size` and `--upload-part-size` (their defaults are
 * the job's, shown in the help).
 *
 * @example
 * ```ts
 * withMultipartFlags(program.command("plan"));
 * ```
 */
export function withMultipartFlags(command: Command): Command {
  return command
    .option(
      "--multipart-threshold <size>",
      `objects above this are rewritten by multipart upload, the payload copied server-side (> 5MiB; default ${formatBytes(JOB_DEFAULTS.multipartThreshold)})`,
    )
    .option(
      "--copy-part-size <size>",
      `size of each server-side copied part (5MiB–5GiB; default ${formatBytes(JOB_DEFAULTS.copyPartBytes)})`,
    )
    .option(
      "--upload-part-size <size>",
      `part size of streamed uploads: full re-encrypt, and large rewraps on a store without UploadPartCopy (≥ 5MiB; default ${formatBytes(JOB_DEFAULTS.uploadPartBytes)})`,
    );
}

/**
 * Adds the multipart flags and `--writers-stopped`, `--probe-prefix`, `--max-key-failures`.
 *
 * @example
 * ```ts
 * withWriteFlags(program.command("rewrap"));
 * ```
 */
export function withWriteFlags(command: Command): Command {
  return withMultipartFlags(command)
    .option(
      "--writers-stopped",
      "write to a store that ignores conditional writes (If-Match), because every other writer of these objects is stopped: each object is read again right before its write and read back after it",
    )
    .option(
      "--probe-prefix <prefix>",
      `where the store probe writes and deletes its scratch objects in each bucket (default ${DEFAULT_PROBE_PREFIX})`,
    )
    .option(
      "--max-key-failures <n>",
      `stop when this many objects in a row under the same keys fail with the same permanent KMS error (disabled, pending deletion, not found, access denied); 0: never (default ${DEFAULT_MAX_KEY_FAILURES})`,
    );
}

/**
 * The job options of the flags that were given (the job's defaults for the rest).
 *
 * @throws UsageError for a malformed size or number.
 * @example
 * ```ts
 * writeOptionsOf({ multipartThreshold: "64MiB", writersStopped: true });
 * // { multipartThreshold: 67108864, writersStopped: true }
 * ```
 */
export function writeOptionsOf(flags: WriteSafetyFlags): Partial<JobOptions> {
  return {
    ...(flags.multipartThreshold !== undefined
      ? { multipartThreshold: parseSize(flags.multipartThreshold, "--multipart-threshold") }
      : {}),
    ...(flags.copyPartSize !== undefined
      ? { copyPartBytes: parseSize(flags.copyPartSize, "--copy-part-size") }
      : {}),
    ...(flags.uploadPartSize !== undefined
      ? { uploadPartBytes: parseSize(flags.uploadPartSize, "--upload-part-size") }
      : {}),
    ...(flags.writersStopped ? { writersStopped: true } : {}),
    ...(flags.probePrefix !== undefined ? { probePrefix: flags.probePrefix } : {}),
    ...(flags.maxKeyFailures !== undefined
      ? { maxKeyFailures: parseWholeNumber(flags.maxKeyFailures, "--max-key-failures", 0, 1_000_000) }
      : {}),
  };
}
