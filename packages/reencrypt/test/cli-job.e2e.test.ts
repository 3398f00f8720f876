/**
 * The `rekey plan` / `rewrap` CLI end to end: as a child process killed with SIGKILL at random
 * points and resumed from its checkpoint (nothing lost, nothing unreadable, everything on the
 * target), one-line errors, and the commands in-process for their output. Ctrl-C (SIGINT) is
 * tested in cli-interrupt.e2e.test.ts.
 */
import { CreateKeyCommand, DescribeKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import type { JobReport, PlanReport } from "../src/index.js";
import { runCliInProcess, spawnCli } from "./helpers/cli.js";
import {
  headerOf,
  newBucket,
  plaintextDigestOf,
  putEncrypted,
  type WrittenObject,
} from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rekey-cli-"));
});

async function keyAndObjects(
  count: number,
  bigCount = 0,
): Promise<{ key: string; bucket: string; objects: WrittenObject[] }> {
  const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  const bucket = await newBucket(aws.s3);
  const objects: WrittenObject[] = [];
  const specs = [
    ...Array.from({ length: bigCount }, (_, i) => ({ name: `big-${i}.rkey`, size: 18 * MiB + i })),
    ...Array.from({ length: count }, (_, i) => ({
      name: `o/${String(i).padStart(4, "0")}.rkey`,
      size: 300 + i * 13,
    })),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < specs.length) {
        const s = specs[next++]!;
        objects.push(
          await putEncrypted(aws.s3, aws.kms, bucket, s.name, {
            keyId: key,
            seed: next,
            plaintextSize: s.size,
          }),
        );
      }
    }),
  );
  await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
  return { key, bucket, objects };
}

