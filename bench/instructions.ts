/**
 * `pnpm bench:instructions [core] [job]` (needs valgrind): instructions counted by callgrind, a
 * measure of work the machine's other work does not inflate, as it inflates time. Runs of the same
 * code still differ by several percent (see each part). `core`: rekey's small messages against
 * the format floor (`core-instructions.ts`, about 5 minutes); `job`: the re-encrypt job against
 * the bare loop (`job-instructions.ts`, about 8 minutes). Both without names.
 */
import { coreInstructions } from "./core-instructions.js";
import { jobInstructions } from "./job-instructions.js";

const parts: Record<string, () => Promise<void>> = { core: coreInstructions, job: jobInstructions };
const names = process.argv.slice(2);
const unknown = names.filter((n) => !(n in parts));
if (unknown.length > 0) {
  console.error(`unknown part ${unknown.join(", ")}; parts: ${Object.keys(parts).join(", ")}`);
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(parts)) {
  console.log(`## ${name}`);
  await (parts[name] as () => Promise<void>)();
}
