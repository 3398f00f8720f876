/**
 * The `rekey` command line. Each area registers its own commands: the re-encrypt job
 * (`plan`, `rewrap`, `reencrypt`), key tooling (`keys`, `alias`, `terraform-check`) and file
 * commands (`encrypt`, `decrypt`, `inspect`).
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { registerJobCommands } from "./job-commands.js";
import { registerKeyCommands } from "./key-commands.js";
import { registerFileCommands } from "./file-commands.js";
import { oneLineUsageErrors } from "./usage-output.js";
import { registerReportCommands } from "./report-commands.js";
import { registerBatchOpsCommands } from "./batch-ops-commands.js";

// The package's version: `package.json` is two levels up from both `src/cli` and `dist/cli`.
const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

/**
 * Builds the `rekey` program (exported so tests can run it in-process).
 *
 * @example
 * ```ts
 * await buildProgram().parseAsync(["node", "rekey", "plan", "--source", "s3://data/"]);
 * ```
 */
export function buildProgram(): Command {
  const program = new Command("rekey")
    .description("Envelope encryption on AWS KMS whose data follows key rotation.")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride();
  registerJobCommands(program);
  registerKeyCommands(program);
  registerFileCommands(program);
  registerReportCommands(program);
  registerBatchOpsCommands(program);
  oneLineUsageErrors(program);
  return program;
}
