/**
 * `rekey report merge --html`: three shard runs on the test backend and a Batch Operations
 * completion report merged into one page; headless Chromium parses it and takes a screenshot,
 * and every figure on the parsed page is checked against the merged JSON.
 */
import { CreateKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { runJob } from "../src/index.js";
import { registerReportCommands } from "../src/cli/report-commands.js";
import type { CliContext } from "../src/cli/util/context.js";
import type { MergedReport } from "../src/reports/merge-reports.js";
import { formatCompletionRow } from "../src/reports/completion-report.js";
import { newBucket, putEncrypted } from "./helpers/s3-objects.js";
import { dumpDom, pngSize, screenshot } from "./helpers/chromium.js";

const aws = useLocalAws();

const EVIL = '<img src=x onerror="document.title=1"></td><script>document.title=2</script>';

/** `data-*` cells and bars of the parsed page: [group, name, metric, value, text]. */
function figuresOf(
  dom: string,
): { group: string; name: string; metric: string; value: number; text: string }[] {
  const unescape = (s: string): string =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
  const out = [];
  const re =
    /<(td|rect)[^>]*? data-group="([^"]*)" data-name="([^"]*)" data-metric="([^"]*)" data-value="([^"]*)"[^>]*>([^<]*)</g;
  for (const m of dom.matchAll(re))
    out.push({
      group: unescape(m[2] as string),
      name: unescape(m[3] as string),
      metric: m[4] as string,
      value: Number(m[5]),
      text: m[1] === "td" ? unescape(m[6] as string) : "",
    });
  return out;
}

/** The merged report's figure a page cell names. */
function expected(r: MergedReport, group: string, name: string, metric: string): number | undefined {
  const dig = (o: unknown, path: string): unknown =>
    path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
  switch (group) {
    case "summary":
      return dig(r, name) as number;
    case "outcomes":
      return r.outcomes[name as keyof MergedReport["outcomes"]];
    case "bySourceKey":
      return r.bySourceKey[name]?.[metric as "objects" | "bytes"];
    case "bySourceMaterial":
      return r.bySourceMaterial[name]?.[metric as "objects" | "bytes"];
    case "inputs":
      return r.inputs.find((i) => i.file === name)?.objects;
    case "batchOperations":
      return name.startsWith("failed: ")
        ? r.batchOperations.byErrorCode[name.slice("failed: ".length)]
        : r.batchOperations.byTaskStatus[name];
    default:
      return undefined;
  }
}

describe("rekey report merge --html", () => {
  it("merges shard runs and a completion report into a page whose every figure is the JSON's", async () => {
    const keyA = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const keyB = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(aws.s3);
    for (let i = 0; i < 24; i++)
      await putEncrypted(aws.s3, aws.kms, bucket, `obj-${i}.rkey`, {
        keyId: i % 3 === 0 ? keyB : keyA,
        seed: i,
        plaintextSize: 200 + i * 50,
      });
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "plain.txt", Body: "not rekey" }));
    for (const k of [keyA, keyB]) await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: k }));

    const dir = await mkdtemp(join(tmpdir(), "rekey-report-html-"));
    const inputs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const report = await runJob({
        kms: aws.createKmsClient({ maxAttempts: 1 }),
        s3: aws.createS3Client({ maxAttempts: 1 }),
        source: { kind: "s3", bucket },
        target: "current",
        shard: { index: i, count: 3 },
      });
      const file = join(dir, `shard-${i + 1}.json`);
      await writeFile(file, JSON.stringify(report));
      inputs.push(file);
    }
    const csv = join(dir, "completion.csv");
    await writeFile(
      csv,
      [
        {
          key: "late-1.rkey",
          taskStatus: "succeeded",
          errorCode: "",
          resultMessage: "rewrapped: moved 1 entry",
        },
        {
          key: "late-2.rkey",
          taskStatus: "succeeded",
          errorCode: "",
          resultMessage: "current: on the target",
        },
        {
          key: "late-3.rkey",
          taskStatus: "failed",
          errorCode: "PermanentFailure",
          resultMessage: `failed: ${EVIL} [ERR_KMS]`,
        },
      ]
        .map((r) => formatCompletionRow({ bucket, httpStatus: 200, ...r }))
        .join("\n"),
    );
    inputs.push(csv);

    const html = join(dir, "report.html");
    const jsonFile = join(dir, "merged.json");
    const stdout = new PassThrough();
    const out: Buffer[] = [];
    stdout.on("data", (c: Buffer) => out.push(c));
    let exitCode = -1;
    const ctx = {
      stdin: new PassThrough(),
      stdout,
      stderr: new PassThrough(),
      setExitCode: (c: number) => (exitCode = c),
    } as unknown as CliContext;
    const program = new Command("rekey").exitOverride();
    registerReportCommands(program, ctx);
    await program.parseAsync([
      "node",
      "rekey",
      "report",
      "merge",
      ...inputs,
      "--html",
      html,
      "--json-file",
      jsonFile,
      "--output",
      "json",
    ]);
    const merged = JSON.parse(Buffer.concat(out).toString("utf8")) as MergedReport;
    expect(JSON.parse(await readFile(jsonFile, "utf8"))).toEqual(merged);
    // 24 rekey objects and one foreign in the shards, 3 tasks in the completion report.
    expect(merged.objects).toBe(25 + 3);
    expect(merged.outcomes).toMatchObject({ rewrapped: 24 + 1, foreign: 1, current: 1, failed: 1 });
    expect(Object.keys(merged.bySourceKey).sort()).toEqual([keyA, keyB].sort());
    expect(merged.bySourceKey[keyB]?.objects).toBe(8);
    expect(merged.inputs.map((i) => i.objects).reduce((a, b) => a + b)).toBe(28);
    expect(exitCode).toBe(merged.exitCode);
    expect(merged.exitCode).toBe(3);

    const png = await screenshot(html, join(dir, "report.png"), 1200, 2400);
    expect(pngSize(png)).toEqual({ width: 1200, height: 2400 });
    // A rendered page, not a blank one: a blank PNG of this size compresses to a few KB.
    expect(png.length).toBeGreaterThan(30_000);

    const dom = await dumpDom(html);
    const figures = figuresOf(dom);
    const checked = new Set<string>();
    for (const f of figures) {
      const want = expected(merged, f.group, f.name, f.metric);
      expect(want, `${f.group} ${f.name} ${f.metric}`).toBeTypeOf("number");
      expect(f.value, `${f.group} ${f.name} ${f.metric}`).toBe(want);
      // The text shown is the same number (bytes and seconds are shown in units).
      if (f.text !== "" && /^[\d,]+$/.test(f.text)) expect(Number(f.text.replace(/,/g, ""))).toBe(want);
      checked.add(`${f.group}/${f.metric}`);
    }
    // Every chart and table was on the page and checked.
    for (const kind of [
      "summary/value",
      "outcomes/objects",
      "bySourceKey/objects",
      "bySourceKey/bytes",
      "bySourceMaterial/objects",
      "bySourceMaterial/bytes",
      "inputs/objects",
      "batchOperations/tasks",
    ])
      expect(checked, kind).toContain(kind);
    const shown = (group: string, name: string, metric = "value") =>
      figures.find((f) => f.group === group && f.name === name && f.metric === metric && f.text !== "");
    expect(shown("summary", "objects")?.text).toBe("28");
    expect(shown("summary", "kms.requests")?.text).toBe(merged.kms.requests.toLocaleString("en-US"));
    expect(shown("outcomes", "rewrapped", "objects")?.text).toBe("25");
    // Bars: one per outcome seen, one per key and material in each of the objects and bytes charts.
    const bars = (group: string, metric: string) =>
      figures.filter((f) => f.group === group && f.metric === metric && f.text === "").length;
    expect(bars("outcomes", "objects")).toBe(Object.values(merged.outcomes).filter((n) => n > 0).length);
    expect(bars("bySourceKey", "bytes")).toBe(2);
    expect(bars("bySourceMaterial", "objects")).toBe(Object.keys(merged.bySourceMaterial).length);

    // The failures table: one row per listed failure; the reason is text, not markup.
    expect(dom.match(/<tr data-group="failures">/g)).toHaveLength(merged.failures.length);
    expect(merged.failures.map((f) => f.outcome).sort()).toEqual(["failed", "foreign"]);
    expect(dom).not.toMatch(/<img|<script/);
    expect(dom).toContain("&lt;img src=x onerror=");
    expect(dom).toMatch(/<title>rekey report<\/title>/);
  });
});
