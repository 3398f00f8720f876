import { constants } from "node:buffer";
import { createWriteStream } from "node:fs";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JobError, type ObjectResult, type ObjectOutcome } from "../src/index.js";
import { openCheckpoint, type CheckpointHeader } from "../src/runner/checkpoint.js";

const header: CheckpointHeader = {
  rekeyCheckpoint: 2,
  mode: "rewrap",
  target: "current",
  kmsScope: "us-east-1 (aws, account 111122223333)",
  fromKeys: [],
  olderThanMaterial: false,
  includeCurrent: false,
};

function result(key: string, outcome: ObjectOutcome, versionId?: string): ObjectResult {
  return {
    ref: { kind: "s3", bucket: "data-bucket", key, ...(versionId ? { versionId } : {}) },
    outcome,
    planClass: "rewrap",
    reason: outcome === "failed" ? "KMS ReEncrypt failed: DisabledException" : "",
    ...(outcome === "failed" ? { code: "ERR_KMS" } : {}),
    size: 10,
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    durationMs: 1,
  };
}

async function tempPath(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), "rekey-cp-")), "job.checkpoint.jsonl");
}

describe("checkpoint", () => {
  it("records outcomes and a resumed checkpoint skips done objects but not failed or conflicting ones", async () => {
    const path = await tempPath();
    const cp = await openCheckpoint(path, header, { flushEveryLines: 2 });
    await cp.record(result("a", "rewrapped"));
    await cp.record(result("b", "failed"));
    await cp.record(result("c", "conflict"));
    await cp.record(result("d", "current"));
    await cp.record(result("e", "rewrapped", "v1"));
    await cp.close();

    const again = await openCheckpoint(path, header);
    const ref = (key: string, versionId?: string) => ({
      kind: "s3" as const,
      bucket: "data-bucket",
      key,
      ...(versionId ? { versionId } : {}),
    });
    expect(again.isDone(ref("a"))).toBe(true);
    expect(again.isDone(ref("b"))).toBe(false);
    expect(again.isDone(ref("c"))).toBe(false);
    expect(again.isDone(ref("d"))).toBe(true);
    expect(again.isDone(ref("e"))).toBe(false);
    expect(again.isDone(ref("e", "v1"))).toBe(true);
    expect(again.previous).toEqual({ rewrapped: 2, current: 1 });
    await again.record(result("b", "rewrapped"));
    await again.close();
    const third = await openCheckpoint(path, header);
    expect(third.isDone(ref("b"))).toBe(true);
    await third.close();
    const lines = (await readFile(path, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual(header);
    expect(lines.find((l) => l.key === "b" && l.outcome === "failed")).toMatchObject({
      code: "ERR_KMS",
      reason: expect.any(String),
    });
  });

  it("a torn last line (crash mid-write) is ignored and the next line starts cleanly", async () => {
    const path = await tempPath();
    const cp = await openCheckpoint(path, header);
    await cp.record(result("a", "rewrapped"));
    await cp.close();
    await appendFile(path, '{"bucket":"data-bucket","key":"b","outc');
    const again = await openCheckpoint(path, header);
    expect(again.ignoredLines).toBe(1);
    await again.record(result("c", "rewrapped"));
    await again.close();
    const third = await openCheckpoint(path, header);
    expect(third.isDone({ kind: "s3", bucket: "data-bucket", key: "c" })).toBe(true);
    expect(third.ignoredLines).toBe(1);
    await third.close();
  });

  it("refuses a checkpoint of a job with another target or mode", async () => {
    const path = await tempPath();
    await (await openCheckpoint(path, header)).close();
    await expect(
      openCheckpoint(path, { ...header, target: "alias:other", targetKeyArn: "arn:x" }),
    ).rejects.toSatisfy((e) => e instanceof JobError && e.code === "ERR_JOB_CHECKPOINT");
    await expect(openCheckpoint(path, { ...header, mode: "reencrypt" })).rejects.toThrow(
      /another job \(mode "rewrap" there, "reencrypt" here\).*another checkpoint file/,
    );
  });

  // Each of these changes which objects end done: a checkpoint of the one cannot stand for the other.
  const others: [string, Partial<CheckpointHeader>][] = [
    ["fromKeys", { fromKeys: ["arn:aws:kms:us-east-1:111122223333:key/k1"] }],
    ["olderThanMaterial", { olderThanMaterial: true }],
    ["includeCurrent", { includeCurrent: true }],
    ["kmsScope", { kmsScope: "eu-west-1 (aws, account 111122223333)" }],
    ["limits", { limits: { maxEntries: 2 } }],
  ];
  for (const [field, change] of others)
    it(`refuses a checkpoint written with another ${field}, and starts it over when asked`, async () => {
      const path = await tempPath();
      const cp = await openCheckpoint(path, header);
      await cp.record(result("a", "current"));
      await cp.close();
      const other = { ...header, ...change };
      await expect(openCheckpoint(path, other)).rejects.toSatisfy(
        (e) =>
          e instanceof JobError &&
          e.code === "ERR_JOB_CHECKPOINT" &&
          e.message.includes(`(${field} `) &&
          e.message.includes("--fresh-checkpoint"),
      );
      const fresh = await openCheckpoint(path, other, { fresh: true });
      expect(fresh.isDone({ kind: "s3", bucket: "data-bucket", key: "a" })).toBe(false);
      expect(fresh.previous).toEqual({});
      await fresh.close();
      expect(JSON.parse((await readFile(path, "utf8")).trim())).toEqual(other);
      // The new header holds from now on.
      await (await openCheckpoint(path, other)).close();
    });

  it("the order of fromKeys and of limit fields does not matter", async () => {
    const path = await tempPath();
    const keys = ["arn:aws:kms:us-east-1:111122223333:key/b", "arn:aws:kms:us-east-1:111122223333:key/a"];
    const first = await openCheckpoint(path, {
      ...header,
      fromKeys: keys,
      limits: { maxEntries: 2, maxFrames: 9 },
    });
    await first.record(result("a", "rewrapped"));
    await first.close();
    // The same job, its keys and limits listed in another order: the checkpoint is its own.
    const again = await openCheckpoint(path, {
      ...header,
      fromKeys: [...keys].reverse(),
      limits: { maxFrames: 9, maxEntries: 2 },
    });
    expect(again.isDone({ kind: "s3", bucket: "data-bucket", key: "a" })).toBe(true);
    await again.close();
    // Another key set is another job.
    await expect(
      openCheckpoint(path, {
        ...header,
        fromKeys: keys.slice(0, 1),
        limits: { maxEntries: 2, maxFrames: 9 },
      }),
    ).rejects.toThrow(/another job|other settings|filters/);
  });

  it("refuses a checkpoint of the earlier format, which recorded no filters", async () => {
    const path = await tempPath();
    await writeFile(path, `${JSON.stringify({ rekeyCheckpoint: 1, mode: "rewrap", target: "current" })}\n`);
    await expect(openCheckpoint(path, header)).rejects.toThrow(/does not record the job's filters/);
  });

  it("refuses a file that is not a checkpoint", async () => {
    const path = await tempPath();
    await writeFile(path, "hello\n");
    await expect(openCheckpoint(path, header)).rejects.toThrow(/not a rekey checkpoint/);
  });

  it("loads a file longer than the longest string Node can hold, line by line", async () => {
    // Failed lines with long reasons make the file pass the limit with few lines, so the test
    // stays fast; a line-by-line reader does not care how the bytes are split.
    const path = await tempPath();
    const reason = "x".repeat(1024 * 1024);
    const failed = `${JSON.stringify({ bucket: "data-bucket", key: "f", outcome: "failed", reason })}\n`;
    const out = createWriteStream(path);
    try {
      out.write(`${JSON.stringify(header)}\n`);
      out.write(`${JSON.stringify({ bucket: "data-bucket", key: "first", outcome: "rewrapped" })}\n`);
      const lines = Math.ceil(constants.MAX_STRING_LENGTH / failed.length) + 1;
      for (let i = 0; i < lines; i++) if (!out.write(failed)) await once(out, "drain");
      out.end(`${JSON.stringify({ bucket: "data-bucket", key: "last", outcome: "current" })}\n`);
      await once(out, "finish");
      const cp = await openCheckpoint(path, header);
      expect(cp.isDone({ kind: "s3", bucket: "data-bucket", key: "first" })).toBe(true);
      expect(cp.isDone({ kind: "s3", bucket: "data-bucket", key: "last" })).toBe(true);
      expect(cp.isDone({ kind: "s3", bucket: "data-bucket", key: "f" })).toBe(false);
      expect(cp.previous).toEqual({ rewrapped: 1, current: 1 });
      expect(cp.ignoredLines).toBe(0);
      await cp.close();
    } finally {
      out.destroy();
      await rm(path, { force: true });
    }
  });
});
