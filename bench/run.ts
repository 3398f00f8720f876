/**
 * `pnpm bench`: every benchmark, each printing ratios against a baseline measured in the same run.
 * `REKEY_BENCH_ONLY=core|reencrypt` runs one of them.
 */
import { run as core } from "./core.js";
import { run as reencrypt } from "./reencrypt.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const only = process.env.REKEY_BENCH_ONLY;
if (only !== undefined && only !== "core" && only !== "reencrypt") {
  console.error(`REKEY_BENCH_ONLY takes core or reencrypt, not "${only}"`);
  process.exit(2);
}
console.log(`rekey benchmarks — node ${process.version}, ${process.platform}/${process.arch}`);
if (only !== "reencrypt") await core();
if (only !== "core") await reencrypt();
