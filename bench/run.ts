/**
 * `pnpm bench [section …] [--write]`: the benchmarks, each printing its figures next to a baseline
 * measured in the same run. With section names, only those run (`pnpm bench small`, `pnpm bench
 * core`); `--write` (every section, full size) also writes BENCHMARKS.md from this run, with the
 * command at its top.
 */
import { cpus } from "node:os";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { coreSections } from "./core.js";
import { reencryptSections } from "./reencrypt.js";
import { pgSections } from "./pg.js";
import { Report } from "./lib.js";
import { CORRECTIONS, INTRODUCTION } from "./prose.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const sections: Record<string, (report: Report) => Promise<void>> = { ...coreSections, ...reencryptSections };
// Run only when named (`pnpm bench pg`): they need more than Node (a PostgreSQL server), and their
// figures live in BENCHMARKS.md's hand-kept part, which `--write` keeps as it is.
const namedOnly: Record<string, (report: Report) => Promise<void>> = { ...pgSections };
const groups: Record<string, readonly string[]> = {
  core: Object.keys(coreSections),
  reencrypt: Object.keys(reencryptSections),
};

const args = process.argv.slice(2);
const write = args.includes("--write");
const names = args.filter((a) => a !== "--write");
const chosen = names.length === 0 ? Object.keys(sections) : names.flatMap((n) => groups[n] ?? [n]);
const unknown = chosen.filter((n) => !(n in sections) && !(n in namedOnly));
if (unknown.length > 0) {
  console.error(
    `unknown section ${unknown.join(", ")}; sections: ${[...Object.keys(sections), ...Object.keys(namedOnly)].join(", ")}; groups: core, reencrypt`,
  );
  process.exit(2);
}
const quick = process.env.REKEY_BENCH_QUICK === "1";
if (write && (names.length > 0 || quick)) {
  console.error("--write takes a full run of every section: no section names, no REKEY_BENCH_QUICK");
  process.exit(2);
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown CPU"}, node ${process.version}, ${process.platform}/${process.arch}`;
console.log(`rekey benchmarks — ${machine}`);
const report = new Report();
for (const name of chosen)
  await ((sections[name] ?? namedOnly[name]) as (r: Report) => Promise<void>)(report);

if (write) {
  const path = fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url));
  // Sections measured by other scripts (bench/scale.ts) are not this run's: kept as they are.
  const kept = /<!-- other scripts -->[\s\S]*?<!-- \/other scripts -->\n/.exec(
    existsSync(path) ? readFileSync(path, "utf8") : "",
  );
  const command = `pnpm bench ${args.join(" ")}`.trim();
  writeFileSync(
    path,
    [
      "# Benchmarks",
      "",
      `Written by \`${command}\` from one run on ${new Date().toISOString().slice(0, 10)}: ${machine}.`,
      "Do not edit by hand; run the command again.",
      "",
      INTRODUCTION,
      "",
      report.markdown(),
      ...(kept ? [kept[0]] : []),
      CORRECTIONS,
      "",
    ].join("\n"),
  );
  console.log(`\nwrote BENCHMARKS.md`);
}
