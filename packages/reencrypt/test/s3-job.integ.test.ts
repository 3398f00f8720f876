/**
 * The job against S3 and KMS through the test adapter (built-in emulator, LocalStack or an
 * endpoint): rewrap of small and multipart objects with attributes preserved, bytes moved,
 * conflicts, foreign and corrupt objects, dry run and idempotence, manifests, full re-encrypt,
 * a key disabled mid-run, and injected faults.
 */
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { mkdtemp, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import {
  DEFAULT_PROBE_PREFIX,
  JobError,
  planJob,
  runJob,
  type JobOptions,
  type ObjectResult,
} from "../src/index.js";
import { sleep } from "../src/support/sleep.js";
import {
  bytesDigestFrom,
  countRequests,
  headerOf,
  newBucket,
  plaintextDigestOf,
  putEncrypted,
  type WrittenObject,
} from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let kms: KMSClient;
let s3: S3Client;

beforeAll(() => {
  // The job retries itself; clients without SDK retries let it see (and count) every failure.
  kms = aws.createKmsClient({ maxAttempts: 1 });
  s3 = aws.createS3Client({ maxAttempts: 1 });
});

async function newKey(): Promise<string> {
  const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
  return KeyMetadata!.Arn!;
}

async function rotate(keyArn: string): Promise<void> {
  await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyArn }));
}

function job(bucket: string, extra: Partial<JobOptions> = {}): JobOptions {
  return { kms, s3, source: { kind: "s3", bucket }, target: "current", kmsRps: Infinity, ...extra };
}

/** The S3 operations that write. */
const WRITE_OPERATIONS = [
  "PutObject",
  "CreateMultipartUpload",
  "UploadPart",
  "UploadPartCopy",
  "CompleteMultipartUpload",
] as const;

