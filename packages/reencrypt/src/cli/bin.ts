#!/usr/bin/env node
/** The `rekey` executable: runs the program and turns failures into one line and an exit code. */
// First: no AWS SDK client may be created before the SDK's version notice is switched off.
import "./sdk-notice.js";
import { CommanderError } from "commander";
import { flushed } from "../file-tools/flushed.js";
import { buildProgram } from "./main.js";
import { commandPath } from "./usage-output.js";

/**
 * Exits once stdout and stderr have written everything: on a pipe, writes complete as the reader
 * makes room, and `process.exit()` would drop what is still queued (`rekey decrypt < x > y` short).
 */
async function exit(code: number | string): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

const program = buildProgram();
program.parseAsync(process.argv).then(
  () => exit(process.exitCode ?? 0),
  (e: unknown) => {
    if (e instanceof CommanderError) return exit(e.exitCode);
    // One line: the message, and the stable code when the error has one (e.g. ERR_JOB_SOURCE).
    const code = (e as { code?: unknown }).code;
    let suffix = typeof code === "string" && code.startsWith("ERR_") ? ` [${code}]` : "";
    if (code === "ERR_USAGE") suffix += ` (see '${commandPath(program, process.argv.slice(2))} --help')`;
    process.stderr.write(`rekey: ${e instanceof Error ? e.message : String(e)}${suffix}\n`);
    return exit(typeof process.exitCode === "number" && process.exitCode !== 0 ? process.exitCode : 1);
  },
);
