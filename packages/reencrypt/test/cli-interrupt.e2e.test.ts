/**
 * Ctrl-C with real signals on real processes, through the launcher users run
 * (`node packages/reencrypt/bin/rekey.js`): file commands leave no temporary file and no output,
 * jobs write their checkpoint, report and summary and resume, a second Ctrl-C exits at once and
 * still leaves no temporary file and a resumable checkpoint. Every signal is sent once the
 * child's output (or its consumption of stdin) shows the work is under way — never after a delay.
 */
import { CreateKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { ListMultipartUploadsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import type { JobReport } from "../src/index.js";
import { childEnv, REPO_ROOT, spawnCli, type CliChild } from "./helpers/cli.js";
import { newBucket, putEncrypted } from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rekey-interrupt-"));
});

/**
 * Writes `bytes` of `data` (from `offset`) into the child's stdin, each chunk after the last was
 * taken by the pipe, and leaves stdin open: the command cannot finish, it waits for more.
 * When this resolves the child has read all but the pipe's buffer.
 */
async function feed(child: CliChild, data: Buffer, bytes: number): Promise<void> {
  const stdin = child.process.stdin!;
  stdin.on("error", () => {}); // EPIPE once the child is gone
  for (let at = 0; at < bytes; at += 64 * 1024) {
    await new Promise<void>((resolve, reject) =>
      stdin.write(data.subarray(at, Math.min(at + 64 * 1024, bytes)), (e) => (e ? reject(e) : resolve())),
    );
  }
}

/** The names in a folder that are temporary outputs. */
async function temps(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((n) => n.endsWith(".rekey-tmp"));
}

/** A bucket of `count` small objects under a key whose material was rotated since. */
async function bucketOf(count: number): Promise<string> {
  const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  const bucket = await newBucket(aws.s3);
  let next = 0;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (next < count) {
        const i = next++;
        await putEncrypted(aws.s3, aws.kms, bucket, `o/${String(i).padStart(4, "0")}.rkey`, {
          keyId: key,
          seed: i,
          plaintextSize: 200 + i,
        });
      }
    }),
  );
  await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
  return bucket;
}

/** The report of the last `report` JSON line. */
function lastReport(child: CliChild): JobReport | undefined {
  const line = [...child.lines].reverse().find((l) => l.includes('"event":"report"'));
  return line ? (JSON.parse(line) as { report: JobReport }).report : undefined;
}

describe("file commands interrupted", () => {
  let folder: string;
  let plaintext: Buffer;
  let message: Buffer;

  beforeAll(async () => {
    folder = join(dir, "files");
    mkdirSync(folder);
    await writeFile(join(folder, "wrap.key"), randomBytes(32));
    plaintext = randomBytes(24 * MiB);
    await writeFile(join(folder, "big.bin"), plaintext);
    const enc = spawnCli(undefined, ["encrypt", "--raw-key-file", "wrap.key", "big.bin", "-o", "big.rkey"], {
      launcher: true,
      cwd: folder,
    });
    expect(await enc.exited).toBe(0);
    message = await readFile(join(folder, "big.rkey"));
  }, 120_000);

  /**
   * Starts `rekey <args>` in the folder reading a pipe, and returns once it took 8 MiB of `input`
   * from it: the output is open and frames are being written to its temporary file.
   */
  async function midway(args: readonly string[], input: Buffer): Promise<CliChild> {
    const child = spawnCli(undefined, [...args, "--raw-key-file", "wrap.key"], {
      launcher: true,
      cwd: folder,
      stdin: "pipe",
    });
    await feed(child, input, 8 * MiB);
    expect(await temps(folder)).toHaveLength(1);
    return child;
  }

  for (const command of ["encrypt", "decrypt"] as const) {
    it(`${command} from a pipe, Ctrl-C: exit 130, one line, no temporary file, no output`, async () => {
      const out = `${command}-out`;
      const child = await midway([command, "-o", out], command === "encrypt" ? plaintext : message);
      child.process.kill("SIGINT");
      expect(await child.exited).toBe(130);
      expect(child.errLines).toEqual([`rekey: interrupted: nothing was written to ${out} [ERR_INTERRUPTED]`]);
      expect(await temps(folder)).toEqual([]);
      expect(existsSync(join(folder, out))).toBe(false);
    }, 120_000);
  }

  it("decrypt --force over an existing file, Ctrl-C: the file the command did not create is kept", async () => {
    await writeFile(join(folder, "kept.bin"), "precious\n");
    const child = await midway(["decrypt", "-o", "kept.bin", "--force"], message);
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(130);
    expect(await temps(folder)).toEqual([]);
    expect(await readFile(join(folder, "kept.bin"), "utf8")).toBe("precious\n");
  }, 120_000);

  it("encrypt, Ctrl-C twice at once: exit 130, one line, no temporary file, no output", async () => {
    const child = await midway(["encrypt", "-o", "twice.rkey"], plaintext);
    child.process.kill("SIGINT");
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(130);
    // Which of the two handled it depends on how fast the first wound down; both leave nothing.
    expect(child.errLines).toHaveLength(1);
    expect(child.errLines[0]).toMatch(
      /^rekey: interrupted(: nothing was written to twice\.rkey| again: exiting at once) \[ERR_INTERRUPTED\]$/,
    );
    expect(await temps(folder)).toEqual([]);
    expect(existsSync(join(folder, "twice.rkey"))).toBe(false);
  }, 120_000);
});