describe("rewrap through S3", () => {
  it("small and multipart objects move to the new material with metadata, tags, storage class and old versions kept", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3, true);
    const params = {
      Metadata: { owner: "team-a", "x-note": "keep me" },
      ContentType: "application/x-rekey",
      CacheControl: "max-age=60",
      ContentDisposition: "attachment",
      Tagging: "team=blue&tier=gold",
      StorageClass: "STANDARD_IA",
    };
    const small = await putEncrypted(aws.s3, aws.kms, bucket, "small.rkey", {
      keyId: key,
      seed: 1,
      plaintextSize: 1024,
      params,
    });
    const big = await putEncrypted(aws.s3, aws.kms, bucket, "dir/big.rkey", {
      keyId: key,
      seed: 2,
      plaintextSize: 20 * MiB,
      params,
    });
    const before = new Map<string, { header: Awaited<ReturnType<typeof headerOf>>; body: string }>();
    for (const o of [small, big]) {
      const header = await headerOf(aws.s3, bucket, o.key);
      before.set(o.key, { header, body: await bytesDigestFrom(aws.s3, bucket, o.key, header.bodyOffset) });
    }
    await rotate(key);

    const report = await runJob(job(bucket, { verify: "full" }));
    expect(report.outcomes.rewrapped).toBe(2);
    expect(report.exitCode).toBe(0);

    const { KeyMetadata } = await aws.kms.send(new DescribeKeyCommand({ KeyId: key }));
    for (const o of [small, big]) {
      const header = await headerOf(aws.s3, bucket, o.key);
      const old = before.get(o.key)!;
      expect(header.entries[0]?.keyArn).toBe(key);
      if (aws.capabilities.keyMaterialIdInResponses) {
        expect(header.entries[0]?.keyMaterialId).toBe(KeyMetadata?.CurrentKeyMaterialId);
        expect(header.entries[0]?.keyMaterialId).not.toBe(old.header.entries[0]?.keyMaterialId);
      }
      // The wrapped key changed (new ciphertext blob), the header and the body did not.
      expect(header.prefix.entries[0]?.body).not.toEqual(old.header.prefix.entries[0]?.body);
      expect(Buffer.from(header.prefix.header.authenticatedBytes)).toEqual(
        Buffer.from(old.header.prefix.header.authenticatedBytes),
      );
      expect(await bytesDigestFrom(aws.s3, bucket, o.key, header.bodyOffset)).toBe(old.body);
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);

      const head = await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
      expect(head.Metadata).toEqual(params.Metadata);
      expect(head.ContentType).toBe(params.ContentType);
      expect(head.CacheControl).toBe(params.CacheControl);
      expect(head.ContentDisposition).toBe(params.ContentDisposition);
      expect(head.StorageClass).toBe("STANDARD_IA");
      const tags = await aws.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: o.key }));
      expect(tags.TagSet).toEqual(
        expect.arrayContaining([
          { Key: "team", Value: "blue" },
          { Key: "tier", Value: "gold" },
        ]),
      );
      // Versioned bucket: the job added a version, the old one is still there and readable.
      const versions = await aws.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: o.key }));
      const mine = (versions.Versions ?? []).filter((v) => v.Key === o.key);
      expect(mine).toHaveLength(2);
      const oldVersion = mine.find((v) => !v.IsLatest)!;
      const oldHeader = await headerOf(aws.s3, bucket, o.key, oldVersion.VersionId);
      expect(oldHeader.messageId).toBe(old.header.messageId);
    }
  });

  it("a 40 MiB rewrap moves about its header + 5 MiB through the job; the rest is copied by S3", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const big = await putEncrypted(aws.s3, aws.kms, bucket, "big.rkey", {
      keyId: key,
      seed: 3,
      plaintextSize: 40 * MiB,
    });
    await rotate(key);
    const report = await runJob(job(bucket));
    expect(report.outcomes.rewrapped).toBe(1);
    const moved = report.bytes.read + report.bytes.written;
    expect(moved).toBeGreaterThan(10 * MiB);
    expect(moved).toBeLessThan(10 * MiB + 64 * 1024);
    expect(report.bytes.copiedServerSide).toBeGreaterThan(big.size - 6 * MiB);
    expect(report.s3.byOperation.UploadPartCopy).toBeGreaterThanOrEqual(1);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, "big.rkey", [key])).toBe(big.plaintextDigest);
  });

  it("verify etag proves a single PUT by S3's MD5 (no read-back); header verify reads the header back", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    for (let i = 0; i < 5; i++)
      await putEncrypted(aws.s3, aws.kms, bucket, `e${i}.rkey`, {
        keyId: key,
        seed: 200 + i,
        plaintextSize: 2000,
      });
    await rotate(key);
    const etag = await runJob(job(bucket, { verify: "etag" }));
    expect(etag.outcomes.rewrapped).toBe(5);
    // One GET per object: the header read of the plan (it covered the whole small object).
    expect(etag.s3.byOperation.GetObject).toBe(5);
    await rotate(key);
    const header = await runJob(job(bucket, { verify: "header" }));
    expect(header.outcomes.rewrapped).toBe(5);
    expect(header.s3.byOperation.GetObject).toBe(10);
  });

  it("an object changed between plan and write is a conflict; the writer's bytes stay", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const objs: WrittenObject[] = [];
    for (let i = 0; i < 4; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `o${i}.rkey`, {
          keyId: key,
          seed: 10 + i,
          plaintextSize: 3000,
        }),
      );
    objs.push(
      await putEncrypted(aws.s3, aws.kms, bucket, "big.rkey", {
        keyId: key,
        seed: 20,
        plaintextSize: 18 * MiB,
      }),
    );
    await rotate(key);
    const writerBytes = new Map<string, Buffer>();
    const report = await runJob(
      job(bucket, {
        hooks: {
          afterPlan: async (plan) => {
            if (plan.ref.kind !== "s3" || !["o2.rkey", "big.rkey"].includes(plan.ref.key)) return;
            const body = Buffer.from(`the other writer's ${plan.ref.key}`);
            writerBytes.set(plan.ref.key, body);
            await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: plan.ref.key, Body: body }));
          },
        },
      }),
    );
    expect(report.outcomes).toMatchObject({ rewrapped: 3, conflict: 2 });
    expect(report.exitCode).toBe(2);
    for (const [k, body] of writerBytes) {
      const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
      expect(Buffer.from(await out.Body!.transformToByteArray())).toEqual(body);
    }
  });

  it("foreign, empty and corrupt objects are reported and left alone; an unknown bucket is one clear error", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    await putEncrypted(aws.s3, aws.kms, bucket, "good.rkey", { keyId: key, seed: 30, plaintextSize: 500 });
    const good = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "good.rkey" }));
    const corrupt = Buffer.from(await good.Body!.transformToByteArray());
    corrupt.writeUInt32BE(0xffff, 7); // header length no longer matches
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "corrupt.rkey", Body: corrupt }));
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "readme.txt", Body: "hello" }));
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "empty", Body: "" }));
    await rotate(key);
    const report = await runJob(job(bucket));
    expect(report.outcomes).toMatchObject({ rewrapped: 1, foreign: 2, unreadable: 1, failed: 0 });
    expect(report.exitCode).toBe(2);
    expect(report.failures.find((f) => f.object.endsWith("corrupt.rkey"))).toMatchObject({
      outcome: "unreadable",
      code: "ERR_FORMAT",
      reason: expect.stringMatching(/header/),
    });
    const after = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "corrupt.rkey" }));
    expect(Buffer.from(await after.Body!.transformToByteArray())).toEqual(corrupt);

    const missing = `rekey-missing-${Date.now()}`;
    await expect(runJob(job(missing))).rejects.toSatisfy(
      (e) =>
        e instanceof JobError &&
        e.code === "ERR_JOB_SOURCE" &&
        e.message === `bucket ${missing} does not exist`,
    );
  });

  it("--from-key moves only entries under the named keys; the others are kept byte for byte", async () => {
    const a = await newKey();
    const b = await newKey();
    const bucket = await newBucket(aws.s3);
    await putEncrypted(aws.s3, aws.kms, bucket, "a.rkey", { keyId: a, seed: 80, plaintextSize: 600 });
    const onB = await putEncrypted(aws.s3, aws.kms, bucket, "b.rkey", {
      keyId: b,
      seed: 81,
      plaintextSize: 600,
    });
    const both = await putEncrypted(aws.s3, aws.kms, bucket, "ab.rkey", {
      keyId: a,
      additionalKeyIds: [b],
      seed: 82,
      plaintextSize: 600,
    });
    const before = await headerOf(aws.s3, bucket, both.key);
    const bBefore = await headerOf(aws.s3, bucket, onB.key);
    await rotate(a);
    await rotate(b);
    const report = await runJob(job(bucket, { fromKeys: [a] }));
    expect(report.outcomes).toMatchObject({ rewrapped: 2, skipped: 1, failed: 0 });
    expect(report.exitCode).toBe(2);
    const after = await headerOf(aws.s3, bucket, both.key);
    expect(after.entries.map((e) => e.keyArn)).toEqual([a, b]);
    expect(after.prefix.entries[0]?.body).not.toEqual(before.prefix.entries[0]?.body);
    expect(after.prefix.entries[1]).toEqual(before.prefix.entries[1]);
    expect((await headerOf(aws.s3, bucket, onB.key)).prefix.entries).toEqual(bBefore.prefix.entries);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, both.key, [b])).toBe(both.plaintextDigest);
  });

  it("--older-than-material moves entries on old material and leaves those on their key's current one", async (ctx) => {
    if (!aws.capabilities.keyMaterialIdInResponses) ctx.skip(aws.missing("keyMaterialIdInResponses"));
    const a = await newKey();
    const target = await newKey();
    const bucket = await newBucket(aws.s3);
    const old = await putEncrypted(aws.s3, aws.kms, bucket, "old.rkey", {
      keyId: a,
      seed: 83,
      plaintextSize: 600,
    });
    await rotate(a);
    const fresh = await putEncrypted(aws.s3, aws.kms, bucket, "fresh.rkey", {
      keyId: a,
      seed: 84,
      plaintextSize: 600,
    });
    const freshBefore = await headerOf(aws.s3, bucket, fresh.key);
    const report = await runJob(job(bucket, { target: `key:${target}`, olderThanMaterial: true }));
    expect(report.outcomes).toMatchObject({ rewrapped: 1, skipped: 1, failed: 0 });
    expect((await headerOf(aws.s3, bucket, old.key)).entries.map((e) => e.keyArn)).toEqual([target]);
    expect((await headerOf(aws.s3, bucket, fresh.key)).prefix.entries).toEqual(freshBefore.prefix.entries);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, old.key, [target])).toBe(old.plaintextDigest);
  });

  it("an object listed as empty is read, not assumed foreign: the listing may be older than the object", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const o = await putEncrypted(aws.s3, aws.kms, bucket, "late.rkey", {
      keyId: key,
      seed: 31,
      plaintextSize: 700,
    });
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "empty", Body: "" }));
    await rotate(key);
    const refs = [
      { kind: "s3" as const, bucket, key: "late.rkey", size: 0 },
      { kind: "s3" as const, bucket, key: "empty", size: 0 },
    ];
    const report = await runJob(job(bucket, { source: { kind: "refs", refs } }));
    expect(report.outcomes).toMatchObject({ rewrapped: 1, foreign: 1 });
    expect(report.s3.byOperation.GetObject).toBeGreaterThanOrEqual(2);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
  });

  it("a dry run writes nothing; a re-run over a finished set writes nothing", async (ctx) => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    for (let i = 0; i < 6; i++)
      await putEncrypted(aws.s3, aws.kms, bucket, `p${i}.rkey`, {
        keyId: key,
        seed: 40 + i,
        plaintextSize: 700,
      });
    await rotate(key);
    // Requests counted on the job's own clients: on every backend, not only one with counters.
    const jobS3 = aws.createS3Client({ maxAttempts: 1 });
    const jobKms = aws.createKmsClient({ maxAttempts: 1 });
    const s3Requests = countRequests(jobS3);
    const kmsRequests = countRequests(jobKms);
    const counted = { s3: jobS3, kms: jobKms };
    // At 3 KMS calls a second, 6 ReEncrypt calls take 2 s at least.
    const plan = await planJob(job(bucket, { ...counted, kmsRps: 3 }));
    expect(plan.classes.rewrap.objects).toBe(6);
    expect(plan.kmsCalls.byOperation.ReEncrypt).toBe(6);
    expect(plan.estimate.kmsBoundSeconds).toBe(2);
    expect(plan.estimate.seconds).toBe(Math.max(2, plan.estimate.concurrencyBoundSeconds));
    expect(s3Requests.writes()).toBe(0);
    expect(kmsRequests.calls("ReEncryptCommand")).toBe(0);
    const first = await runJob(job(bucket, counted));
    expect(first.outcomes.rewrapped).toBe(6);
    expect(s3Requests.writes()).toBe(6);
    expect(kmsRequests.calls("ReEncryptCommand")).toBe(6);
    const second = await runJob(job(bucket, counted));
    if (!aws.capabilities.keyMaterialIdInResponses) {
      // Without material ids an entry cannot be proved current: the re-run moves it again.
      expect(second.outcomes.rewrapped).toBe(6);
      ctx.skip(aws.missing("keyMaterialIdInResponses"));
    }
    expect(second.outcomes.current).toBe(6);
    expect(second.kms.byOperation.ReEncrypt ?? 0).toBe(0);
    expect(second.bytes.written).toBe(0);
    for (const op of WRITE_OPERATIONS) expect(second.s3.byOperation[op] ?? 0).toBe(0);
    // The client saw no write and no ReEncrypt either.
    expect(s3Requests.writes()).toBe(6);
    expect(kmsRequests.calls("ReEncryptCommand")).toBe(6);
  });

  it("a manifest names objects and versions; bad lines are reported, not fatal", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3, true);
    await putEncrypted(aws.s3, aws.kms, bucket, "m/a.rkey", { keyId: key, seed: 50, plaintextSize: 900 });
    await putEncrypted(aws.s3, aws.kms, bucket, "m/b c.rkey", { keyId: key, seed: 51, plaintextSize: 900 });
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "m/b c.rkey" }));
    await rotate(key);
    const dir = await mkdtemp(join(tmpdir(), "rekey-manifest-"));
    const path = join(dir, "objects.csv");
    await writeFile(
      path,
      [
        `${bucket},m/a.rkey`,
        `${bucket},"m/b c.rkey",${head.VersionId ?? ""}`,
        "not a line",
        `${bucket}`,
        `${bucket},m/missing.rkey`,
        `${bucket}-no-such-bucket,m/a.rkey`,
      ].join("\n"),
    );
    const results: ObjectResult[] = [];
    const report = await runJob(
      job(bucket, { source: { kind: "manifest", path }, hooks: { onResult: (r) => void results.push(r) } }),
    );
    expect(report.outcomes.rewrapped).toBe(2);
    // An object whose header could not be read is not called unreadable (a header that does not parse).
    expect(results.find((r) => r.ref.kind === "s3" && r.ref.key === "m/missing.rkey")).toMatchObject({
      outcome: "conflict",
      planClass: "unplanned",
      reason: expect.stringMatching(/^header read failed: the object does not exist/),
      errorName: "NoSuchKey",
    });
    // A line naming a bucket that does not exist is a bad line: permanent, not a failure to retry.
    expect(report.invalidSourceEntries).toBe(3);
    expect(report.outcomes.conflict).toBe(1);
    expect(report.outcomes.failed).toBe(0);
    expect(report.failures.map((f) => f.object)).toEqual(
      expect.arrayContaining([`${path}:3`, `${path}:4`, `s3://${bucket}/m/missing.rkey`]),
    );
    expect(report.failures.find((f) => f.object === `s3://${bucket}-no-such-bucket/m/a.rkey`)).toMatchObject({
      code: "ERR_JOB_MANIFEST_LINE",
      reason: expect.stringMatching(/bucket .* does not exist/),
    });
    expect(report.failures.find((f) => f.object.endsWith("missing.rkey"))?.reason).toMatch(/does not exist/);
    expect(report.exitCode).toBe(2);
  });
});

