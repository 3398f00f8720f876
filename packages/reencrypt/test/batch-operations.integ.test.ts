/** The S3 Batch Operations handler runs the job's per-object code on each task. */
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { batchOperationsHandler, DEFAULT_PROBE_PREFIX, JobError, runJob } from "../src/index.js";
import { writeBatchManifest } from "../src/batch-ops/submit-job.js";
import { headerOf, newBucket, plaintextDigestOf, putEncrypted } from "./helpers/s3-objects.js";

const aws = useLocalAws();

describe("batchOperationsHandler", () => {
  it("rewraps each task's object and answers a result per task", async () => {
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(aws.s3);
    const a = await putEncrypted(aws.s3, aws.kms, bucket, "dir/a b.rkey", {
      keyId: key,
      seed: 1,
      plaintextSize: 3000,
    });
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "plain.txt", Body: "not rekey" }));
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const handler = batchOperationsHandler({
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: aws.createS3Client({ maxAttempts: 1 }),
      target: "current",
    });
    const out = await handler({
      invocationSchemaVersion: "1.0",
      invocationId: "inv-1",
      job: { id: "job-1" },
      tasks: [
        { taskId: "t1", s3BucketArn: `arn:aws:s3:::${bucket}`, s3Key: "dir/a+b.rkey" },
        { taskId: "t2", s3BucketArn: `arn:aws:s3:::${bucket}`, s3Key: "plain.txt" },
        { taskId: "t3", s3BucketArn: `arn:aws:s3:::${bucket}`, s3Key: "missing.rkey" },
      ],
    });
    expect(out.invocationId).toBe("inv-1");
    expect(out.results.map((r) => [r.taskId, r.resultCode])).toEqual([
      ["t1", "Succeeded"],
      ["t2", "PermanentFailure"],
      // Gone: a retry cannot bring it back.
      ["t3", "PermanentFailure"],
    ]);
    expect(out.results[0]?.resultString).toMatch(/^rewrapped/);
    expect(out.results[1]?.resultString).toMatch(/^foreign: not a rekey message/);
    expect((await headerOf(aws.s3, bucket, a.key)).entries[0]?.keyArn).toBe(key);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, a.key, [key])).toBe(a.plaintextDigest);

    // Schema 2.0 names the bucket directly; the object is now current.
    const again = await handler({
      invocationSchemaVersion: "2.0",
      invocationId: "inv-2",
      tasks: [{ taskId: "t4", s3Bucket: bucket, s3Key: "dir/a%20b.rkey", s3VersionId: null }],
    });
    expect(again.results[0]?.resultCode).toBe("Succeeded");
    if (aws.capabilities.keyMaterialIdInResponses) expect(again.results[0]?.resultString).toMatch(/^current/);
  });

  it("probes each bucket once per container; a store that ignores conditional writes fails every task permanently, untouched", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const good = await newBucket(aws.s3);
    const ignoring = await newBucket(aws.s3);
    control.setBucketBehavior(ignoring, { conditionalWrites: "ignore" });
    for (const bucket of [good, ignoring])
      for (const k of ["a.rkey", "b.rkey"])
        await putEncrypted(aws.s3, aws.kms, bucket, k, { keyId: key, seed: 7, plaintextSize: 700 });
    const before = await headerOf(aws.s3, ignoring, "a.rkey");
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    let probes = 0;
    const unsubscribe = control.beforeRequest((req) => {
      if (req.operation === "CreateMultipartUpload" && req.key?.startsWith(DEFAULT_PROBE_PREFIX)) probes++;
    });
    const handler = batchOperationsHandler({
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: aws.createS3Client({ maxAttempts: 1 }),
      target: "current",
    });
    const task = (id: string, bucket: string, k: string) => ({ taskId: id, s3Bucket: bucket, s3Key: k });
    try {
      for (const [i, k] of ["a.rkey", "b.rkey"].entries()) {
        const out = await handler({
          invocationSchemaVersion: "2.0",
          invocationId: `inv-${i}`,
          tasks: [task(`g${i}`, good, k), task(`i${i}`, ignoring, k)],
        });
        expect(out.results.map((r) => r.resultCode)).toEqual(["Succeeded", "PermanentFailure"]);
        expect(out.results[1]?.resultString).toMatch(
          /does not honour conditional writes.*If-Match on PutObject/,
        );
      }
    } finally {
      unsubscribe();
    }
    expect(probes).toBe(2);
    expect((await headerOf(aws.s3, ignoring, "a.rkey")).entries).toEqual(before.entries);
  });

  it("a retried task of a version-pinned object succeeds: the current version is the job's rewrite of it", async () => {
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(aws.s3, true);
    const o = await putEncrypted(aws.s3, aws.kms, bucket, "pinned.rkey", {
      keyId: key,
      seed: 2,
      plaintextSize: 2000,
    });
    const v1 = (await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }))).VersionId!;
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const handler = batchOperationsHandler({
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: aws.createS3Client({ maxAttempts: 1 }),
      target: "current",
    });
    const task = {
      taskId: "t1",
      s3BucketArn: `arn:aws:s3:::${bucket}`,
      s3Key: "pinned.rkey",
      s3VersionId: v1,
    };
    const event = { invocationSchemaVersion: "1.0", invocationId: "inv-1", tasks: [task] };
    const first = await handler(event);
    expect(first.results[0]).toMatchObject({
      resultCode: "Succeeded",
      resultString: expect.stringMatching(/^rewrapped/),
    });
    // S3 Batch Operations runs the task again (its answer was lost, or the job is re-run).
    const again = await handler({ ...event, invocationId: "inv-2" });
    expect(again.results[0]?.resultCode).toBe("Succeeded");
    expect(again.results[0]?.resultString).toMatch(
      /is no longer current; the current one is this job's rewrite of it/,
    );
    const versions = await aws.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: o.key }));
    if (aws.capabilities.keyMaterialIdInResponses) {
      expect(again.results[0]?.resultString).toMatch(/^current/);
      // The retry wrote nothing: the pinned version and the job's one.
      expect(versions.Versions ?? []).toHaveLength(2);
    }
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
  });

  it("a full re-encrypt of a pinned version, run again from the same manifest, finds its own work done", async () => {
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const target = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(aws.s3, true);
    const o = await putEncrypted(aws.s3, aws.kms, bucket, "leaked.rkey", {
      keyId: key,
      seed: 3,
      plaintextSize: 2000,
    });
    const v1 = (await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }))).VersionId!;
    const dir = await mkdtemp(join(tmpdir(), "rekey-pinned-"));
    const manifest = join(dir, "objects.csv");
    await writeFile(manifest, `${bucket},${o.key},${v1}\n`);
    const options = {
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: aws.createS3Client({ maxAttempts: 1 }),
      source: { kind: "manifest", path: manifest },
      target: `key:${target}`,
      mode: "reencrypt",
      includeCurrent: true,
      kmsRps: Infinity,
    } as const;
    const first = await runJob(options);
    expect(first.outcomes.reencrypted).toBe(1);
    const written = (await headerOf(aws.s3, bucket, o.key)).messageId;
    const again = await runJob(options);
    expect(again.failures).toEqual([]);
    expect(again.exitCode).toBe(0);
    // The current version has a new data key already: it is not re-encrypted again.
    expect(again.outcomes.current).toBe(1);
    expect(again.s3.byOperation.PutObject ?? 0).toBe(0);
    expect((await headerOf(aws.s3, bucket, o.key)).messageId).toBe(written);
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
    expect(head.Metadata).toMatchObject({ "rekey-source-version-id": v1 });
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [target])).toBe(o.plaintextDigest);
  });

  it("retries are S3's: throttling and 5xx are temporary after one quick retry; a disabled key is permanent", async (ctx) => {
    if (!aws.faults) ctx.skip(aws.missing("faults"));
    const faults = aws.faults!;
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(aws.s3);
    for (const name of ["a", "b", "c"])
      await putEncrypted(aws.s3, aws.kms, bucket, `${name}.rkey`, {
        keyId: key,
        seed: 9,
        plaintextSize: 900,
      });
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const handler = batchOperationsHandler({
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: aws.createS3Client({ maxAttempts: 1 }),
      target: "current",
      kmsRps: Infinity,
    });
    const run = async (s3Key: string): Promise<{ resultCode: string; resultString: string }> => {
      const out = await handler({
        invocationSchemaVersion: "2.0",
        invocationId: s3Key,
        tasks: [{ taskId: s3Key, s3Bucket: bucket, s3Key }],
      });
      return out.results[0]!;
    };
    // Every ReEncrypt throttled: one quick retry in the function, then it is S3's to retry.
    faults.inject("kms:ReEncrypt", { error: "throttle" });
    const before = faults.calls("kms:ReEncrypt");
    expect(await run("a.rkey")).toMatchObject({ resultCode: "TemporaryFailure" });
    expect(faults.calls("kms:ReEncrypt") - before).toBe(2);
    faults.clear();
    faults.inject("s3:PutObject", { error: "unavailable" });
    expect(await run("b.rkey")).toMatchObject({ resultCode: "TemporaryFailure" });
    faults.clear();
    // The retry S3 Batch Operations makes later succeeds.
    expect(await run("a.rkey")).toMatchObject({ resultCode: "Succeeded" });
    await aws.kms.send(new DisableKeyCommand({ KeyId: key }));
    try {
      expect(await run("c.rkey")).toMatchObject({
        resultCode: "PermanentFailure",
        resultString: expect.stringMatching(/DisabledException/),
      });
    } finally {
      await aws.kms.send(new EnableKeyCommand({ KeyId: key }));
    }
  });

  it("a target that does not resolve fails the invocation, and the next one tries again", async () => {
    const handler = batchOperationsHandler({ kms: aws.kms, s3: aws.s3, target: "alias:rekey-none-such" });
    const event = { invocationSchemaVersion: "1.0", invocationId: "x", tasks: [] };
    await expect(handler(event)).rejects.toSatisfy(
      (e) => e instanceof JobError && e.code === "ERR_JOB_TARGET",
    );
    await expect(handler(event)).rejects.toThrow(/alias alias\/rekey-none-such does not exist/);
  });
});

