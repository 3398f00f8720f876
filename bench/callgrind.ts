/**
 * Counting instructions with callgrind (valgrind): a measure the machine's other work does not
 * inflate, as it inflates time. Used by `pnpm bench:instructions`.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Node flags for a count that does not depend on timing: no background compiler or collector
 * threads (their work, counted too, would depend on timing), and V8's predictable mode with fixed
 * hash and random seeds (the same hash tables and the same collections on every run).
 */
const COUNTING_NODE_FLAGS = ["--single-threaded", "--predictable", "--hash-seed=1", "--random-seed=1"];

/**
 * Runs `node <COUNTING_NODE_FLAGS> <execArgv> <script> <args>` under `valgrind --tool=callgrind`
 * and returns the instructions it executed (all threads).
 */
function callgrindInstructions(script: string, args: readonly string[]): Promise<number> {
  const argv = [
    "--tool=callgrind",
    "--smc-check=all-non-file",
    "--callgrind-out-file=/dev/null",
    process.execPath,
    ...COUNTING_NODE_FLAGS,
    ...process.execArgv,
    script,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn("valgrind", argv, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "ENOENT" ? new Error("valgrind is not installed (Debian: apt-get install valgrind)") : e,
      ),
    );
    p.on("exit", (code) => {
      const m = /Collected : (\d+)/.exec(err);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`valgrind ${args.join(" ")} exited ${code}:\n${err.slice(-2000)}`));
    });
  });
}

/**
 * The instructions a longer run of `script` executes beyond a shorter one (`more` and `fewer`: its
 * arguments for each), both counted at once: the setup and warm-up both runs share cancel out.
 */
export async function extraInstructions(
  script: string,
  fewer: readonly string[],
  more: readonly string[],
): Promise<number> {
  const [base, longer] = await Promise.all([
    callgrindInstructions(script, fewer),
    callgrindInstructions(script, more),
  ]);
  return longer - base;
}

/** True when the module at `url` is the script node was started with, not one it imported. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1]);
}
