/**
 * The whole job over a local directory with an in-memory KMS: plan, rewrap, verification,
 * idempotence, conflicts, foreign and corrupt files, full re-encrypt, resume, failures.
 */
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decrypt, inspect, KmsKeyring } from "@rekey/core";
import { describe, expect, it } from "vitest";
import { JobError, planJob, runJob, type JobOptions } from "../src/index.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { sealWith } from "./helpers/messages.js";

interface Fixture {
  kms: FakeKms;
  key: string;
  dir: string;
  files: Map<string, Buffer>;
}

async function fixture(count = 12, options: { alias?: string } = {}): Promise<Fixture> {
  const kms = new FakeKms();
  const key = kms.addKey(options).arn;
  const dir = await mkdtemp(join(tmpdir(), "rekey-dir-"));
  await mkdir(join(dir, "nested", "deeper"), { recursive: true });
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const plaintext = randomBytes(i % 3 === 0 ? 200_000 : 500 + i);
    const path = join(dir, i % 2 ? "nested" : i % 3 ? "nested/deeper" : ".", `f${i}.rkey`);
    await writeFile(
      path,
      await sealWith(kms, [key], plaintext, { frameLength: 65536, context: { file: String(i) } }),
    );
    files.set(path, plaintext);
  }
  return { kms, key, dir, files };
}

function options(f: Fixture, extra: Partial<JobOptions> = {}): JobOptions {
  return { kms: f.kms, source: { kind: "dir", path: f.dir }, target: "current", kmsRps: Infinity, ...extra };
}

async function decrypted(f: Fixture, path: string): Promise<Buffer> {
  const { plaintext } = await decrypt(await readFile(path), {
    keyring: new KmsKeyring({ client: f.kms, allowedKeyArns: [f.key] }),
  });
  return plaintext;
}

