import { appendFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  JobError,
  openCheckpoint,
  type CheckpointHeader,
  type ObjectResult,
  type ObjectOutcome,
} from "../src/index.js";

const header: CheckpointHeader = { rekeyCheckpoint: 1, mode: "rewrap", target: "current" };

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
      /another checkpoint file/,
    );
  });

  it("refuses a file that is not a checkpoint", async () => {
    const path = await tempPath();
    await writeFile(path, "hello\n");
    await expect(openCheckpoint(path, header)).rejects.toThrow(/not a rekey checkpoint/);
  });
});
