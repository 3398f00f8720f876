/**
 * `pnpm bench`: every benchmark, each printing ratios against a baseline measured in the same run.
 */
import { run as core } from "./core.js";

console.log(`rekey benchmarks — node ${process.version}, ${process.platform}/${process.arch}`);
await core();