describe("runJob over a directory", () => {
  it("rotation → plan shows old material → run rewraps every file onto the current material, payload untouched", async () => {
    const f = await fixture();
    const before = new Map<string, Buffer>();
    for (const path of f.files.keys()) before.set(path, await readFile(path));
    const oldMaterial = f.kms.currentMaterialId(f.key);
    const newMaterial = f.kms.rotate(f.key);

    let planned = 0;
    const plan = await planJob(options(f), { onPlan: (p) => (planned += p ? 1 : 0) });
    expect(planned).toBe(f.files.size);
    expect(plan.classes.rewrap.objects).toBe(f.files.size);
    expect(plan.bySourceMaterial[oldMaterial]?.objects).toBe(f.files.size);
    expect(plan.kmsCalls.byOperation.ReEncrypt).toBe(f.files.size);
    expect(f.kms.count("ReEncrypt")).toBe(0);

    const report = await runJob(options(f));
    expect(report.outcomes.rewrapped).toBe(f.files.size);
    expect(report.exitCode).toBe(0);
    expect(report.kms.byOperation.ReEncrypt).toBe(f.files.size);
    expect(f.kms.count("ReEncrypt")).toBe(f.files.size);
    for (const [path, plaintext] of f.files) {
      const now = await readFile(path);
      const info = inspect(now);
      expect(info.entries[0]?.keyMaterialId).toBe(newMaterial);
      const old = inspect(before.get(path) as Buffer);
      // Header bytes and body bytes are unchanged; only the wrapped-key section differs.
      expect(now.subarray(0, info.headerLength)).toEqual(
        (before.get(path) as Buffer).subarray(0, old.headerLength),
      );
      expect(now.subarray(info.bodyOffset)).toEqual((before.get(path) as Buffer).subarray(old.bodyOffset));
      expect(await decrypted(f, path)).toEqual(plaintext);
    }
    // No temporary file is left behind.
    const names = await readdir(f.dir, { recursive: true });
    expect(names.filter((n) => String(n).includes("rekey-tmp"))).toEqual([]);

    // Idempotent: a second run finds everything current and writes nothing.
    const calls = f.kms.count("ReEncrypt");
    const mtimes = await Promise.all(
      [...f.files.keys()].map(async (p) => (await readFile(p)).toString("hex")),
    );
    const again = await runJob(options(f));
    expect(again.outcomes.current).toBe(f.files.size);
    expect(again.bytes.written).toBe(0);
    expect(f.kms.count("ReEncrypt")).toBe(calls);
    expect(
      await Promise.all([...f.files.keys()].map(async (p) => (await readFile(p)).toString("hex"))),
    ).toEqual(mtimes);
  });

  it("foreign and corrupt files are reported, left alone, and make the exit code 2", async () => {
    const f = await fixture(3);
    f.kms.rotate(f.key);
    await writeFile(join(f.dir, "notes.txt"), "plain text, not rekey");
    const good = [...f.files.keys()][0] as string;
    const corrupt = Buffer.from(await readFile(good));
    corrupt[4] = 99; // unsupported version
    await writeFile(join(f.dir, "corrupt.rkey"), corrupt);
    const report = await runJob(options(f));
    expect(report.outcomes).toMatchObject({ rewrapped: 3, foreign: 1, unreadable: 1 });
    expect(report.exitCode).toBe(2);
    expect(report.failures.find((x) => x.object.endsWith("corrupt.rkey"))?.reason).toMatch(
      /unsupported format version/,
    );
    expect(await readFile(join(f.dir, "corrupt.rkey"))).toEqual(corrupt);
  });

  it("a rewritten file keeps its permission bits exactly, whatever the umask", async () => {
    const f = await fixture(3);
    f.kms.rotate(f.key);
    const modes = [0o664, 0o660, 0o775];
    const paths = [...f.files.keys()];
    for (const [i, p] of paths.entries()) await chmod(p, modes[i] as number);
    const umask = process.umask(0o027);
    try {
      const report = await runJob(options(f));
      expect(report.outcomes.rewrapped).toBe(3);
      for (const [i, p] of paths.entries()) expect((await stat(p)).mode & 0o7777).toBe(modes[i]);
      f.kms.rotate(f.key);
      const again = await runJob(options(f, { mode: "reencrypt" }));
      expect(again.outcomes.reencrypted).toBe(3);
      for (const [i, p] of paths.entries()) expect((await stat(p)).mode & 0o7777).toBe(modes[i]);
    } finally {
      process.umask(umask);
    }
  });

  it("a rewritten file keeps its owner and group (a job run as root does not take the files)", async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip();
    const f = await fixture(2);
    f.kms.rotate(f.key);
    const paths = [...f.files.keys()];
    await chown(paths[0] as string, 1234, 2345);
    const report = await runJob(options(f));
    expect(report.outcomes.rewrapped).toBe(2);
    const st = await stat(paths[0] as string);
    expect([st.uid, st.gid]).toEqual([1234, 2345]);
    const other = await stat(paths[1] as string);
    expect([other.uid, other.gid]).toEqual([0, 0]);
  });

  it("a file changed between plan and write is a conflict; the writer's data stays", async () => {
    const f = await fixture(4);
    f.kms.rotate(f.key);
    const victim = [...f.files.keys()][1] as string;
    const writerData = await sealWith(f.kms, [f.key], Buffer.from("the writer's new content"));
    const report = await runJob(
      options(f, {
        hooks: {
          afterPlan: async (plan) => {
            if (plan.ref.kind === "file" && plan.ref.path === victim) await writeFile(victim, writerData);
          },
        },
      }),
    );
    expect(report.outcomes.conflict).toBe(1);
    expect(report.outcomes.rewrapped).toBe(3);
    expect(await readFile(victim)).toEqual(writerData);
  });

  it("a disabled key fails each object cleanly (exit 3) and leaves the files as they were", async () => {
    const f = await fixture(5);
    f.kms.rotate(f.key);
    const before = await Promise.all([...f.files.keys()].map((p) => readFile(p)));
    f.kms.disable(f.key);
    const report = await runJob(options(f));
    expect(report.outcomes.failed).toBe(5);
    expect(report.exitCode).toBe(3);
    expect(report.failures[0]).toMatchObject({
      code: "ERR_KMS",
      reason: expect.stringMatching(/DisabledException/),
    });
    expect(await Promise.all([...f.files.keys()].map((p) => readFile(p)))).toEqual(before);
  });

  it("throttled KMS calls are retried and counted", async () => {
    const f = await fixture(3);
    f.kms.rotate(f.key);
    f.kms.fail({ operation: "ReEncrypt", error: "ThrottlingException", times: 4 });
    const report = await runJob(options(f, { retry: { baseDelayMs: 1 } }));
    expect(report.outcomes.rewrapped).toBe(3);
    expect(report.kms.throttled).toBe(4);
    expect(report.kms.byOperation.ReEncrypt).toBe(7);
  });

  it("a DescribeKey throttled past its retries is looked up again: a re-run does not rewrite current files", async () => {
    const f = await fixture(6);
    f.kms.rotate(f.key);
    expect((await runJob(options(f, { mode: "reencrypt" }))).outcomes.reencrypted).toBe(6);
    f.kms.fail({ operation: "DescribeKey", error: "ThrottlingException", times: 2 });
    const again = await runJob(
      options(f, { mode: "reencrypt", concurrency: 1, retry: { attempts: 2, baseDelayMs: 1 } }),
    );
    // The object whose lookup failed is moved (its material could not be compared); the others
    // are compared against the material looked up again, found current, and not written.
    expect(again.outcomes.reencrypted).toBeLessThanOrEqual(1);
    expect(again.outcomes.current).toBeGreaterThanOrEqual(5);
    expect(again.exitCode).toBe(0);
  });

  it("alias target moves every file to the alias's key and records the alias name", async () => {
    const f = await fixture(4);
    const next = f.kms.addKey({ alias: "alias/app-data" }).arn;
    const report = await runJob(options(f, { target: "alias:app-data", verify: "full" }));
    expect(report.target.keyArn).toBe(next);
    expect(report.outcomes.rewrapped).toBe(4);
    for (const [path, plaintext] of f.files) {
      const e = inspect(await readFile(path)).entries[0];
      expect(e).toMatchObject({
        keyArn: next,
        requestedKeyId: "alias/app-data",
        keyMaterialId: f.kms.currentMaterialId(next),
      });
      const { plaintext: p } = await decrypt(await readFile(path), {
        keyring: new KmsKeyring({ client: f.kms, keyId: "alias/app-data" }),
      });
      expect(p).toEqual(plaintext);
    }
  });

  it("full re-encrypt makes a new data key (new message id), keeps the context and plaintext", async () => {
    const f = await fixture(4);
    const ids = new Map<string, string>();
    for (const p of f.files.keys()) ids.set(p, inspect(await readFile(p)).messageId);
    const report = await runJob(options(f, { mode: "reencrypt", includeCurrent: true, verify: "full" }));
    expect(report.outcomes.reencrypted).toBe(4);
    for (const [path, plaintext] of f.files) {
      const info = inspect(await readFile(path));
      expect(info.messageId).not.toBe(ids.get(path));
      expect(info.encryptionContext.file).toBeDefined();
      expect(await decrypted(f, path)).toEqual(plaintext);
    }
  });

  it("resume: a stopped job continues from its checkpoint without redoing finished files", async () => {
    const f = await fixture(20);
    f.kms.rotate(f.key);
    const checkpoint = join(f.dir, "..", `${Date.now()}.checkpoint.jsonl`);
    const stop = new AbortController();
    let seen = 0;
    const first = await runJob(
      options(f, {
        checkpoint,
        concurrency: 2,
        stopSignal: stop.signal,
        hooks: { onResult: () => (++seen === 5 ? stop.abort() : undefined) },
      }),
    );
    expect(first.interrupted).toBe(true);
    expect(first.exitCode).toBe(130);
    const done = first.outcomes.rewrapped;
    expect(done).toBeGreaterThanOrEqual(5);
    expect(done).toBeLessThan(20);
    let entries = 0;
    const second = await runJob(options(f, { checkpoint, onSourceEntry: () => void entries++ }));
    expect(second.outcomes.rewrapped).toBe(20 - done);
    // The progress total counts what this run does, not what the checkpoint skips.
    expect(entries).toBe(20 - done);
    expect(second.fromCheckpoint.rewrapped).toBe(done);
    expect(second.exitCode).toBe(0);
    expect(f.kms.count("ReEncrypt")).toBe(20);
  });

  it("a checkpoint of another job is refused: reencrypt, then reencrypt --include-current for a leaked data key", async () => {
    const f = await fixture(3);
    const checkpoint = join(f.dir, "..", `${Date.now()}-leak.checkpoint.jsonl`);
    const target = `key:${f.key}`;
    // Everything is already under the key: the first run finds every file current.
    const first = await runJob(options(f, { mode: "reencrypt", target, checkpoint }));
    expect(first.outcomes.current).toBe(3);
    const ids = new Map<string, string>();
    for (const p of f.files.keys()) ids.set(p, inspect(await readFile(p)).messageId);
    // "Current" meant "already under the key", not "has a new data key": the checkpoint must not
    // let the leaked data key stay.
    await expect(
      runJob(options(f, { mode: "reencrypt", target, includeCurrent: true, checkpoint })),
    ).rejects.toSatisfy(
      (e) => e instanceof JobError && e.code === "ERR_JOB_CHECKPOINT" && /includeCurrent/.test(e.message),
    );
    await expect(
      runJob(options(f, { mode: "reencrypt", target, fromKeys: [f.key], checkpoint })),
    ).rejects.toThrow(/fromKeys/);
    const fresh = await runJob(
      options(f, { mode: "reencrypt", target, includeCurrent: true, checkpoint, freshCheckpoint: true }),
    );
    expect(fresh.outcomes.reencrypted).toBe(3);
    expect(fresh.fromCheckpoint).toEqual({});
    expect(fresh.exitCode).toBe(0);
    for (const p of f.files.keys()) expect(inspect(await readFile(p)).messageId).not.toBe(ids.get(p));
  });
});
