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
      process.stderr.write(`rekey: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(typeof process.exitCode === "number" && process.exitCode !== 0 ? process.exitCode : 1);
    },
  );