describe("concurrency with other writers and cancellation", () => {
  it("a writer racing the job: its data is intact and every race is reported as a conflict", async () => {
    const key = await newKey();
    // The writer encrypts under another key, so each of its versions needs moving to the target.
    const other = await newKey();
    const bucket = await newBucket(aws.s3);
    const contested = Array.from({ length: 8 }, (_, i) => `race/${i}.rkey`);
    for (let i = 0; i < 40; i++)
      await putEncrypted(aws.s3, aws.kms, bucket, `calm/${i}.rkey`, {
        keyId: key,
        seed: 300 + i,
        plaintextSize: 900,
      });
    for (const [i, k] of contested.entries())
      await putEncrypted(aws.s3, aws.kms, bucket, k, { keyId: key, seed: 400 + i, plaintextSize: 900 });
    await rotate(key);
    const last = new Map<string, string>();
    const rounds = new Map<string, number>();
    let stop = false;
    let round = 0;
    const writer = (async () => {
      while (!stop) {
        round++;
        await Promise.all(
          contested.map(async (k, i) => {
            const w = await putEncrypted(aws.s3, aws.kms, bucket, k, {
              keyId: other,
              seed: 10_000 + round * 100 + i,
              plaintextSize: 700,
            });
            last.set(k, w.plaintextDigest);
            rounds.set(k, (rounds.get(k) ?? 0) + 1);
          }),
        );
      }
    })();
    let report;
    try {
      report = await runJob(
        job(bucket, {
          concurrency: 8,
          target: `key:${key}`,
          hooks: {
            // The race, made certain: between the job's read of a contested object and its
            // write, the writer lands at least once more.
            afterPlan: async (plan) => {
              if (plan.ref.kind !== "s3" || !plan.ref.key.startsWith("race/")) return;
              const seen = rounds.get(plan.ref.key) ?? 0;
              while ((rounds.get(plan.ref.key) ?? 0) <= seen) await sleep(2);
            },
          },
        }),
      );
    } finally {
      stop = true;
      await writer;
    }
    expect(report.outcomes).toMatchObject({ rewrapped: 40, conflict: 8, failed: 0 });
    expect(report.failures.map((f) => [f.outcome, f.object.includes("/race/")])).toEqual(
      contested.map(() => ["conflict", true]),
    );
    // Whatever the interleaving, each contested object holds the writer's last plaintext.
    for (const k of contested)
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, k, [key, other])).toBe(last.get(k));
  });

  it("cancelling the job aborts in-flight multipart uploads and leaves every object readable", async (ctx) => {
    // Injected latency keeps the copies in flight when the signal fires.
    if (!aws.faults) ctx.skip(aws.missing("faults"));
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const objs: WrittenObject[] = [];
    for (let i = 0; i < 3; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `c${i}.rkey`, {
          keyId: key,
          seed: 500 + i,
          plaintextSize: 17 * MiB,
        }),
      );
    await rotate(key);
    aws.faults!.inject("s3:UploadPartCopy", { latencyMs: 400 });
    const controller = new AbortController();
    const report = await runJob(
      job(bucket, {
        signal: controller.signal,
        copyPartBytes: 5 * MiB,
        hooks: { afterPlan: () => void setTimeout(() => controller.abort(), 300) },
      }),
    );
    aws.faults!.clear();
    expect(report.outcomes.failed).toBeGreaterThan(0);
    expect(report.failures.every((f) => f.code === "ERR_JOB_ABORTED")).toBe(true);
    const uploads = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    for (const o of objs)
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
  });
});

