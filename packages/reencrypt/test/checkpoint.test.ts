import { appendFile, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JobError, type ObjectResult, type ObjectOutcome } from "../src/index.js";
import { openCheckpoint, type CheckpointHeader } from "../src/runner/checkpoint.js";

const header: CheckpointHeader = {
  rekeyCheckpoint: 3,
  mode: "rewrap",
  target: "current",
  kmsScope: "us-east-1 (aws, account 111122223333)",
  fromKeys: [],
  olderThanMaterial: false,
  includeCurrent: false,
  source: "s3://data-bucket/",
};

const ref = (key: string, versionId?: string) => ({
  kind: "s3" as const,
  bucket: "data-bucket",
  key,
  ...(versionId ? { versionId } : {}),
});

function result(key: string, outcome: ObjectOutcome, versionId?: string): ObjectResult {
  return {
    ref: ref(key, versionId),
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
  it("keeps a watermark: a resume starts after it, skips what finished above it, tries failures again", async () => {
    const path = await tempPath();
    const cp = await openCheckpoint(path, header);
    expect(cp.resumeAfter).toBeUndefined();
    const seq = Object.fromEntries(["a", "b", "c", "d", "e", "f", "g"].map((k) => [k, cp.begin(k)]));
    // Finished out of order; f is still in flight when the job stops, g finished after it.
    await cp.end(seq["b"]!, result("b", "failed"));
    await cp.end(seq["a"]!, result("a", "rewrapped"));
    await cp.end(seq["d"]!, result("d", "current"));
    await cp.end(seq["c"]!, result("c", "conflict"));
    await cp.end(seq["e"]!); // another shard's object
    await cp.end(seq["g"]!, result("g", "rewrapped"));
    await cp.close();

    const again = await openCheckpoint(path, header);
    // a..e are finished: the source starts after e; g finished above the watermark.
    expect(again.resumeAfter).toBe("e");
    expect(again.isDone(ref("g"))).toBe(true);
    expect(again.isDone(ref("f"))).toBe(false);
    expect(again.retry).toEqual([ref("b"), ref("c")]);
    expect(again.previous).toEqual({ rewrapped: 2, current: 1 });
    // This run: the failures again, then f (g is skipped as done).
    await again.retried(result("b", "rewrapped"));
    await again.retried(result("c", "conflict"));
    const f = again.begin("f");
    const g = again.begin("g");
    await again.skip(g, ref("g"));
    await again.end(f, result("f", "rewrapped"));
    await again.close();

    const third = await openCheckpoint(path, header);
    expect(third.resumeAfter).toBe("g");
    expect(third.retry).toEqual([ref("c")]);
    expect(third.isDone(ref("g"))).toBe(false); // below the watermark now: never listed again
    expect(third.previous).toEqual({ rewrapped: 4, current: 1 });
    await third.close();
  });

  it("a kill at any moment loses no finished entry: lines are written as entries end, before any close", async () => {
    const path = await tempPath();
    const cp = await openCheckpoint(path, header, { compactEvery: 5 });
    const seqs = Array.from({ length: 12 }, (_, i) => cp.begin(`k${String(i).padStart(2, "0")}`));
    // k05 stays in flight; all others end (across two compactions).
    for (const [i, s] of seqs.entries())
      if (i !== 5)
        await cp.end(s, result(`k${String(i).padStart(2, "0")}`, i === 2 ? "failed" : "rewrapped"));
    // No close, no flush: as after kill -9.
    const resumed = await openCheckpoint(path, header);
    expect(resumed.resumeAfter).toBe("k04");
    expect(resumed.retry).toEqual([ref("k02")]);
    for (let i = 6; i < 12; i++) expect(resumed.isDone(ref(`k${String(i).padStart(2, "0")}`))).toBe(true);
    expect(resumed.isDone(ref("k05"))).toBe(false);
    await resumed.close();
  });

  it("stays a few kilobytes: 2,000 objects finished out of order, 16 in flight, leave a file under 20 KB", async () => {
    const path = await tempPath();
    const cp = await openCheckpoint(path, header);
    const inFlight: [number, string][] = [];
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let max = 0;
    for (let i = 0; i < 2000 || inFlight.length > 0; i++) {
      if (i < 2000) {
        const key = `objects/${String(i).padStart(6, "0")}.rkey`;
        inFlight.push([cp.begin(key), key]);
      }
      if (inFlight.length === 16 || i >= 2000) {
        // Any of those in flight may finish next.
        const [s, k] = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
        await cp.end(s, result(k, "rewrapped"));
      }
      if (i % 37 === 0) max = Math.max(max, (await stat(path)).size);
    }
    max = Math.max(max, (await stat(path)).size);
    await cp.close();
    expect(max).toBeLessThanOrEqual(20 * 1024);
    const again = await openCheckpoint(path, header);
    expect(again.resumeAfter).toBe("objects/001999.rkey");
    expect(again.previous).toEqual({ rewrapped: 2000 });
    await again.close();
  });

  it("a torn last line (crash mid-write) is ignored and the next run starts cleanly", async () => {
    const path = await tempPath();
    const cp = await openCheckpoint(path, header);
    await cp.end(cp.begin("a"), result("a", "rewrapped"));
    await appendFile(path, '{"s":1,"p":"b","o":"rewr');
    const again = await openCheckpoint(path, header);
    expect(again.ignoredLines).toBe(1);
    expect(again.resumeAfter).toBe("a");
    await again.end(again.begin("b"), result("b", "rewrapped"));
    await again.close();
    const third = await openCheckpoint(path, header);
    expect(third.resumeAfter).toBe("b");
    expect(third.ignoredLines).toBe(0);
    await third.close();
  });

  it("a process that exits at any byte of its last line leaves a checkpoint that resumes", async () => {
    // An exit at once (a second Ctrl-C) between write calls leaves whole lines; a crash of the
    // machine can cut one anywhere. Each cut resumes after the lines before it, none lost.
    const path = await tempPath();
    const cp = await openCheckpoint(path, header);
    await cp.end(cp.begin("a"), result("a", "rewrapped"));
    await cp.end(cp.begin("b"), result("b", "rewrapped"));
    await cp.flush();
    const whole = await readFile(path, "utf8");
    await cp.close();
    const lastLine = whole.slice(whole.lastIndexOf("\n", whole.length - 2) + 1);
    expect(JSON.parse(lastLine)).toMatchObject({ s: 1 });
    for (let cut = 0; cut <= lastLine.length; cut++) {
      const torn = whole.slice(0, whole.length - lastLine.length + cut);
      await writeFile(path, torn);
      const again = await openCheckpoint(path, header);
      const complete = cut >= lastLine.length - 1; // the line without its newline is whole JSON
      expect(again.resumeAfter, `cut at ${cut}`).toBe(complete ? "b" : "a");
      expect(again.previous).toEqual({ rewrapped: complete ? 2 : 1 });
      expect(again.ignoredLines).toBe(cut === 0 || complete ? 0 : 1);
      await again.close();
    }
  });

  it("refuses a checkpoint of a job with another target, mode or source", async () => {
    const path = await tempPath();
    await (await openCheckpoint(path, header)).close();
    await expect(
      openCheckpoint(path, { ...header, target: "alias:other", targetKeyArn: "arn:x" }),
    ).rejects.toSatisfy((e) => e instanceof JobError && e.code === "ERR_JOB_CHECKPOINT");
    await expect(openCheckpoint(path, { ...header, mode: "reencrypt" })).rejects.toThrow(
      /another job \(mode "rewrap" there, "reencrypt" here\).*another checkpoint file/,
    );
    await expect(openCheckpoint(path, { ...header, source: "s3://other/" })).rejects.toThrow(/\(source /);
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
      await cp.end(cp.begin("a"), result("a", "current"));
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
      expect(fresh.resumeAfter).toBeUndefined();
      expect(fresh.previous).toEqual({});
      await fresh.close();
      expect(JSON.parse((await readFile(path, "utf8")).split("\n")[0]!)).toEqual(other);
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
    await first.end(first.begin("a"), result("a", "rewrapped"));
    await first.close();
    // The same job, its keys and limits listed in another order: the checkpoint is its own.
    const again = await openCheckpoint(path, {
      ...header,
      fromKeys: [...keys].reverse(),
      limits: { maxFrames: 9, maxEntries: 2 },
    });
    expect(again.resumeAfter).toBe("a");
    await again.close();
    // Another key set is another job.
    await expect(
      openCheckpoint(path, {
        ...header,
        fromKeys: keys.slice(0, 1),
        limits: { maxEntries: 2, maxFrames: 9 },
      }),
    ).rejects.toThrow(/another job/);
  });

  it("refuses a checkpoint of the earlier per-object formats with a clear way forward", async () => {
    for (const version of [1, 2]) {
      const path = await tempPath();
      await writeFile(
        path,
        `${JSON.stringify({ ...header, rekeyCheckpoint: version })}\n${JSON.stringify({ bucket: "b", key: "k", outcome: "rewrapped" })}\n`,
      );
      await expect(openCheckpoint(path, header)).rejects.toThrow(
        /earlier rekey whose checkpoint listed every object.*--fresh-checkpoint/,
      );
    }
  });

  it('a "__proto__" key of a header line is a field like any other, never the fields it holds', async () => {
    // This job's fields only inside "__proto__": read as the prototype, they would pass for the
    // file's own and the checkpoint would be taken for this job's.
    const path = await tempPath();
    const { rekeyCheckpoint, fromKeys, ...fields } = header;
    await writeFile(
      path,
      `{"rekeyCheckpoint":${rekeyCheckpoint},"fromKeys":${JSON.stringify(fromKeys)},"__proto__":${JSON.stringify(fields)}}\n`,
    );
    await expect(openCheckpoint(path, header)).rejects.toThrow(
      /belongs to another job \(mode \(none\) there/,
    );
  });

  it("refuses a file that is not a checkpoint", async () => {
    const path = await tempPath();
    await writeFile(path, "hello\n");
    await expect(openCheckpoint(path, header)).rejects.toThrow(/not a rekey checkpoint/);
  });
});
