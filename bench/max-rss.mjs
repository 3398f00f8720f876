// @ts-check
/**
 * Preloaded into a process (`node --import ./bench/max-rss.mjs …`): on exit, writes the
 * process's peak resident set size in KiB (`process.resourceUsage().maxRSS`) to the file named
 * by REKEY_BENCH_RSS_FILE.
 */
import { writeFileSync } from "node:fs";

process.on("exit", () => {
  const file = process.env.REKEY_BENCH_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