describe("full re-encrypt through S3", () => {
  it("streams decrypt → encrypt under a new data key, small and multi-part, with full verification", async (ctx) => {
    const oldKey = await newKey();
    const target = await newKey();
    const bucket = await newBucket(aws.s3);
    const small = await putEncrypted(aws.s3, aws.kms, bucket, "r/small.rkey", {
      keyId: oldKey,
      seed: 60,
      plaintextSize: 5000,
    });
    const big = await putEncrypted(aws.s3, aws.kms, bucket, "r/big.rkey", {
      keyId: oldKey,
      seed: 61,
      plaintextSize: 19 * MiB,
      frameLength: 256 * 1024,
    });
    const ids = new Map<string, string>();
    for (const o of [small, big]) ids.set(o.key, (await headerOf(aws.s3, bucket, o.key)).messageId);
    const report = await runJob(job(bucket, { mode: "reencrypt", target: `key:${target}`, verify: "full" }));
    expect(report.outcomes.reencrypted).toBe(2);
    for (const o of [small, big]) {
      const h = await headerOf(aws.s3, bucket, o.key);
      expect(h.messageId).not.toBe(ids.get(o.key));
      expect(h.entries.map((e) => e.keyArn)).toEqual([target]);
      expect(h.encryptionContext).toEqual({ bucket, key: o.key });
      expect(h.frameLength).toBe(o === big ? 256 * 1024 : 1024 * 1024);
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [target])).toBe(o.plaintextDigest);
    }
    // Idempotent: already on the target, nothing is re-encrypted again.
    const again = await runJob(job(bucket, { mode: "reencrypt", target: `key:${target}` }));
    if (!aws.capabilities.keyMaterialIdInResponses) {
      expect(again.outcomes.reencrypted).toBe(2);
      ctx.skip(aws.missing("keyMaterialIdInResponses"));
    }
    expect(again.outcomes.current).toBe(2);
    expect(again.bytes.written).toBe(0);
    for (const op of WRITE_OPERATIONS) expect(again.s3.byOperation[op] ?? 0).toBe(0);
  });
});

