/**
 * The output rule of every command: text by default wherever stdout goes, JSON with
 * `--output json` (or `--json`); no file in the current folder unless `--report` names one; help
 * shows typed defaults and the rule. No network: the job runs over a local directory.
 */
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { LocalAws } from "@rekey/localstack";
import type { Command } from "commander";
import { lines, runCli } from "./cli-keys-harness.js";
import { buildProgram } from "../src/cli/main.js";

const plan = fileURLToPath(new URL("./fixtures/terraform/plan-findings.json", import.meta.url));

/** Clients that reach nothing: a job over plain local files never calls KMS. */
const deadAws = {
  createKmsClient: () =>
    new KMSClient({
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    }),
  createS3Client: () =>
    new S3Client({
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
    }),
} as unknown as LocalAws;

describe("--output", () => {
  it("is text by default even when stdout is not a terminal", async () => {
    const r = await runCli(["terraform-check", plan]);
    expect(r.code).toBe(2);
    expect(() => JSON.parse(r.stdout) as unknown).toThrow();
    expect(r.stdout).toContain("aws_kms_key.no_rotation");
  });

  it("--output json and --json print the same single JSON document", async () => {
    const a = await runCli(["terraform-check", plan, "--output", "json"]);
    const b = await runCli(["terraform-check", plan, "--json"]);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    expect((JSON.parse(a.stdout) as { findings: unknown[] }).findings).toHaveLength(4);
  });

  it("--output takes json or text only", async () => {
    const r = await runCli(["terraform-check", plan, "--output", "yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/argument 'yaml' is invalid\. Allowed choices are json, text/);
  });

  it("is on every command (encrypt and decrypt excepted: their -o/--output names the file)", () => {
    const leaves: Command[] = [];
    const walk = (c: Command): void => {
      if (c.commands.length === 0) leaves.push(c);
      c.commands.forEach(walk);
    };
    walk(buildProgram());
    const path = (c: Command): string => (c.parent ? `${path(c.parent)} ${c.name()}` : c.name());
    const checked = leaves.filter((c) => !["encrypt", "decrypt"].includes(c.name()));
    expect(checked.length).toBeGreaterThan(10);
    for (const c of checked) {
      const flags = c.options.map((o) => o.long);
      expect(flags, path(c)).toEqual(expect.arrayContaining(["--output", "--json"]));
      const output = c.options.find((o) => o.long === "--output")!;
      expect(output.argChoices, path(c)).toEqual(["json", "text"]);
      expect(output.defaultValue, path(c)).toBe("text");
    }
  });

  it("every command's help states the rule", async () => {
    for (const command of [
      ["plan"],
      ["inspect"],
      ["keys", "audit"],
      ["keys", "create"],
      ["alias", "cutover"],
    ]) {
      const r = await runCli([...command, "--help"]);
      expect(r.stdout, command.join(" ")).toMatch(/--output <format>\s+json\s+or\s+text/);
      expect(r.stdout, command.join(" ")).toContain("Output: text by default");
    }
  });
});

describe("the job's report", () => {
  it("is written only where --report says; --output json prints events then the report as JSON lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rekey-output-"));
    await writeFile(join(dir, "plain.txt"), "not a rekey message");
    const cwdBefore = await readdir(process.cwd());
    const r = await runCli(["plan", "--dir", dir, "--output", "json"], { aws: deadAws });
    expect(await readdir(process.cwd())).toEqual(cwdBefore);
    const events = lines(r.stdout).map((l) => JSON.parse(l) as { event: string; reportPath?: string });
    expect(events[0]!.event).toBe("target");
    expect(events.at(-1)!.event).toBe("report");
    expect(events.at(-1)!.reportPath).toBeUndefined();

    const report = join(dir, "plan.json");
    const text = await runCli(["plan", "--dir", dir, "--report", report], { aws: deadAws });
    expect(text.stdout).toContain(`Report: ${report}`);
    expect(JSON.parse(await readFile(report, "utf8"))).toMatchObject({ kind: "plan" });
    expect(await readdir(process.cwd())).toEqual(cwdBefore);
  });
});

describe("help", () => {
  it("shows numeric defaults as numbers", async () => {
    const job = await runCli(["rewrap", "--help"]);
    expect(job.stdout).toMatch(/objects in flight\s+\(default:\s+16\)/);
    expect(job.stdout).toMatch(/\(0:\s+no\s+cap\)\s+\(default:\s+1000\)/);
    const audit = await runCli(["keys", "audit", "--help"]);
    expect(audit.stdout).toMatch(/counts\s+as\s+overdue\s+\(default:\s+7\)/);
    expect(audit.stdout).toMatch(/keys\s+read\s+at\s+once\s+\(default:\s+4\)/);
    expect(`${job.stdout}${audit.stdout}`).not.toMatch(/default:\s+"\d+"/);
  });

  it("a typed numeric option still refuses a bad value in one line", async () => {
    const r = await runCli(["plan", "--dir", ".", "--concurrency", "many"]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      'rekey: --concurrency must be a whole number from 1 to 1024, not "many" [ERR_USAGE]',
    ]);
  });
});

describe("a terminal never receives binary", () => {
  it("encrypt to stdout refuses in one line when stdout is a terminal; a pipe or -o FILE gets the message", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rekey-tty-"));
    const key = join(dir, "raw.key");
    await writeFile(key, Buffer.alloc(32, 7));
    const refused = await runCli(["encrypt", "--raw-key-file", key], { tty: true, stdin: "hello" });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(lines(refused.stderr)).toEqual([
      "rekey: refusing to write an encrypted message (binary) to a terminal: pass -o FILE or redirect stdout [ERR_USAGE]",
    ]);
    const piped = await runCli(["encrypt", "--raw-key-file", key], { stdin: "hello" });
    expect(piped.code).toBe(0);
    expect(piped.stdoutBytes.length).toBeGreaterThan(5);
    const out = join(dir, "m.rkey");
    const toFile = await runCli(["encrypt", "--raw-key-file", key, "-o", out], { tty: true, stdin: "hello" });
    expect(toFile.code).toBe(0);
    expect((await readFile(out)).length).toBe(piped.stdoutBytes.length);
  });
});