describe("file commands to s3:// interrupted", () => {
  it("encrypt from a pipe to s3://, Ctrl-C: exit 130, the multipart upload is aborted, no object", async () => {
    const bucket = await newBucket(aws.s3);
    const folder = await mkdtemp(join(dir, "s3-"));
    await writeFile(join(folder, "wrap.key"), randomBytes(32));
    const child = spawnCli(aws, ["encrypt", "--raw-key-file", "wrap.key", "-o", `s3://${bucket}/out.rkey`], {
      launcher: true,
      cwd: folder,
      stdin: "pipe",
    });
    // 24 MiB taken from the pipe: parts of 8 MiB have gone up in a multipart upload.
    await feed(child, randomBytes(24 * MiB), 24 * MiB);
    const open = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(open.Uploads?.map((u) => u.Key)).toEqual(["out.rkey"]);
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(130);
    expect(child.errLines).toEqual([
      `rekey: interrupted: nothing was written to s3://${bucket}/out.rkey [ERR_INTERRUPTED]`,
    ]);
    const left = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(left.Uploads ?? []).toEqual([]);
    const objects = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(objects.Contents ?? []).toEqual([]);
  }, 120_000);
});

describe("jobs interrupted", () => {
  it("Ctrl-C five times: each run writes its checkpoint, report and summary and exits 130; the same command finishes the rest", async (ctx) => {
    if (!aws.faults) return ctx.skip(aws.missing("faults"));
    const total = 240;
    const bucket = await bucketOf(total);
    const checkpoint = join(dir, "five.checkpoint.jsonl");
    const args = ["rewrap", "--source", `s3://${bucket}/`, "--checkpoint", checkpoint, "--concurrency", "4"];
    // Slow enough that no run finishes the bucket before its Ctrl-C.
    aws.faults.inject("kms:ReEncrypt", { latencyMs: 40 });
    let rewrapped = 0;
    for (let run = 0; run < 5; run++) {
      const reportPath = join(dir, `five-${run}.json`);
      const text = run === 4;
      const child = spawnCli(aws, [...args, ...(text ? [] : ["--json"]), "--report", reportPath], {
        launcher: true,
      });
      if (text) await child.waitForErrLine(/^Store s3:\/\//);
      else await child.waitForLines(/"event":"object"/, 3 + run);
      child.process.kill("SIGINT");
      expect(await child.exited).toBe(130);
      const written = JSON.parse(await readFile(reportPath, "utf8")) as JobReport;
      expect(written.interrupted).toBe(true);
      expect(written.outcomes.failed).toBe(0);
      expect(written.exitCode).toBe(130);
      if (text) {
        expect(child.lines.join("\n")).toMatch(/rewrapped +\d+|Objects: 0/);
        expect(child.errLines).toContain(
          `rekey: interrupted after ${written.objects} object(s); checkpoint ${checkpoint} is written: run the same command to resume.`,
        );
      } else {
        expect(lastReport(child)).toEqual(written);
        expect(child.lines).toContainEqual(expect.stringContaining("Ctrl-C again to exit at once"));
        expect(written.outcomes.rewrapped).toBeGreaterThan(0);
      }
      expect(written.fromCheckpoint.rewrapped ?? 0).toBe(rewrapped);
      rewrapped += written.outcomes.rewrapped;
      expect(existsSync(checkpoint)).toBe(true);
    }
    expect(rewrapped).toBeLessThan(total);
    aws.faults.reset();
    const last = spawnCli(aws, [...args, "--json", "--report", join(dir, "five-last.json")], {
      launcher: true,
    });
    expect(await last.exited).toBe(0);
    const report = lastReport(last)!;
    expect(report.fromCheckpoint.rewrapped).toBe(rewrapped);
    expect(report.outcomes.rewrapped).toBe(total - rewrapped);
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$|\.rekey-tmp$/));
  }, 300_000);

  it("Ctrl-C twice: the second exits at once (no report), the checkpoint resumes", async (ctx) => {
    if (!aws.faults) return ctx.skip(aws.missing("faults"));
    const total = 120;
    const bucket = await bucketOf(total);
    const checkpoint = join(dir, "twice.checkpoint.jsonl");
    const reportPath = join(dir, "twice.json");
    const args = ["rewrap", "--source", `s3://${bucket}/`, "--checkpoint", checkpoint, "--concurrency", "4"];
    // A first run leaves a checkpoint with progress in it.
    const first = spawnCli(aws, [...args, "--json", "--report", join(dir, "twice-1.json")], {
      launcher: true,
    });
    await first.waitForLines(/"event":"object"/, 10);
    first.process.kill("SIGINT");
    expect(await first.exited).toBe(130);
    const before = lastReport(first)!.outcomes.rewrapped;

    // The second run's objects hang in KMS: its graceful stop cannot finish before the second Ctrl-C.
    aws.faults.inject("kms:ReEncrypt", { latencyMs: 60_000 });
    const calls = aws.faults.calls("kms:ReEncrypt");
    const child = spawnCli(aws, [...args, "--json", "--report", reportPath], { launcher: true });
    while (aws.faults.calls("kms:ReEncrypt") < calls + 4) await new Promise((r) => setTimeout(r, 20));
    child.process.kill("SIGINT");
    await child.waitForLine(/Ctrl-C again to exit at once/);
    child.process.kill("SIGINT");
    expect(await child.exited).toBe(130);
    expect(child.errLines).toEqual(["rekey: interrupted again: exiting at once [ERR_INTERRUPTED]"]);
    expect(child.lines.some((l) => l.includes('"event":"report"'))).toBe(false);
    expect(existsSync(reportPath)).toBe(false);
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$|\.rekey-tmp$/));

    aws.faults.reset();
    const resumed = spawnCli(aws, [...args, "--json", "--report", join(dir, "twice-3.json")], {
      launcher: true,
    });
    expect(await resumed.exited).toBe(0);
    const report = lastReport(resumed)!;
    expect(report.fromCheckpoint.rewrapped).toBe(before);
    expect(report.outcomes.rewrapped).toBe(total - before);
  }, 300_000);
});