describe("failures", () => {
  it("a source key disabled mid-run fails the remaining objects cleanly and damages nothing", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const objs: WrittenObject[] = [];
    for (let i = 0; i < 12; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `d${String(i).padStart(2, "0")}.rkey`, {
          keyId: key,
          seed: 70 + i,
          plaintextSize: 800,
        }),
      );
    await rotate(key);
    let planned = 0;
    const report = await runJob(
      job(bucket, {
        concurrency: 1,
        hooks: {
          afterPlan: async () => {
            if (++planned === 5) await aws.kms.send(new DisableKeyCommand({ KeyId: key }));
          },
        },
      }),
    );
    await aws.kms.send(new EnableKeyCommand({ KeyId: key }));
    expect(report.outcomes.rewrapped).toBe(4);
    expect(report.outcomes.failed).toBe(8);
    expect(report.exitCode).toBe(3);
    expect(
      report.failures.every((f) => f.code === "ERR_KMS" && /Disabled|KMSInvalidState/.test(f.reason)),
    ).toBe(true);
    for (const o of objs)
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
    // A re-run finishes the job.
    const rerun = await runJob(job(bucket));
    expect(rerun.outcomes.failed).toBe(0);
    expect(rerun.exitCode).toBe(0);
  });

  for (const size of ["small", "multipart"] as const)
    it(`a ${size} write that reads back other than written fails verification (ERR_JOB_VERIFY)`, async () => {
      const key = await newKey();
      const bucket = await newBucket(aws.s3);
      const o = await putEncrypted(aws.s3, aws.kms, bucket, "v.rkey", {
        keyId: key,
        seed: 90,
        plaintextSize: size === "small" ? 1500 : 8 * MiB,
      });
      await rotate(key);
      // An S3 client whose reads, once the job has written, answer one flipped byte: what a bad
      // disk, a broken proxy or a bug in the write path would look like from the job.
      const lying = aws.createS3Client({ maxAttempts: 1 });
      let written = false;
      lying.middlewareStack.add(
        (next, context) => async (args) => {
          const out = await next(args);
          const key = (args.input as { Key?: string }).Key ?? "";
          if (
            (context.commandName === "PutObjectCommand" ||
              context.commandName === "CompleteMultipartUploadCommand") &&
            !key.startsWith(DEFAULT_PROBE_PREFIX)
          )
            written = true;
          else if (context.commandName === "GetObjectCommand" && written) {
            const output = out.output as { Body?: Readable };
            const body = Buffer.concat(await output.Body!.toArray());
            body[body.length - 1]! ^= 0x01;
            output.Body = Readable.from([body]);
          }
          return out;
        },
        { step: "initialize", name: "flipReadBack" },
      );
      const report = await runJob({
        ...job(bucket, { verify: "header", multipartThreshold: 6 * MiB }),
        s3: lying,
      });
      expect(report.outcomes).toMatchObject({ rewrapped: 0, failed: 1 });
      expect(report.failures[0]).toMatchObject({
        code: "ERR_JOB_VERIFY",
        reason: "written header does not read back as written",
      });
      expect(report.exitCode).toBe(3);
      // The stored object is the job's (valid) write; only the read-back lied.
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
    });

  it("30% KMS throttling and 10% S3 5xx: the job completes, retrying", async (ctx) => {
    if (!aws.faults) ctx.skip(aws.missing("faults"));
    const faults = aws.faults!;
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const objs: WrittenObject[] = [];
    for (let i = 0; i < 60; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `f${i}.rkey`, {
          keyId: key,
          seed: 100 + i,
          plaintextSize: 600 + i,
        }),
      );
    objs.push(
      await putEncrypted(aws.s3, aws.kms, bucket, "f-big.rkey", {
        keyId: key,
        seed: 99,
        plaintextSize: 17 * MiB,
      }),
    );
    await rotate(key);
    faults.inject("kms:*", { error: "throttle", errorRate: 0.3 });
    faults.inject("s3:*", { error: "unavailable", errorRate: 0.1 });
    // 14 attempts: 0.3^14 makes a give-up vanishingly rare across the run.
    const report = await runJob(job(bucket, { retry: { attempts: 14, baseDelayMs: 5, maxDelayMs: 200 } }));
    faults.clear();
    expect(report.outcomes.rewrapped).toBe(61);
    expect(report.exitCode).toBe(0);
    expect(report.kms.throttled).toBeGreaterThan(0);
    expect(report.s3.retries).toBeGreaterThan(0);
    for (const o of objs)
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
  });
});