/** A seeded generator, so the kill points are random but the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function lastReport(lines: readonly string[]): JobReport | PlanReport {
  const line = [...lines].reverse().find((l) => l.includes('"event":"report"'));
  if (!line) throw new Error("no report event");
  return (JSON.parse(line) as { report: JobReport | PlanReport }).report;
}

describe("rekey rewrap as a child process", () => {
  it("SIGKILL at random points, then resume: nothing lost, nothing unreadable, all on the current material", async () => {
    const { key, bucket, objects } = await keyAndObjects(240, 2);
    const checkpoint = join(dir, "kill.checkpoint.jsonl");
    const args = [
      "rewrap",
      "--source",
      `s3://${bucket}/`,
      "--checkpoint",
      checkpoint,
      "--json",
      "--concurrency",
      "8",
    ];
    const random = prng(20261122);
    let kills = 0;
    let finished: number | string | undefined;
    for (let round = 0; round < 12 && finished === undefined; round++) {
      const child = spawnCli(aws, [...args, "--report", join(dir, `kill-${round}.json`)]);
      await Promise.race([child.waitForLine(/"event":"target"/), child.exited]);
      // A random moment of the run: the first rounds are killed after a random number of
      // finished objects (so there are kills however fast the machine is), later ones after a
      // random delay (sometimes before the first write, often mid-write).
      const killAt =
        round < 3
          ? child.waitForLines(/"event":"object"/, 1 + Math.floor(random() * 20))
          : new Promise<void>((resolve) => setTimeout(resolve, Math.floor(random() * 900)));
      const outcome = await Promise.race([
        child.exited.then((code) => ({ code })),
        killAt.then(() => undefined),
      ]);
      if (outcome) finished = outcome.code;
      else {
        child.process.kill("SIGKILL");
        expect(await child.exited).toBe("SIGKILL");
        kills++;
      }
    }
    if (finished === undefined) {
      const last = spawnCli(aws, [...args, "--report", join(dir, "kill-last.json")]);
      finished = await last.exited;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(finished).toBe(0);

    const material = (await aws.kms.send(new DescribeKeyCommand({ KeyId: key }))).KeyMetadata
      ?.CurrentKeyMaterialId;
    let next = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        while (next < objects.length) {
          const o = objects[next++]!;
          const h = await headerOf(aws.s3, bucket, o.key);
          expect(h.entries[0]?.keyArn).toBe(key);
          if (aws.capabilities.keyMaterialIdInResponses) expect(h.entries[0]?.keyMaterialId).toBe(material);
          expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
        }
      }),
    );
    // The checkpoint's watermark is past the last object, and its counts hold every one of them.
    const [, second] = (await readFile(checkpoint, "utf8")).split("\n");
    const { snapshot } = JSON.parse(second!) as {
      snapshot: { after?: string; counts: Record<string, number>; retry: unknown[]; done: unknown[] };
    };
    expect(snapshot.after).toBe([...objects.map((o) => o.key)].sort().at(-1));
    expect((snapshot.counts["rewrapped"] ?? 0) + (snapshot.counts["current"] ?? 0)).toBe(objects.length);
    expect(snapshot.retry).toEqual([]);
    expect(snapshot.done).toEqual([]);

    // A re-run with the checkpoint skips everything; a fresh run finds everything current and writes nothing.
    const resumed = await runCliInProcess(aws, [...args, "--report", join(dir, "kill-again.json")]);
    const again = lastReport(resumed.stdout.split("\n")) as JobReport;
    expect(resumed.exitCode).toBe(0);
    expect(again.objects).toBe(0);
    const writes = aws.faults?.calls("s3:PutObject");
    const fresh = await runCliInProcess(aws, [
      "rewrap",
      "--source",
      `s3://${bucket}/`,
      "--json",
      "--report",
      join(dir, "fresh.json"),
    ]);
    expect(fresh.exitCode).toBe(0);
    if (aws.capabilities.keyMaterialIdInResponses) {
      expect((lastReport(fresh.stdout.split("\n")) as JobReport).outcomes.current).toBe(objects.length);
      if (writes !== undefined) expect(aws.faults!.calls("s3:PutObject")).toBe(writes);
    }
    // Uploads of big objects (or of the store probe's scratch object) cut by SIGKILL cannot be
    // aborted by the dead process; they are listed here for the record (a bucket lifecycle rule
    // removes them).
    const uploads = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(
      (uploads.Uploads ?? []).every((u) => u.Key?.startsWith("big-") || u.Key?.startsWith(".rekey-probe/")),
    ).toBe(true);
  }, 180_000);

  it("an unknown bucket is one line on stderr with its code, exit 1", async () => {
    const child = spawnCli(aws, [
      "rewrap",
      "--source",
      "s3://rekey-no-such-bucket-here/",
      "--report",
      join(dir, "x.json"),
    ]);
    expect(await child.exited).toBe(1);
    const lines = child.stderr().trim().split("\n");
    // The target is announced first (it resolves before the listing starts); the error is one line.
    expect(lines.at(-1)).toBe("rekey: bucket rekey-no-such-bucket-here does not exist [ERR_JOB_SOURCE]");
    expect(lines.filter((l) => l.startsWith("rekey: "))).toHaveLength(1);
  }, 60_000);
});

describe("rekey rewrap on a store that ignores conditional writes", () => {
  it("is refused with one line naming the feature and exit 4; --writers-stopped runs it and says so", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const { bucket } = await keyAndObjects(3);
    control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    const args = ["rewrap", "--source", `s3://${bucket}/o/`, "--report", join(dir, "unsafe.json")];
    const refused = await runCliInProcess(aws, args);
    expect(refused.exitCode).toBe(4);
    const stopped = refused.stdout.split("\n").filter((l) => l.startsWith("Stopped: "));
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatch(
      /does not honour conditional writes \(If-Match on PutObject.*--writers-stopped \(.*\[ERR_JOB_STORE_UNSAFE\]$/,
    );
    expect(refused.stdout).toMatch(/Store s3:\/\/\S+: conditional writes NOT honoured/);
    expect(refused.stdout).toMatch(/rewrapped +0|Objects: 0/);

    const allowed = await runCliInProcess(aws, [...args, "--writers-stopped"]);
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stdout).toMatch(/rewrapped +3/);
    expect(allowed.stdout).toContain(
      "Written without store-enforced conditions (--writers-stopped): 3 object(s)",
    );
  }, 60_000);
});

describe("rekey plan / rewrap in-process", () => {
  it("plan prints classes, keys, material, KMS calls and an estimate, writes the report, writes no object", async () => {
    const { key, bucket } = await keyAndObjects(20);
    const reportPath = join(dir, "plan.json");
    const writes = aws.faults?.calls("s3:PutObject");
    const run = await runCliInProcess(aws, ["plan", "--source", `s3://${bucket}/o/`, "--report", reportPath]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/rewrap\s+20/);
    expect(run.stdout).toContain(`${key}: 20 object(s)`);
    expect(run.stdout).toMatch(/KMS calls the run would make: 20 \(ReEncrypt 20\)/);
    expect(run.stdout).toMatch(/Estimated run time: ~[\d.]+ s at 1000 KMS calls\/s and concurrency 16/);
    const report = JSON.parse(await readFile(reportPath, "utf8")) as PlanReport;
    expect(report.kind).toBe("plan");
    expect(report.classes.rewrap.objects).toBe(20);
    if (writes !== undefined) expect(aws.faults!.calls("s3:PutObject")).toBe(writes);
    const dry = await runCliInProcess(aws, [
      "rewrap",
      "--dry-run",
      "--source",
      `s3://${bucket}/`,
      "--json",
      "--report",
      join(dir, "dry.json"),
    ]);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout.split("\n")[0]).toContain('"event":"target"');
    if (writes !== undefined) expect(aws.faults!.calls("s3:PutObject")).toBe(writes);
  }, 60_000);

  it("a manifest with bad lines: the job runs, the bad lines are reported, exit 2", async () => {
    const { bucket } = await keyAndObjects(3);
    const manifest = join(dir, "bad.csv");
    await writeFile(
      manifest,
      [`${bucket},o/0000.rkey`, "garbage", `${bucket},o/0001.rkey`, `${bucket},"open`].join("\n"),
    );
    const run = await runCliInProcess(aws, [
      "rewrap",
      "--manifest",
      manifest,
      "--report",
      join(dir, "bad.json"),
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toMatch(/rewrapped\s+2/);
    expect(run.stdout).toContain(`${manifest}:2: expected bucket,key[,versionId], got 1 field(s)`);
    expect(run.stdout).toContain(`${manifest}:4: unbalanced quotes`);
  }, 60_000);

  it("a checkpoint of another job is refused; --fresh-checkpoint starts it over", async () => {
    const { key, bucket } = await keyAndObjects(3);
    const checkpoint = join(dir, "leak.jsonl");
    const args = [
      "reencrypt",
      "--source",
      `s3://${bucket}/`,
      "--target",
      `key:${key}`,
      "--checkpoint",
      checkpoint,
    ];
    const first = await runCliInProcess(aws, [...args, "--report", join(dir, "leak-1.json")]);
    expect(first.exitCode).toBe(0);
    // Objects found on the key are done for `reencrypt`, not for `reencrypt --include-current`.
    const refused = await runCliInProcess(aws, [
      ...args,
      "--include-current",
      "--report",
      join(dir, "leak-2.json"),
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /belongs to another job \(includeCurrent false there, true here\).*--fresh-checkpoint/,
    );
    const fresh = await runCliInProcess(aws, [
      ...args,
      "--include-current",
      "--fresh-checkpoint",
      "--report",
      join(dir, "leak-3.json"),
    ]);
    expect(fresh.exitCode).toBe(0);
    expect(
      (JSON.parse(await readFile(join(dir, "leak-3.json"), "utf8")) as JobReport).outcomes.reencrypted,
    ).toBe(3);
  }, 60_000);

  it("bad arguments are one clear line, exit 1", async () => {
    for (const [args, message] of [
      [["rewrap"], "name exactly one source"],
      [["rewrap", "--source", "s3://b-b-b/", "--dir", "."], "name exactly one source"],
      [
        ["rewrap", "--source", "s3://b-b-b/", "--target", "alias"],
        'target must be "current", "alias:NAME" or "key:ARN"',
      ],
      [
        ["rewrap", "--source", "s3://b-b-b/", "--multipart-threshold", "lots"],
        "--multipart-threshold must be a size",
      ],
      [
        ["rewrap", "--source", "s3://b-b-b/", "--multipart-threshold", "4MiB"],
        "multipartThreshold must be above 5 MiB",
      ],
      [["rewrap", "--source", "s3://b-b-b/", "--verify", "maybe"], "--verify is header, etag or full"],
      [["rewrap", "--source", "s3://b-b-b/", "--from-key", "alias/x"], "--from-key takes key ARNs"],
    ] as const) {
      const run = await runCliInProcess(aws, args);
      expect(run.exitCode, args.join(" ")).toBe(1);
      expect(run.stderr).toContain(message);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 60_000);
});
