/**
 * `--include` / `--exclude` on job sources, and the exit-code rule for objects that are not
 * rekey messages (`foreign`): left alone and counted, exit code unchanged unless `strict`.
 * Excluded objects are never read: an S3 client that records every request proves it.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { JobError, planJob, runJob, type JobOptions } from "../src/index.js";
import { objectFilter } from "../src/sources/source-filter.js";
import { runVerdict } from "../src/runner/job-report.js";
import { EXIT_CODES } from "../src/errors.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { sealWith } from "./helpers/messages.js";
import { lines, runCli } from "./cli-keys-harness.js";

describe("objectFilter", () => {
  const s3 = (key: string) => ({ kind: "s3", bucket: "b", key }) as const;

  it("a glob without / matches the last segment at any depth; one with / matches the whole key", () => {
    const taken = objectFilter({ exclude: ["*.tmp", "logs/**"] })!;
    expect(taken(s3("a.tmp"))).toBe(false);
    expect(taken(s3("deep/er/a.tmp"))).toBe(false);
    expect(taken(s3("logs/2024/x.rkey"))).toBe(false);
    expect(taken(s3("data/logs/x.rkey"))).toBe(true);
    expect(taken(s3("data/a.rkey"))).toBe(true);
    expect(taken(s3(".hidden/.a.tmp"))).toBe(false);
  });

  it("include takes only what matches; exclude wins over include", () => {
    const taken = objectFilter({ include: ["*.rkey"], exclude: ["old/**"] })!;
    expect(taken(s3("a.rkey"))).toBe(true);
    expect(taken(s3("x/b.rkey"))).toBe(true);
    expect(taken(s3("x/b.txt"))).toBe(false);
    expect(taken(s3("old/c.rkey"))).toBe(false);
  });

  it("matches a file by its path below the directory, with / between folders", () => {
    const taken = objectFilter({ include: ["nested/**"] }, "/data/root")!;
    expect(taken({ kind: "file", path: "/data/root/nested/a.rkey" })).toBe(true);
    expect(taken({ kind: "file", path: "/data/root/a.rkey" })).toBe(false);
  });

  it("no pattern: no filter; an empty pattern is refused", () => {
    expect(objectFilter({})).toBeUndefined();
    expect(() => objectFilter({ exclude: [""] })).toThrow(JobError);
  });
});

describe("runVerdict: objects that are not rekey messages", () => {
  const base = { interrupted: false, fromCheckpoint: {}, invalid: 0 };

  it("foreign objects do not change the exit code; with strict they make it 2", () => {
    expect(runVerdict({ ...base, outcomes: { rewrapped: 5, foreign: 1 } })).toEqual({
      complete: true,
      exitCode: EXIT_CODES.ok,
    });
    expect(runVerdict({ ...base, outcomes: { rewrapped: 5, foreign: 1 }, strict: true })).toEqual({
      complete: false,
      exitCode: EXIT_CODES.incomplete,
    });
    expect(
      runVerdict({ ...base, outcomes: { rewrapped: 5 }, fromCheckpoint: { foreign: 2 }, strict: true }),
    ).toEqual({ complete: false, exitCode: EXIT_CODES.incomplete });
  });

  it("unreadable, esdk and conflict still make it 2 without strict", () => {
    for (const outcome of ["unreadable", "esdk", "conflict", "skipped"])
      expect(runVerdict({ ...base, outcomes: { rewrapped: 1, [outcome]: 1 } }).exitCode, outcome).toBe(
        EXIT_CODES.incomplete,
      );
  });
});

interface DirFixture {
  kms: FakeKms;
  dir: string;
  messages: string[];
}

/** Three rekey messages (one nested), a stray text file, and a corrupt message under tmp/. */
async function dirFixture(): Promise<DirFixture> {
  const kms = new FakeKms();
  const key = kms.addKey().arn;
  const dir = await mkdtemp(join(tmpdir(), "rekey-filter-"));
  await mkdir(join(dir, "nested"));
  await mkdir(join(dir, "tmp"));
  const messages = [join(dir, "a.rkey"), join(dir, "b.rkey"), join(dir, "nested", "c.rkey")];
  for (const path of messages) await writeFile(path, await sealWith(kms, [key], randomBytes(300)));
  await writeFile(join(dir, "README.txt"), "not a rekey message");
  const corrupt = Buffer.from(await readFile(messages[0]!));
  corrupt[4] = 99; // unsupported version: unreadable if read
  await writeFile(join(dir, "tmp", "broken.rkey"), corrupt);
  kms.rotate(key);
  return { kms, dir, messages };
}

function options(f: DirFixture, source: Partial<JobOptions["source"]>, extra: Partial<JobOptions> = {}) {
  return {
    kms: f.kms,
    source: { kind: "dir", path: f.dir, ...source },
    target: "current",
    kmsRps: Infinity,
    ...extra,
  } as JobOptions;
}

