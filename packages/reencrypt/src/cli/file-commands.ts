/**
 * The file commands of the `rekey` CLI: `encrypt`, `decrypt` and `inspect`. Input is a file,
 * stdin (`-` or omitted) or `s3://bucket/key`, output a file, stdout (`-` or omitted) or
 * `s3://bucket/key`; processing streams with memory bounded by the frame size (and one upload
 * part for S3). A failure is one line on stderr and a non-zero exit code, and never leaves a
 * partial output file or object (see `openAtomicOutput`, `openS3Output`).
 */
import type { Command } from "commander";
import {
  DEFAULT_FRAME_LENGTH,
  RekeyError,
  decryptStream,
  encryptStream,
  inspect,
  type KmsClientLike,
} from "@rekey/core";
import { buildKeyring, DEFAULT_RAW_KEY_NAME, type KeyringFlags } from "../file-tools/build-keyring.js";
import { FileError } from "../file-tools/errors.js";
import { HeadCapture } from "../file-tools/head-capture.js";
import { inspectSource } from "../file-tools/inspect-source.js";
import { parseContextArgs } from "../file-tools/parse-context.js";
import { transformFile } from "../file-tools/transform-file.js";
import { awsOptionsOf, collect, withAwsOptions, type AwsFlags } from "./util/aws-options.js";
import { CommandError } from "./util/command-error.js";
import { processContext, type CliContext } from "./util/context.js";
import { wantsJson, withOutputOptions, writeJson, writeLines, type OutputFlags } from "./util/output.js";
import { whileInterruptible } from "./util/interrupt.js";
import { renderInspection } from "./util/render-inspection.js";
import { UsageError, parseWholeNumber } from "./util/usage-error.js";

interface FileFlags extends AwsFlags, KeyringFlags {
  readonly output: string;
  readonly context: string[];
  readonly force?: boolean;
}

interface EncryptFlags extends FileFlags {
  readonly frameSize?: string;
  readonly signed?: boolean;
}

function where(path: string, to: "input" | "output"): string {
  return path === "-" ? (to === "input" ? "stdin" : "stdout") : path;
}

/** What the message names as its keys, for an error that says "not this key". */
function keysOf(head: Buffer): string {
  try {
    const entries = inspect(head).entries;
    return entries
      .map((e) =>
        e.type === "aws-kms" ? (e.keyArn ?? "aws-kms") : e.keyName ? `${e.type} "${e.keyName}"` : e.type,
      )
      .join(", ");
  } catch {
    return "";
  }
}

async function encryptAction(
  ctx: CliContext,
  input: string | undefined,
  flags: EncryptFlags,
  signal: AbortSignal,
): Promise<void> {
  // A message is binary: on a terminal it garbles the screen and can send it control sequences.
  if (flags.output === "-" && ctx.stdout.isTTY === true)
    throw new UsageError(
      "refusing to write an encrypted message (binary) to a terminal: pass -o FILE or redirect stdout",
    );
  const encryptionContext = parseContextArgs(flags.context);
  const frameLength =
    flags.frameSize === undefined
      ? undefined
      : parseWholeNumber(flags.frameSize, "--frame-size", 1, 16 * 1024 * 1024);
  const keyring = await buildKeyring(
    "encrypt",
    flags,
    () => ctx.kmsClient(awsOptionsOf(flags)) as KmsClientLike,
  );
  const source = input ?? "-";
  try {
    await transformFile({
      input: source,
      output: flags.output,
      transforms: [
        encryptStream({
          keyring,
          encryptionContext,
          ...(frameLength ? { frameLength } : {}),
          ...(flags.signed ? { signed: true } : {}),
        }),
      ],
      stdin: ctx.stdin,
      stdout: ctx.stdout,
      s3: () => ctx.s3Client(awsOptionsOf(flags)),
      signal,
      ...(flags.force ? { force: true } : {}),
    });
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new CommandError(
      `cannot encrypt ${where(source, "input")}: ${(e as Error).message}${causeOf(e)}`,
      e,
    );
  }
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause;
  if (!(e instanceof RekeyError) || !(cause instanceof Error) || !cause.message) return "";
  return e.message.includes(cause.message) ? "" : ` (${cause.message})`;
}