describe("writeBatchManifest", () => {
  it("writes the manifest in source order whatever order the plans finish in: the same objects, the same bytes", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(aws.s3);
    const names = Array.from({ length: 12 }, (_, i) => `o${String(i).padStart(2, "0")}.rkey`);
    for (const [i, name] of names.entries())
      await putEncrypted(aws.s3, aws.kms, bucket, name, { keyId: key, seed: 40 + i, plaintextSize: 300 });
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const dir = await mkdtemp(join(tmpdir(), "rekey-manifest-"));
    const job = {
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: aws.createS3Client({ maxAttempts: 1 }),
      source: { kind: "s3" as const, bucket },
      target: "current",
      concurrency: 12,
    };
    // Each header read waits until every later object's header read has been answered, so the
    // plans finish in the reverse of the listing's order.
    const answered = new Set<string>();
    const unsubscribe = control.beforeRequest(async (req) => {
      if (req.operation !== "GetObject" || req.bucket !== bucket || !req.key) return;
      const later = names.slice(names.indexOf(req.key) + 1);
      while (!later.every((n) => answered.has(n))) await new Promise((r) => setTimeout(r, 5));
      answered.add(req.key);
    });
    let reversed;
    try {
      reversed = await writeBatchManifest(job, join(dir, "reversed.csv"));
    } finally {
      unsubscribe();
    }
    const inOrder = await writeBatchManifest({ ...job, concurrency: 1 }, join(dir, "in-order.csv"));
    const expected = names.map((n) => `${bucket},${n}\n`).join("");
    expect(await readFile(join(dir, "reversed.csv"), "utf8")).toBe(expected);
    expect(await readFile(join(dir, "in-order.csv"), "utf8")).toBe(expected);
    expect(reversed.manifest.md5).toBe(inOrder.manifest.md5);
    expect(reversed.manifest.lines).toBe(12);
  });
});
