#!/usr/bin/env node
/** The `rekey` executable: runs the program and turns failures into one line and an exit code. */
import { CommanderError } from "commander";
import { buildProgram } from "./main.js";

buildProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(process.exitCode ?? 0),
    (e: unknown) => {
      if (e instanceof CommanderError) process.exit(e.exitCode);
      // One line: the message, and the stable code when the error has one (e.g. ERR_JOB_SOURCE).
      const code = (e as { code?: unknown }).code;
      const suffix = typeof code === "string" && code.startsWith("ERR_") ? ` [${code}]` : "";
      process.stderr.write(`rekey: ${e instanceof Error ? e.message : String(e)}${suffix}\n`);
      process.exit(typeof process.exitCode === "number" && process.exitCode !== 0 ? process.exitCode : 1);
    },
  );