async function decryptAction(
  ctx: CliContext,
  input: string | undefined,
  flags: FileFlags,
  signal: AbortSignal,
): Promise<void> {
  const required = parseContextArgs(flags.context);
  const keyring = await buildKeyring(
    "decrypt",
    flags,
    () => ctx.kmsClient(awsOptionsOf(flags)) as KmsClientLike,
  );
  const source = input ?? "-";
  const head = new HeadCapture();
  try {
    await transformFile({
      input: source,
      output: flags.output,
      transforms: [head, decryptStream({ keyring, requiredEncryptionContext: required })],
      stdin: ctx.stdin,
      stdout: ctx.stdout,
      s3: () => ctx.s3Client(awsOptionsOf(flags)),
      // Plaintext: readable by its owner only.
      mode: 0o600,
      signal,
      ...(flags.force ? { force: true } : {}),
    });
  } catch (e) {
    if (e instanceof FileError) throw e;
    let message = `cannot decrypt ${where(source, "input")}: ${(e as Error).message}${causeOf(e)}`;
    if (e instanceof RekeyError && e.code === "ERR_NO_MATCHING_KEY") {
      const keys = keysOf(head.bytes());
      if (keys) message += `; the message is for: ${keys}`;
    }
    throw new CommandError(message, e);
  }
}

async function inspectAction(
  ctx: CliContext,
  input: string | undefined,
  flags: AwsFlags & OutputFlags,
): Promise<void> {
  const source = input ?? "-";
  let info;
  try {
    info = await inspectSource(source, { stdin: ctx.stdin, s3: () => ctx.s3Client(awsOptionsOf(flags)) });
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new CommandError(`${where(source, "input")}: ${(e as Error).message}`, e);
  }
  if (wantsJson(flags)) writeJson(ctx.stdout, info);
  else writeLines(ctx.stdout, renderInspection(info));
}

/** The one line of a file command stopped by Ctrl-C (its temporary file is already deleted). */
function interrupted(flags: FileFlags): string {
  return flags.output === "-" ? "interrupted" : `interrupted: nothing was written to ${flags.output}`;
}

function keyringOptions(command: Command, purpose: "encrypt" | "decrypt"): Command {
  command
    .option(
      "--key <key>",
      purpose === "encrypt"
        ? "KMS key to encrypt under: key id, key ARN, alias name or alias ARN"
        : "KMS key the message must be under (key id, ARN or alias)",
    )
    .option("--raw-key-file <file>", "raw AES-256 wrapping key: a file of 32 bytes or 64 hex characters")
    .option(
      "--raw-key-name <name>",
      `name of the raw key, recorded in the message (default: "${DEFAULT_RAW_KEY_NAME}")`,
    );
  if (purpose === "decrypt")
    command.option("--allow-key <arn>", "also accept entries under this key ARN; repeatable", collect, []);
  return command
    .option(
      "--context <key=value>",
      purpose === "encrypt"
        ? "encryption context pair; repeatable"
        : "encryption context pair the message must carry; repeatable",
      collect,
      [],
    )
    .option("-o, --output <file>", "output file, - for stdout, or s3://bucket/key", "-")
    .option("-f, --force", "replace the output file or object if it exists");
}

/**
 * Registers `encrypt`, `decrypt` and `inspect` on the program.
 *
 * @param ctx - Streams, exit code and AWS clients. @default the process's
 * @example
 * ```ts
 * registerFileCommands(program);
 * await program.parseAsync(["node", "rekey", "encrypt", "in.txt", "-o", "in.txt.rkey", "--key", "alias/app"]);
 * ```
 */
export function registerFileCommands(program: Command, ctx: CliContext = processContext()): void {
  withAwsOptions(
    keyringOptions(
      program
        .command("encrypt")
        .description("Encrypt a file, stdin or an S3 object into a rekey message")
        .argument("[input]", "file to encrypt, - for stdin, or s3://bucket/key", "-")
        .option("--frame-size <bytes>", `plaintext bytes per frame (default: ${DEFAULT_FRAME_LENGTH})`)
        .option(
          "--signed",
          "sign the message (ECDSA P-384, suite 2): a reader who can decrypt cannot forge one; a rewrap keeps the signature",
        ),
      "encrypt",
    ),
  ).action((input: string | undefined, flags: EncryptFlags) =>
    whileInterruptible(interrupted(flags), (signal) => encryptAction(ctx, input, flags, signal)),
  );

  withAwsOptions(
    keyringOptions(
      program
        .command("decrypt")
        .description("Decrypt a rekey message from a file, stdin or an S3 object")
        .argument("[input]", "file to decrypt, - for stdin, or s3://bucket/key", "-"),
      "decrypt",
    ),
  ).action((input: string | undefined, flags: FileFlags) =>
    whileInterruptible(interrupted(flags), (signal) => decryptAction(ctx, input, flags, signal)),
  );

  withOutputOptions(
    withAwsOptions(
      program
        .command("inspect")
        .description(
          "Show a message's header without decrypting: keys, material, context, algorithm, frame size",
        )
        .argument("[input]", "file, - for stdin, or s3://bucket/key (ranged read of the header only)", "-"),
    ),
    "one JSON document",
  ).action((input: string | undefined, flags: AwsFlags & OutputFlags) => inspectAction(ctx, input, flags));
}
