/**
 * Runs `rekey` commands for the CLI tests: in-process (the key and file commands registered on a
 * fresh program, with captured streams and the adapter's clients), or as the real executable in
 * a child process (to prove the one-line error and exit code of `bin.ts`).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Readable, Writable } from "node:stream";
import { Command, CommanderError } from "commander";
import type { LocalAws } from "@rekey/localstack";
import { registerFileCommands } from "../src/cli/file-commands.js";
import { registerKeyCommands } from "../src/cli/key-commands.js";
import { registerJobCommands } from "../src/cli/job-commands.js";
import type { CliContext } from "../src/cli/util/context.js";

/** What a run printed and how it ended. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout as bytes (decrypt output). */
  readonly stdoutBytes: Buffer;
  /**
   * stdout and stderr interleaved in the order they were written (what a terminal shows); for a
   * child process, in the order they were received.
   */
  readonly transcript: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Clients come from here; without it, any AWS call fails. */
  readonly aws?: LocalAws;
  readonly stdin?: Buffer | string;
  /** Pretend stdout and stderr are terminals. @default false */
  readonly tty?: boolean;
  /** Pretend stdin is a terminal (a confirmation is asked there; `stdin` holds the answer). @default false */
  readonly stdinTty?: boolean;
  /** SDK attempts of the KMS client (1 to see injected faults). @default the SDK's */
  readonly maxAttempts?: number;
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  constructor(
    readonly isTTY: boolean,
    private readonly transcript: Buffer[],
  ) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    this.transcript.push(Buffer.from(chunk));
    cb();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A {@link CliContext} whose output is captured, for commands (or their parts) run in-process. */
export interface CapturedContext {
  readonly ctx: CliContext;
  /** The exit code set so far (undefined: none). */
  exitCode(): number | undefined;
  /** What was printed, as {@link runCli} returns it. */
  result(code: number): CliRun;
}

/**
 * A context with captured streams and the adapter's clients.
 *
 * @example
 * ```ts
 * const { ctx, result } = capturedContext({ aws });
 * await runCutoverRewrap(ctx, { ... });
 * expect(result(0).stdout).toContain("No object");
 * ```
 */
export function capturedContext(options: RunCliOptions = {}): CapturedContext {
  const transcript: Buffer[] = [];
  const stdout = new Collector(options.tty ?? false, transcript);
  const stderr = new Collector(options.tty ?? false, transcript);
  let exitCode: number | undefined;
  const aws = options.aws;
  const noAws = () => {
    throw new Error("this test gave the CLI no AWS endpoint");
  };
  const stdin = options.stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(options.stdin)]);
  if (options.stdinTty) Object.defineProperty(stdin, "isTTY", { value: true });
  const ctx: CliContext = {
    stdin,
    stdout,
    stderr,
    setExitCode: (c) => {
      exitCode = c;
    },
    kmsClient: (o) =>
      aws
        ? options.maxAttempts || o.maxAttempts
          ? aws.createKmsClient({ maxAttempts: options.maxAttempts ?? o.maxAttempts ?? 3 })
          : aws.kms
        : noAws(),
    s3Client: (o) =>
      aws ? (o.maxAttempts ? aws.createS3Client({ maxAttempts: o.maxAttempts }) : aws.s3) : noAws(),
  };
  return {
    ctx,
    exitCode: () => exitCode,
    result: (code) => ({
      code,
      stdout: stdout.bytes().toString("utf8"),
      stderr: stderr.bytes().toString("utf8"),
      stdoutBytes: stdout.bytes(),
      transcript: Buffer.concat(transcript).toString("utf8"),
    }),
  };
}

/**
 * Runs one command line in-process, formatting a failure as `bin.ts` does.
 *
 * @example
 * ```ts
 * const r = await runCli(["keys", "audit", "--json"], { aws });
 * expect(r.code).toBe(2);
 * ```
 */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const captured = capturedContext(options);
  const { ctx } = captured;
  let exitCode: number | undefined;
  const program = new Command("rekey")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
  registerJobCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerFileCommands(program, ctx);
  try {
    await program.parseAsync(["node", "rekey", ...args]);
  } catch (e) {
    if (e instanceof CommanderError) exitCode = e.exitCode;
    else {
      const code = (e as { code?: unknown }).code;
      const suffix = typeof code === "string" && code.startsWith("ERR_") ? ` [${code}]` : "";
      ctx.stderr.write(`rekey: ${e instanceof Error ? e.message : String(e)}${suffix}\n`);
      const set = captured.exitCode();
      exitCode = set !== undefined && set !== 0 ? set : 1;
    }
  }
  return captured.result(exitCode ?? captured.exitCode() ?? 0);
}

/** The repository root (the executable runs from there so `tsx` resolves). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Environment pointing the real executable at a test backend. */
export function cliEnv(aws: LocalAws): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"], HOME: process.env["HOME"] };
  env["AWS_ENDPOINT_URL"] = aws.endpoint;
  env["AWS_REGION"] = aws.region;
  env["AWS_ACCESS_KEY_ID"] = aws.credentials.accessKeyId;
  env["AWS_SECRET_ACCESS_KEY"] = aws.credentials.secretAccessKey;
  env["NODE_NO_WARNINGS"] = "1";
  return env;
}

/**
 * Runs the real executable (`bin.ts` through tsx) in a child process.
 *
 * @example
 * ```ts
 * const r = await spawnCli(["encrypt", "--key", keyArn], { env: cliEnv(aws), stdin: data });
 * ```
 */
export function spawnCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: Buffer | Readable; cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=rekey-source", "packages/reencrypt/src/cli/bin.ts", ...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: options.env ?? { PATH: process.env["PATH"], NODE_NO_WARNINGS: "1" },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const both: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => (out.push(c), both.push(c)));
    child.stderr.on("data", (c: Buffer) => (err.push(c), both.push(c)));
    child.on("error", reject);
    child.on("close", (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        stdout: stdoutBytes.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes,
        transcript: Buffer.concat(both).toString("utf8"),
      });
    });
    // A child that fails early stops reading its input: EPIPE on our side is expected then.
    child.stdin.on("error", () => {});
    const stdin = options.stdin;
    if (stdin instanceof Readable) stdin.pipe(child.stdin);
    else child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

/** The lines of a text, without the trailing newline. */
export function lines(text: string): string[] {
  const t = text.trimEnd();
  return t === "" ? [] : t.split("\n");
}

/**
 * Delivers SIGINT to the handlers a command registered since `before` was taken (and to no
 * other: the test runner's own handlers are left alone), as Ctrl-C would.
 *
 * @example
 * ```ts
 * const before = new Set(process.listeners("SIGINT"));
 * const run = runCli(["keys", "rotate", "alias/app"], { aws });
 * interruptSince(before);
 * ```
 */
export function interruptSince(before: ReadonlySet<NodeJS.SignalsListener>): void {
  for (const l of process.listeners("SIGINT")) if (!before.has(l)) l("SIGINT");
}
