/**
 * `rekey keys terraform-check` / `rekey terraform-check` end to end, and the key commands'
 * argument checks and interruption, without any network (an in-memory KMS where one is needed).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { LocalAws } from "@rekey/localstack";
import { interruptSince, lines, runCli, spawnCli } from "./cli-keys-harness.js";
import { cutoverSources, givenJobFlags } from "../src/cli/util/cutover-rewrap.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

/** The in-memory KMS as the CLI's client (the key commands accept any KmsAdminApi). */
const fakeAws = (kms: FakeKms) => ({ kms }) as unknown as LocalAws;

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/terraform/${name}`, import.meta.url));

describe("rekey keys terraform-check", () => {
  it("lists the findings with their addresses and exits 2", async () => {
    const r = await runCli(["keys", "terraform-check", fixture("plan-findings.json"), "--json"]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.findings.map((f: { address: string }) => f.address)).toEqual([
      "aws_kms_key.no_rotation",
      'module.storage.aws_kms_key.data["logs"]',
      "aws_kms_key.replaced",
      "aws_kms_key.from_variable",
    ]);
  });

  it("text output marks each key", async () => {
    const r = await runCli([
      "terraform-check",
      fixture("plan-findings.json"),
      "--table",
      "--max-period-days",
      "365",
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(
      "FAIL aws_kms_key.no_rotation [create]: enable_key_rotation is false, must be true",
    );
    expect(r.stdout).toContain("FAIL aws_kms_key.long_period [create]: rotation_period_in_days is 1000");
    expect(r.stdout).toContain(
      "skip aws_kms_key.signing [create]: RSA_2048 keys cannot rotate automatically",
    );
    expect(lines(r.stdout).at(-1)).toBe(
      "5 key(s) without automatic rotation (CKV_AWS_7): set enable_key_rotation = true",
    );
  });

  it("a clean plan exits 0", async () => {
    const r = await runCli(["keys", "terraform-check", fixture("plan-clean.json"), "--table"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).at(-1)).toBe("No finding.");
  });

  it("a file that is not a plan, or is missing, is one error line and exit 1", async () => {
    const cases: [string, RegExp][] = [
      [fixture("state.json"), /is Terraform state, not a plan .*\[ERR_NOT_A_PLAN\]$/m],
      [
        fixture("main.tf"),
        /is not JSON: expected the output of `terraform show -json plan.tfplan` \[ERR_NOT_A_PLAN\]$/m,
      ],
      [fixture("no-such-plan.json"), /cannot read .*no-such-plan.json: no such file \[ERR_NOT_A_PLAN\]$/m],
    ];
    for (const [file, message] of cases) {
      const r = await runCli(["keys", "terraform-check", file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it("the executable reads the plan from stdin and exits 2 on findings, 1 on a non-plan", async () => {
    const found = await spawnCli(["keys", "terraform-check", "-", "--output", "json"], {
      stdin: readFileSync(fixture("plan-findings.json")),
    });
    expect(found.code).toBe(2);
    expect(JSON.parse(found.stdout).findings).toHaveLength(4);
    const bad = await spawnCli(["terraform-check", "-"], { stdin: Buffer.from("hello") });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(lines(bad.stderr)).toEqual([
      "rekey: stdin is not JSON: expected the output of `terraform show -json plan.tfplan` [ERR_NOT_A_PLAN]",
    ]);
  });
});

describe("alias cutover sources", () => {
  it("takes --source, --manifest and --dir, each repeatable", () => {
    expect(
      cutoverSources({
        source: ["s3://data/invoices/", "s3://logs"],
        manifest: ["objects.csv"],
        dir: ["./files"],
      }),
    ).toEqual([
      { text: "s3://data/invoices/", source: { kind: "s3", bucket: "data", prefix: "invoices/" } },
      { text: "s3://logs", source: { kind: "s3", bucket: "logs" } },
      { text: "manifest objects.csv", source: { kind: "manifest", path: "objects.csv" } },
      { text: "./files", source: { kind: "dir", path: "./files" } },
    ]);
  });
  it("--source must be an s3:// URL", () => {
    expect(() => cutoverSources({ source: ["./files"], manifest: [], dir: [] })).toThrow(
      /--source takes s3:\/\/bucket\/prefix/,
    );
  });
});

describe("alias cutover --no-rewrap", () => {
  it("names the job flags that would be ignored", () => {
    expect(givenJobFlags({ source: ["s3://b/"], manifest: [], dir: ["d"], report: "r.json" })).toEqual([
      "--source",
      "--dir",
      "--report",
    ]);
    expect(givenJobFlags({ source: [], manifest: [], dir: [] })).toEqual([]);
  });

  it.each([
    [["--source", "s3://data/"], "--source"],
    [["--manifest", "m.csv", "--checkpoint", "cp.jsonl"], "--manifest, --checkpoint"],
    [["--dir", "files", "--concurrency", "4", "--kms-rps", "10"], "--dir, --concurrency, --kms-rps"],
    [["--report", "r.json"], "--report"],
  ])("with %j is a usage error before anything is read or changed", async (extra, named) => {
    const kms = new FakeKms({ pageSize: 2 });
    const old = kms.addKey({ alias: "alias/app" });
    const next = kms.addKey();
    const r = await runCli(["alias", "cutover", "--yes", "app", "--to", next.arn, "--no-rewrap", ...extra], {
      aws: fakeAws(kms),
    });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `rekey: --no-rewrap only moves the alias, so ${named} would do nothing: drop ${named.includes(",") ? "them" : "it"}, or drop --no-rewrap [ERR_USAGE]`,
    ]);
    expect(kms.calls).toEqual([]);
    expect(kms.aliasTarget("alias/app")).toBe(old.id);
  });
});

describe("rekey keys rotate interrupted", () => {
  it("Ctrl-C while waiting says the rotation continues in KMS, exits 130", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    kms.rotationDelayReads = 1_000_000;
    const before = new Set(process.listeners("SIGINT"));
    const run = runCli(["keys", "rotate", "--yes", "alias/app", "--interval", "10ms", "--table"], {
      aws: fakeAws(kms),
    });
    // Deliver SIGINT to the command's own handler once the rotation was requested.
    while (!kms.calls.some((c) => c.op === "RotateKeyOnDemand")) await new Promise((r) => setTimeout(r, 5));
    interruptSince(before);
    const r = await run;
    expect(r.code).toBe(130);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        /^rekey: stopped waiting: the on-demand rotation of arn:aws:kms:\S+ requested at \S+ continues in KMS; check it with `rekey keys status alias\/app` \[ERR_INTERRUPTED\]$/,
      ),
    ]);
    expect(r.stdout).toBe("");
    expect(kms.calls.filter((c) => c.op === "RotateKeyOnDemand")).toHaveLength(1);
  });
});