describe("runJob with --include / --exclude over a directory", () => {
  it("without filters: the stray file is foreign (exit unchanged), the corrupt one unreadable (exit 2)", async () => {
    const f = await dirFixture();
    const report = await runJob(options(f, {}));
    expect(report.outcomes).toMatchObject({ rewrapped: 3, foreign: 1, unreadable: 1 });
    expect(report.excluded).toBe(0);
    expect(report.exitCode).toBe(EXIT_CODES.incomplete);
  });

  it("excluded objects are counted, never processed; a stray file alone leaves exit 0, with strict exit 2", async () => {
    const f = await dirFixture();
    const report = await runJob(options(f, { exclude: ["tmp/**"] }));
    expect(report.outcomes).toMatchObject({ rewrapped: 3, foreign: 1, unreadable: 0 });
    expect(report.objects).toBe(4);
    expect(report.excluded).toBe(1);
    expect(report.exitCode).toBe(EXIT_CODES.ok);
    expect(report.complete).toBe(true);
    expect(report.notes.join("\n")).toMatch(/1 object\(s\) are not rekey .*do not change the exit code/);
    // The corrupt file was not touched by the run.
    expect((await readFile(join(f.dir, "tmp", "broken.rkey")))[4]).toBe(99);

    const strict = await runJob(options(f, { exclude: ["tmp/**"] }, { strict: true }));
    expect(strict.outcomes).toMatchObject({ current: 3, foreign: 1 });
    expect(strict.strict).toBe(true);
    expect(strict.exitCode).toBe(EXIT_CODES.incomplete);

    const clean = await runJob(options(f, { exclude: ["tmp/**", "*.txt"] }, { strict: true }));
    expect(clean.excluded).toBe(2);
    expect(clean.outcomes).toMatchObject({ current: 3, foreign: 0, unreadable: 0 });
    expect(clean.exitCode).toBe(EXIT_CODES.ok);
  });

  it("include takes only matching paths; the plan counts the rest as excluded", async () => {
    const f = await dirFixture();
    const plan = await planJob(options(f, { include: ["nested/**", "a.rkey"] }));
    expect(plan.objects).toBe(2);
    expect(plan.excluded).toBe(3);
    expect(plan.classes.rewrap.objects).toBe(2);
    expect(plan.classes.foreign.objects).toBe(0);
  });

  it("a checkpoint written with other globs is refused", async () => {
    const f = await dirFixture();
    const checkpoint = join(f.dir, "..", `${f.dir.split("/").at(-1)}.checkpoint.jsonl`);
    await runJob(options(f, { exclude: ["tmp/**"] }, { checkpoint }));
    await expect(runJob(options(f, {}, { checkpoint }))).rejects.toMatchObject({
      code: "ERR_JOB_CHECKPOINT",
    });
  });
});

/** An S3 client that lists the given keys and records every request; any read fails as deleted. */
function recordingS3(keys: string[]): { client: S3Client; requests: string[] } {
  const requests: string[] = [];
  // A real client (the SDK's paginator checks the class) whose send never reaches a network.
  const client = new S3Client({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:9",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  Object.assign(client, {
    send(command: { constructor: { name: string }; input: { Key?: string } }): Promise<unknown> {
      const op = command.constructor.name.replace(/Command$/, "");
      requests.push(`${op} ${command.input.Key ?? ""}`.trim());
      if (op === "ListObjectsV2")
        return Promise.resolve({ IsTruncated: false, Contents: keys.map((Key) => ({ Key, Size: 100 })) });
      const gone = Object.assign(new Error("NoSuchKey"), {
        name: "NoSuchKey",
        $metadata: { httpStatusCode: 404 },
      });
      return Promise.reject(gone);
    },
  });
  return { client, requests };
}

describe("planJob with globs over an S3 listing and a manifest", () => {
  it("an excluded object is never requested", async () => {
    const s3 = recordingS3(["data/a.rkey", "data/b.tmp", "logs/x.rkey", "data/c.rkey"]);
    const plan = await planJob({
      kms: new FakeKms(),
      s3: s3.client,
      source: { kind: "s3", bucket: "b", exclude: ["*.tmp", "logs/**"] },
      target: "current",
    });
    expect(plan.excluded).toBe(2);
    const reads = s3.requests.filter((r) => !r.startsWith("ListObjectsV2"));
    expect(new Set(reads.map((r) => r.split(" ")[1]))).toEqual(new Set(["data/a.rkey", "data/c.rkey"]));
  });

  it("manifest lines are matched by key", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rekey-filter-manifest-"));
    const manifest = join(dir, "m.csv");
    await writeFile(
      manifest,
      "data-bucket,keep/one.rkey\ndata-bucket,skip/two.rkey\ndata-bucket,keep/three.rkey\n",
    );
    const s3 = recordingS3([]);
    const plan = await planJob({
      kms: new FakeKms(),
      s3: s3.client,
      source: { kind: "manifest", path: manifest, include: ["keep/**"] },
      target: "current",
    });
    expect(plan.excluded).toBe(1);
    expect(s3.requests.some((r) => r.includes("skip/two.rkey"))).toBe(false);
    expect(s3.requests.some((r) => r.includes("keep/one.rkey"))).toBe(true);
  });
});

describe("the CLI's --include / --exclude / --strict", () => {
  it("--postgres refuses them with one usage line", async () => {
    const r = await runCli([
      "plan",
      "--postgres",
      "postgres://db/app",
      "--table",
      "t",
      "--column",
      "c",
      "--exclude",
      "*.tmp",
    ]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(
      /--include and --exclude apply to --source, --manifest and --dir, not to --postgres/,
    );
  });

  it("plan prints the excluded count; rewrap exits 0 with a stray file and 2 with --strict", async () => {
    const f = await dirFixture();
    const aws = { createKmsClient: () => f.kms } as never;
    const plan = await runCli(["plan", "--dir", f.dir, "--exclude", "tmp/**"], { aws });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("Excluded by --include / --exclude: 1 object(s), not read");
    const run = await runCli(["rewrap", "--dir", f.dir, "--exclude", "tmp/**", "--kms-rps", "0"], { aws });
    expect(run.stdout).toMatch(/Note: 1 object\(s\) are not rekey/);
    expect(run.stdout).toContain(
      "Exit code 0: every object is on the target (1 object(s) that are not rekey or ESDK messages left alone, not counted).",
    );
    expect(run.code).toBe(0);
    const strict = await runCli(["rewrap", "--dir", f.dir, "--exclude", "tmp/**", "--strict"], { aws });
    expect(strict.code).toBe(2);
  });
});
