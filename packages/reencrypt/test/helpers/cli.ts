/**
 * Running the `rekey` CLI in tests: in-process through `registerJobCommands` with a captured
 * context, or as a child process (`node --import tsx --conditions=rekey-source bin.ts`, one
 * process, so a SIGKILL really kills the job) pointed at the test endpoint by AWS_* variables.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import type { LocalAws } from "@rekey/localstack";
import { registerJobCommands } from "../../src/cli/job-commands.js";
import type { CliContext } from "../../src/cli/util/context.js";

/** The repository root (the child's working directory, where `tsx` resolves). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
/** The CLI entry point. */
export const BIN = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
/** The launcher users run (`pnpm exec rekey`, the installed `rekey`): `bin/rekey.js`. */
export const LAUNCHER = fileURLToPath(new URL("../../bin/rekey.js", import.meta.url));

/** What an in-process run printed and the exit code it set. */
export interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Runs `rekey <args>` in this process against the test backend; `clients` replaces its KMS or
 * S3 client factory (e.g. S3 on another server), given the options the command resolved.
 */
export async function runCliInProcess(
  aws: LocalAws,
  args: readonly string[],
  clients: Partial<Pick<CliContext, "kmsClient" | "s3Client">> = {},
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  let exitCode = 0;
  const ctx: CliContext = {
    stdin: new PassThrough(),
    stdout,
    stderr,
    setExitCode: (code) => {
      exitCode = code;
    },
    kmsClient: (o) => aws.createKmsClient({ ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}) }),
    s3Client: (o) => aws.createS3Client({ ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}) }),
    ...clients,
  };
  const program = new Command("rekey").exitOverride();
  registerJobCommands(program, ctx);
  try {
    await program.parseAsync(["node", "rekey", ...args]);
  } catch (e) {
    err.push(Buffer.from(`rekey: ${e instanceof Error ? e.message : String(e)}\n`));
    exitCode = 1;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exitCode };
}

/** The environment that points a child at the test backend (none: no AWS at all). */
export function childEnv(aws: LocalAws | undefined): NodeJS.ProcessEnv {
  if (aws === undefined) return { PATH: process.env["PATH"], HOME: process.env["HOME"] };
  return {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    // Keeps the SDK's Node version notice out of the child's stderr.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

/** A running child `rekey`. */
export interface CliChild {
  readonly process: ChildProcess;
  /** Lines of stdout so far. */
  readonly lines: string[];
  /** Lines of stderr so far. */
  readonly errLines: string[];
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** Resolves once a stdout line matches. */
  waitForLine(pattern: RegExp): Promise<void>;
  /** Resolves once `count` stdout lines match. */
  waitForLines(pattern: RegExp, count: number): Promise<void>;
  /** Resolves once a stderr line matches. */
  waitForErrLine(pattern: RegExp): Promise<void>;
}

/** How {@link spawnCli} starts the child. */
export interface SpawnCliOptions {
  /**
   * Run the launcher users run (`bin/rekey.js`) rather than `src/cli/bin.ts` through tsx.
   * @default false
   */
  readonly launcher?: boolean;
  /** The child's working directory. @default the repository root */
  readonly cwd?: string;
  /** A pipe the test writes to (`child.process.stdin`), or none. @default "ignore" */
  readonly stdin?: "pipe" | "ignore";
}

/** Splits a stream into lines, resolving waiters as lines match. */
function lineReader(stream: NodeJS.ReadableStream, lines: string[]) {
  const waiters: { pattern: RegExp; left: number; resolve: () => void }[] = [];
  let partial = "";
  stream.on("data", (c: Buffer) => {
    partial += c.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters])
        if (w.pattern.test(line) && --w.left === 0) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
    }
  });
  return (pattern: RegExp, count: number): Promise<void> => {
    const seen = lines.filter((l) => pattern.test(l)).length;
    return seen >= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ pattern, left: count - seen, resolve }));
  };
}

/** Starts `rekey <args>` as a child process, pointed at `aws` (none: no AWS variables). */
export function spawnCli(
  aws: LocalAws | undefined,
  args: readonly string[],
  options: SpawnCliOptions = {},
): CliChild {
  const entry = options.launcher ? [LAUNCHER] : ["--import", "tsx", "--conditions=rekey-source", BIN];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(aws),
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const errLines: string[] = [];
  const err: Buffer[] = [];
  // Both are pipes ("pipe" above).
  const waitForLines = lineReader(child.stdout!, lines);
  const waitForErrLines = lineReader(child.stderr!, errLines);
  child.stderr!.on("data", (c: Buffer) => err.push(c));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return {
    process: child,
    lines,
    errLines,
    stderr: () => Buffer.concat(err).toString(),
    exited,
    waitForLine: (pattern) => waitForLines(pattern, 1),
    waitForLines,
    waitForErrLine: (pattern) => waitForErrLines(pattern, 1),
  };
}