describe("pnpm exec rekey", () => {
  const folder = join(REPO_ROOT, "tmp");
  let work: string;
  beforeAll(async () => {
    mkdirSync(folder, { recursive: true });
    work = await mkdtemp(join(folder, "interrupt-"));
    await writeFile(join(work, "wrap.key"), randomBytes(32));
  });
  afterAll(async () => {
    const { rm } = await import("node:fs/promises");
    await rm(work, { recursive: true, force: true });
  });

  it("Ctrl-C to the process group (as a terminal sends it): pnpm returns at once, rekey still removes its temporary file", async () => {
    // A terminal's Ctrl-C reaches every process of the foreground group: pnpm and rekey alike.
    // pnpm then sends rekey SIGTERM and exits without waiting for it.
    const child = spawn(
      "pnpm",
      ["exec", "rekey", "encrypt", "--raw-key-file", "wrap.key", "-o", "out.rkey"],
      {
        cwd: work,
        env: { PATH: process.env["PATH"], HOME: process.env["HOME"] },
        stdio: ["pipe", "ignore", "pipe"],
        detached: true,
      },
    );
    const err: Buffer[] = [];
    child.stderr.on("data", (c: Buffer) => err.push(c));
    // rekey inherited this pipe: it closes once pnpm and rekey both exited.
    const stderrClosed = new Promise<void>((resolve) => child.stderr.on("close", () => resolve()));
    const exited = new Promise<number | string>((resolve) =>
      child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
    );
    const data = randomBytes(8 * MiB);
    child.stdin.on("error", () => {});
    for (let at = 0; at < data.length; at += 64 * 1024)
      await new Promise<void>((resolve, reject) =>
        child.stdin.write(data.subarray(at, at + 64 * 1024), (e) => (e ? reject(e) : resolve())),
      );
    expect(await temps(work)).toHaveLength(1);
    process.kill(-child.pid!, "SIGINT");
    // pnpm ends by the signal (a shell shows 130).
    expect([130, "SIGINT"]).toContain(await exited);
    await stderrClosed;
    expect(Buffer.concat(err).toString()).toBe(
      "rekey: interrupted: nothing was written to out.rkey [ERR_INTERRUPTED]\n",
    );
    expect(await temps(work)).toEqual([]);
    expect(existsSync(join(work, "out.rkey"))).toBe(false);
  }, 120_000);

  it("a job: pnpm returns at once, rekey still writes its report and summary and its checkpoint resumes", async (ctx) => {
    if (!aws.faults) return ctx.skip(aws.missing("faults"));
    const total = 120;
    const bucket = await bucketOf(total);
    const checkpoint = join(work, "job.checkpoint.jsonl");
    const reportPath = join(work, "job.json");
    const args = ["rewrap", "--source", `s3://${bucket}/`, "--checkpoint", checkpoint, "--concurrency", "4"];
    aws.faults.inject("kms:ReEncrypt", { latencyMs: 40 });
    const child = spawn("pnpm", ["exec", "rekey", ...args, "--json", "--report", reportPath], {
      cwd: work,
      env: childEnv(aws),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const lines: string[] = [];
    let seen = 0;
    const started = new Promise<void>((resolve) =>
      child.stdout.on("data", (c: Buffer) => {
        lines.push(c.toString());
        seen += c.toString().split('"event":"object"').length - 1;
        if (seen >= 3) resolve();
      }),
    );
    // rekey inherited these pipes: they close once pnpm and rekey both exited.
    const closed = new Promise<void>((resolve) => child.stdout.on("close", () => resolve()));
    child.stderr.resume();
    await started;
    process.kill(-child.pid!, "SIGINT");
    await closed;
    const report = JSON.parse(await readFile(reportPath, "utf8")) as JobReport;
    expect(report.interrupted).toBe(true);
    expect(lines.join("")).toContain('"event":"report"');
    aws.faults.reset();
    const resumed = spawnCli(aws, [...args, "--json", "--report", join(work, "job-2.json")], {
      launcher: true,
    });
    expect(await resumed.exited).toBe(0);
    expect(lastReport(resumed)!.fromCheckpoint.rewrapped).toBe(report.outcomes.rewrapped);
  }, 300_000);
});
