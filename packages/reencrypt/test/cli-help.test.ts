/**
 * Each job command's help lists the flags it uses, with typed defaults: `plan` shows no write,
 * checkpoint or `--strict` flag and no run exit codes; `rewrap` and `reencrypt` show them. The
 * help text is parsed as a user reads it (`--help` output), not the command objects.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./cli-keys-harness.js";

/** Each option of a help text: its long flag and the default the help shows (raw text). */
async function helpOptions(command: string): Promise<Map<string, string | undefined>> {
  const r = await runCli([command, "--help"]);
  expect(r.code).toBe(0);
  const from = r.stdout.indexOf("Options:");
  const rest = r.stdout.slice(from);
  const options = rest.slice(0, rest.search(/\n\n\S/));
  // An option starts a line with two spaces and a dash; its description may wrap.
  const entries = options.split(/\n(?= {2}-)/).slice(1);
  const out = new Map<string, string | undefined>();
  for (const entry of entries) {
    const flag = /--[a-z-]+/.exec(entry)?.[0];
    const text = entry.replace(/\s+/g, " ");
    const def = /\(default: ([^)]*)\)|choices: [^)]*default: ([^)]*)\)/.exec(text);
    if (flag) out.set(flag, def?.[1] ?? def?.[2]);
  }
  return out;
}

const RUN_ONLY = [
  "--writers-stopped",
  "--probe-prefix",
  "--max-key-failures",
  "--dry-run",
  "--checkpoint",
  "--fresh-checkpoint",
  "--strict",
];

describe("job commands' help", () => {
  it("plan lists only the flags plan uses", async () => {
    const plan = await helpOptions("plan");
    for (const flag of RUN_ONLY) expect(plan.has(flag), flag).toBe(false);
    for (const flag of ["--source", "--dir", "--include", "--exclude", "--target", "--concurrency", "--mode"])
      expect(plan.has(flag), flag).toBe(true);
    const text = (await runCli(["plan", "--help"])).stdout;
    expect(text).not.toMatch(/^\s+[2-5]\s/m); // no run exit codes
    expect(text).not.toContain("--include-current");
  });

  it("rewrap and reencrypt list the run flags; only reencrypt has --include-current, only plan --mode", async () => {
    const rewrap = await helpOptions("rewrap");
    const reencrypt = await helpOptions("reencrypt");
    for (const flag of RUN_ONLY) {
      expect(rewrap.has(flag), `rewrap ${flag}`).toBe(true);
      expect(reencrypt.has(flag), `reencrypt ${flag}`).toBe(true);
    }
    expect(reencrypt.has("--include-current")).toBe(true);
    expect(rewrap.has("--include-current")).toBe(false);
    expect(rewrap.has("--mode")).toBe(false);
    const text = (await runCli(["rewrap", "--help"])).stdout;
    expect(text).toMatch(/^\s+4\s+the store does not honour conditional writes/m);
  });

  it("numeric defaults are numbers, text defaults quoted strings", async () => {
    for (const command of ["plan", "rewrap", "reencrypt"]) {
      const options = await helpOptions(command);
      expect(options.get("--concurrency"), command).toBe("16");
      expect(options.get("--kms-rps"), command).toBe("1000");
      expect(options.get("--target"), command).toBe('"current"');
      expect(options.get("--verify"), command).toBe('"etag"');
      for (const [flag, def] of options)
        if (def !== undefined) expect(def, `${command} ${flag}`).not.toMatch(/^"\d+"$/);
    }
  });
});
