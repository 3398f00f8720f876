#!/usr/bin/env node
/** The `rekey` executable: runs the program and turns failures into one line and an exit code. */
// First: no AWS SDK client may be created before the SDK's version notice is switched off.
import "./sdk-notice.js";
import { CommanderError } from "commander";
import { flushed } from "../file-tools/flushed.js";
import { buildProgram } from "./main.js";
import { awsConfigProblem } from "./aws-config-errors.js";
import { commandPath } from "./usage-output.js";
import { exitAtOnceOnInterruptOutsideCommands } from "./util/interrupt.js";
import { EXIT_CODES, exitCodeOf } from "../errors.js";

/**
 * Exits once stdout and stderr have written everything: on a pipe, writes complete as the reader
 * makes room, and `process.exit()` would drop what is still queued (`rekey decrypt < x > y` short).
 */
async function exit(code: number | string): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** The profile the command line or the environment chose, for the credentials hint. */
function profileOf(argv: readonly string[]): string | undefined {
  const at = argv.findIndex((a) => a === "--profile" || a.startsWith("--profile="));
  if (at < 0) return process.env["AWS_PROFILE"] || undefined;
  const arg = argv[at]!;
  return arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[at + 1];
}

// Ctrl-C: commands handle it while they run (see util/interrupt.ts); anywhere else it exits 130.
exitAtOnceOnInterruptOutsideCommands();
// The reader of stdout went away (`rekey plan --help | head`): nothing more can be said there, so
// stop at once and quietly, as a second Ctrl-C does (temporary files are deleted on exit).
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(EXIT_CODES.brokenPipe);
  throw e;
});
const program = buildProgram();
program.parseAsync(process.argv).then(
  () => exit(process.exitCode ?? 0),
  (e: unknown) => {
    if (e instanceof CommanderError) return exit(e.exitCode);
    // No Region, no credentials, refused credentials: a code of their own and what to do.
    const problem = awsConfigProblem(e, profileOf(process.argv));
    if (problem !== undefined) {
      process.stderr.write(`rekey: ${problem.message} [${problem.code}]\n`);
      return exit(1);
    }
    // One line: the message, and the stable code when the error has one (e.g. ERR_JOB_SOURCE).
    const code = (e as { code?: unknown }).code;
    let suffix = typeof code === "string" && code.startsWith("ERR_") ? ` [${code}]` : "";
    if (code === "ERR_USAGE") suffix += ` (see '${commandPath(program, process.argv.slice(2))} --help')`;
    process.stderr.write(`rekey: ${e instanceof Error ? e.message : String(e)}${suffix}\n`);
    return exit(
      typeof process.exitCode === "number" && process.exitCode !== 0
        ? process.exitCode
        : exitCodeOf(typeof code === "string" ? code : undefined),
    );
  },
);
