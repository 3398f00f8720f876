/** Commands of this area of the `rekey` CLI. */
import type { Command } from "commander";

/** Registers this area's commands on the program. */
export function registerJobCommands(_program: Command): void {}
