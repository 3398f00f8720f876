/** Commands of this area of the `rekey` CLI. */
import type { Command } from "commander";

/** Registers this area's commands on the program. */
export function registerKeyCommands(_program: Command): void {}
