/**
 * Nothing lost on any S3-compatible store: the capability probe, the refusal of a store that
 * ignores conditional writes, `writersStopped`, pinned reads compared with the plan, a store
 * without UploadPartCopy, fail-fast on a key that fails every object, and objects damaged before
 * the job. The racing-writer matrix runs a second writer at each point between plan and write,
 * same size and different size, on a store that honours conditions and on one that ignores
 * them; afterwards every raced object holds the writer's data, which decrypts, and the job
 * never reported it done. Bucket modes come from the built-in emulator (`s3Control`).
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
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import {
  createJobContext,
  DEFAULT_PROBE_PREFIX,
  EXIT_CODES,
  planJob,
  probeS3Store,
  runJob,
  type JobOptions,
  type S3Runtime,
} from "../src/index.js";
import { planObject } from "../src/runner/plan-object.js";
import { JobCounters } from "../src/support/job-counters.js";
import { StoreGuard } from "../src/stores/s3/store-guard.js";
import { readPinned } from "../src/stores/s3/pinned-read.js";
import { raceAfterReEncryptOf } from "./helpers/race.js";
import { headerOf, newBucket, plaintextDigestOf, putEncrypted } from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let kms: KMSClient;
let s3: S3Client;

beforeAll(() => {
  kms = aws.createKmsClient({ maxAttempts: 1 });
  s3 = aws.createS3Client({ maxAttempts: 1 });
});

async function newKey(): Promise<string> {
  const out = await aws.kms.send(new CreateKeyCommand({}));
  const arn = (await aws.kms.send(new DescribeKeyCommand({ KeyId: out.KeyMetadata!.KeyId! }))).KeyMetadata!
    .Arn!;
  return arn;
}

function job(bucket: string, extra: Partial<JobOptions> = {}): JobOptions {
  return { kms, s3, source: { kind: "s3", bucket }, target: "current", kmsRps: Infinity, ...extra };
}

async function bytesOf(bucket: string, key: string): Promise<Buffer> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** Every key and version left under the probe prefix. */
async function probeLeftovers(bucket: string): Promise<number> {
  const out = await aws.s3.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: DEFAULT_PROBE_PREFIX }),
  );
  return (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
}

function runtime(client: S3Client = s3): S3Runtime {
  return { client, counters: new JobCounters() };
}

describe("the store probe", () => {
  it("finds what an honouring store honours and leaves nothing behind, versioned or not", async (ctx) => {
    if (!aws.s3Control) ctx.skip(aws.missing("s3BucketBehavior"));
    for (const versioned of [false, true]) {
      const bucket = await newBucket(aws.s3, versioned);
      const caps = await probeS3Store(runtime(), bucket);
      expect(caps).toMatchObject({
        store: `s3://${bucket}`,
        conditionalPut: true,
        conditionalCreate: true,
        pinnedRead: true,
        conditionalComplete: true,
        uploadPartCopy: true,
        objectTagging: true,
        taggingOnWrite: true,
        taggingCount: true,
        missing: [],
      });
      expect(await probeLeftovers(bucket)).toBe(0);
    }
  });

  it("finds conditional writes and reads ignored, and UploadPartCopy missing, each on its own", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const ignoring = await newBucket(aws.s3, true);
    control.setBucketBehavior(ignoring, { conditionalWrites: "ignore", conditionalReads: "ignore" });
    const caps = await probeS3Store(runtime(), ignoring);
    expect(caps).toMatchObject({
      conditionalPut: false,
      conditionalCreate: false,
      pinnedRead: false,
      conditionalComplete: false,
      uploadPartCopy: true,
    });
    expect(caps.missing).toHaveLength(4);
    expect(await probeLeftovers(ignoring)).toBe(0);

    const noCopy = await newBucket(aws.s3);
    control.setBucketBehavior(noCopy, { uploadPartCopy: "missing" });
    const caps2 = await probeS3Store(runtime(), noCopy);
    expect(caps2).toMatchObject({ conditionalPut: true, conditionalComplete: true, uploadPartCopy: false });
    expect(caps2.missing.join()).toMatch(/UploadPartCopy/);
    expect(await probeLeftovers(noCopy)).toBe(0);
  });

  it("without write permission under its prefix, says so and how to point it elsewhere", async () => {
    const bucket = await newBucket(aws.s3);
    const denying = aws.createS3Client({ maxAttempts: 1 });
    denying.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? "";
        if (context.commandName === "PutObjectCommand" && key.startsWith("locked/"))
          throw Object.assign(new Error("Access Denied"), {
            name: "AccessDenied",
            $metadata: { httpStatusCode: 403 },
          });
        return next(args);
      },
      { step: "initialize", name: "deny" },
    );
    await expect(probeS3Store(runtime(denying), bucket, "locked/")).rejects.toMatchObject({
      code: "ERR_JOB_STORE_PROBE",
      message: expect.stringMatching(/s3:PutObject.*--probe-prefix/),
    });
    // Pointed elsewhere, it runs.
    await expect(probeS3Store(runtime(denying), bucket, "open/")).resolves.toMatchObject({
      conditionalPut: true,
    });
  });
});

describe("the probe prefix", () => {
  it("objects a killed probe left under it are neither planned nor run", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    await putEncrypted(aws.s3, aws.kms, bucket, "a.rkey", { keyId: key, seed: 90, plaintextSize: 500 });
    await aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${DEFAULT_PROBE_PREFIX}left-behind`, Body: "probe" }),
    );
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const plan = await planJob(job(bucket));
    expect(plan.objects).toBe(1);
    expect(plan.classes.foreign.objects).toBe(0);
    const report = await runJob(job(bucket));
    expect(report.objects).toBe(1);
    expect(report.outcomes).toMatchObject({ rewrapped: 1, foreign: 0 });
  });
});

describe("the store guard", () => {
  it("probes a bucket once for concurrent callers, and probes again after a failed probe", async () => {
    const bucket = await newBucket(aws.s3);
    let fail = true;
    let probePuts = 0;
    const flaky = aws.createS3Client({ maxAttempts: 1 });
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? "";
        if (context.commandName === "PutObjectCommand" && key.startsWith(DEFAULT_PROBE_PREFIX)) {
          probePuts++;
          if (fail) {
            fail = false;
            throw Object.assign(new Error("Access Denied"), {
              name: "AccessDenied",
              $metadata: { httpStatusCode: 403 },
            });
          }
        }
        return next(args);
      },
      { step: "initialize", name: "flaky" },
    );
    const guard = new StoreGuard(runtime(flaky));
    await expect(guard.writeModeFor(bucket)).rejects.toMatchObject({ code: "ERR_JOB_STORE_PROBE" });
    const modes = await Promise.all([
      guard.writeModeFor(bucket),
      guard.writeModeFor(bucket),
      guard.writeModeFor(bucket),
    ]);
    // One probe shared by the three callers.
    expect(new Set(modes.map((m) => m.capabilities)).size).toBe(1);
    expect(modes[0]!.unconditional).toBe(false);
    // The failed probe's one PUT, then one probe (three PUTs: plain, If-Match, If-None-Match) for three callers.
    expect(probePuts).toBe(4);
    expect(guard.probed).toHaveLength(1);
  });
});

describe("a store that ignores conditional writes", () => {
  it("is refused by default: one reason naming the feature, exit 4, nothing written, no KMS call", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    const objs = [];
    for (let i = 0; i < 6; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `o${i}.rkey`, {
          keyId: key,
          seed: i,
          plaintextSize: 900,
        }),
      );
    const before = await Promise.all(objs.map((o) => bytesOf(bucket, o.key)));
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const report = await runJob(job(bucket));
    expect(report.exitCode).toBe(EXIT_CODES.unsafeStore);
    expect(report.stopped).toMatchObject({
      code: "ERR_JOB_STORE_UNSAFE",
      reason: expect.stringMatching(/If-Match on PutObject.*--writers-stopped/),
    });
    expect(report.outcomes.rewrapped).toBe(0);
    expect(report.kms.byOperation.ReEncrypt ?? 0).toBe(0);
    expect(report.stores).toHaveLength(1);
    for (const [i, o] of objs.entries()) expect(await bytesOf(bucket, o.key)).toEqual(before[i]);
  });

  it("with writersStopped, is written with a re-read before and a read-back after, each object marked", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    control.setBucketBehavior(bucket, { conditionalWrites: "ignore", conditionalReads: "ignore" });
    const objs = [];
    for (let i = 0; i < 4; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `w${i}.rkey`, {
          keyId: key,
          seed: 10 + i,
          plaintextSize: 6000,
        }),
      );
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const results: boolean[] = [];
    const report = await runJob(
      job(bucket, {
        writersStopped: true,
        hooks: { onResult: (r) => results.push(r.unconditional === true) },
      }),
    );
    expect(report.exitCode).toBe(0);
    expect(report.outcomes.rewrapped).toBe(4);
    expect(report.unconditionalWrites).toBe(4);
    expect(results).toEqual([true, true, true, true]);
    expect(report.notes.join()).toMatch(/ignores conditional writes/);
    // Plan GET + body GET + re-read before the write + read-back after it, per object.
    expect(report.s3.byOperation.GetObject).toBe(16);
    for (const o of objs)
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
  });
});

describe("every read that feeds a write is compared with the plan", () => {
  it("a store that ignores If-Match on GET answers the new object: the read is a conflict", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    control.setBucketBehavior(bucket, { conditionalReads: "ignore" });
    await putEncrypted(aws.s3, aws.kms, bucket, "p.rkey", { keyId: key, seed: 30, plaintextSize: 9000 });
    const ctxJob = await createJobContext({ kms, s3, target: "current" });
    const plan = await planObject({ kind: "s3", bucket, key: "p.rkey" }, ctxJob);
    // Same size, new message.
    await putEncrypted(aws.s3, aws.kms, bucket, "p.rkey", { keyId: key, seed: 31, plaintextSize: 9000 });
    const rt = runtime();
    await expect(readPinned(rt, { kind: "s3", bucket, key: "p.rkey" }, plan)).rejects.toMatchObject({
      code: "ERR_JOB_CONFLICT",
      message: expect.stringMatching(/changed since it was planned/),
    });
    // The store did answer: it was the comparison that refused.
    expect(rt.counters.bytes.read).toBeGreaterThan(9000);
  });
  it("the ETag alone catches a writer that kept the header and changed the body", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    control.setBucketBehavior(bucket, { conditionalReads: "ignore" });
    await putEncrypted(aws.s3, aws.kms, bucket, "h.rkey", { keyId: key, seed: 32, plaintextSize: 9000 });
    const plan = await planObject(
      { kind: "s3", bucket, key: "h.rkey" },
      await createJobContext({ kms, s3, target: "current" }),
    );
    const spliced = await bytesOf(bucket, "h.rkey");
    spliced[spliced.length - 1]! ^= 0xff; // same header, same size, another body
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "h.rkey", Body: spliced }));
    await expect(readPinned(runtime(), { kind: "s3", bucket, key: "h.rkey" }, plan)).rejects.toMatchObject({
      code: "ERR_JOB_CONFLICT",
      message: expect.stringMatching(/ETag/),
    });
  });

  it("the header bytes alone catch an answer that carries the planned ETag but other bytes", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    await putEncrypted(aws.s3, aws.kms, bucket, "e.rkey", { keyId: key, seed: 33, plaintextSize: 9000 });
    const plan = await planObject(
      { kind: "s3", bucket, key: "e.rkey" },
      await createJobContext({ kms, s3, target: "current" }),
    );
    await putEncrypted(aws.s3, aws.kms, bucket, "e.rkey", { keyId: key, seed: 34, plaintextSize: 9000 });
    // A store (or proxy) that answers the planned ETag whatever it serves.
    const lying = aws.createS3Client({ maxAttempts: 1 });
    lying.middlewareStack.add(
      (next) => async (args) => {
        delete (args.input as { IfMatch?: string }).IfMatch;
        const out = await next(args);
        (out.output as { ETag?: string | undefined }).ETag = plan.etag;
        return out;
      },
      { step: "initialize", name: "sameEtag" },
    );
    await expect(
      readPinned(runtime(lying), { kind: "s3", bucket, key: "e.rkey" }, plan),
    ).rejects.toMatchObject({
      code: "ERR_JOB_CONFLICT",
      message: expect.stringMatching(/header changed/),
    });
  });
});

type RacePoint =
  "after header read" | "during ReEncrypt" | "between body read and write" | "during multipart copy";
const RACE_POINTS: readonly RacePoint[] = [
  "after header read",
  "during ReEncrypt",
  "between body read and write",
  "during multipart copy",
];

describe("a writer racing the job", () => {
  for (const store of ["honours", "ignores"] as const)
    for (const point of RACE_POINTS)
      for (const sameSize of [true, false])
        it(`store ${store} conditions, ${point}, ${sameSize ? "same" : "different"} size: the writer's data stays, never reported done`, async (ctx) => {
          const control = aws.s3Control;
          if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
          const key = await newKey();
          const bucket = await newBucket(aws.s3);
          if (store === "ignores")
            control.setBucketBehavior(bucket, { conditionalWrites: "ignore", conditionalReads: "ignore" });
          const multipart = point === "during multipart copy";
          const size = multipart ? 7 * MiB : 20_000;
          const target = await putEncrypted(aws.s3, aws.kms, bucket, "raced.rkey", {
            keyId: key,
            seed: 40,
            plaintextSize: size,
          });
          const calm = await putEncrypted(aws.s3, aws.kms, bucket, "calm.rkey", {
            keyId: key,
            seed: 41,
            plaintextSize: 3000,
          });
          await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));

          let raced = false;
          let writer: { plaintextDigest: string } | undefined;
          const race = async (): Promise<void> => {
            if (raced) return;
            raced = true;
            writer = await putEncrypted(aws.s3, aws.kms, bucket, "raced.rkey", {
              keyId: key,
              seed: 99,
              plaintextSize: sameSize ? size : size + 777,
            });
          };
          let gets = 0;
          const unsubscribe = control.beforeRequest(async (req) => {
            if (req.bucket !== bucket || req.key !== "raced.rkey" || raced) return;
            // The job's next request after its body read: the write itself on a store that
            // enforces it, the re-read before the write on one that does not (the plan's header
            // read, the body read, then that re-read).
            if (point === "between body read and write") {
              if (
                store === "honours"
                  ? req.operation === "PutObject"
                  : req.operation === "GetObject" && ++gets === 3
              )
                await race();
            }
            if (point === "during multipart copy" && req.operation === "UploadPartCopy") await race();
          });
          const jobKms = aws.createKmsClient({ maxAttempts: 1 });
          if (point === "during ReEncrypt") raceAfterReEncryptOf(jobKms, "raced.rkey", race);
          try {
            const report = await runJob(
              job(bucket, {
                kms: jobKms,
                concurrency: 1,
                multipartThreshold: 6 * MiB,
                ...(store === "ignores" ? { writersStopped: true } : {}),
                hooks: {
                  afterPlan: async (plan) => {
                    if (
                      point === "after header read" &&
                      plan.ref.kind === "s3" &&
                      plan.ref.key === "raced.rkey"
                    )
                      await race();
                  },
                },
              }),
            );
            expect(raced).toBe(true);
            const byKey = new Map(report.failures.map((f) => [f.object.split("/").pop(), f]));
            expect(byKey.get("raced.rkey")).toMatchObject({ outcome: "conflict" });
            expect(report.outcomes).toMatchObject({ rewrapped: 1, conflict: 1, failed: 0 });
          } finally {
            unsubscribe();
          }
          // The writer's data is there and decrypts; the calm object moved and decrypts.
          expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, "raced.rkey", [key])).toBe(
            writer!.plaintextDigest,
          );
          expect(writer!.plaintextDigest).not.toBe(target.plaintextDigest);
          expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, "calm.rkey", [key])).toBe(
            calm.plaintextDigest,
          );
        });
});

describe("a store without UploadPartCopy", () => {
  it("large objects are rewrapped by streaming them, payload byte for byte, under the same conditions", async (ctx) => {
    const control = aws.s3Control;
    if (!control) return ctx.skip(aws.missing("s3BucketBehavior"));
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    control.setBucketBehavior(bucket, { uploadPartCopy: "missing" });
    const big = await putEncrypted(aws.s3, aws.kms, bucket, "big.rkey", {
      keyId: key,
      seed: 50,
      plaintextSize: 13 * MiB,
    });
    const before = await headerOf(aws.s3, bucket, "big.rkey");
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const report = await runJob(job(bucket, { multipartThreshold: 6 * MiB, uploadPartBytes: 5 * MiB }));
    expect(report.outcomes.rewrapped).toBe(1);
    expect(report.stores[0]).toMatchObject({ uploadPartCopy: false });
    expect(report.s3.byOperation.UploadPartCopy ?? 0).toBe(0);
    expect(report.bytes.copiedServerSide).toBe(0);
    expect(report.bytes.written).toBeGreaterThan(big.size - 1024);
    const after = await headerOf(aws.s3, bucket, "big.rkey");
    expect(after.messageId).toEqual(before.messageId);
    expect(after.entries[0]!.keyMaterialId).not.toBe(before.entries[0]!.keyMaterialId);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, "big.rkey", [key])).toBe(big.plaintextDigest);
  });
});

describe("a store that neither counts tags in a GET nor keeps tags given with a write", () => {
  it("every object's tags are read, and written again after the rewrite: none is lost", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    await putEncrypted(aws.s3, aws.kms, bucket, "t.rkey", {
      keyId: key,
      seed: 80,
      plaintextSize: 700,
      params: { Tagging: "team=blue&tier=gold" },
    });
    await putEncrypted(aws.s3, aws.kms, bucket, "u.rkey", { keyId: key, seed: 81, plaintextSize: 700 });
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    // Such a store, as the job sees it: GET answers without x-amz-tagging-count, PUT tags dropped.
    const forgetful = aws.createS3Client({ maxAttempts: 1 });
    forgetful.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutObjectCommand") delete (args.input as { Tagging?: string }).Tagging;
        const out = await next(args);
        if (context.commandName === "GetObjectCommand") delete (out.output as { TagCount?: number }).TagCount;
        return out;
      },
      { step: "initialize", name: "forgetTags" },
    );
    const report = await runJob({ ...job(bucket), s3: forgetful });
    expect(report.outcomes.rewrapped).toBe(2);
    expect(report.stores[0]).toMatchObject({
      objectTagging: true,
      taggingOnWrite: false,
      taggingCount: false,
    });
    expect(report.s3.byOperation.GetObjectTagging).toBe(2);
    expect(report.s3.byOperation.PutObjectTagging).toBe(1);
    const tags = await aws.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "t.rkey" }));
    expect(tags.TagSet).toEqual([
      { Key: "team", Value: "blue" },
      { Key: "tier", Value: "gold" },
    ]);
    expect((await headerOf(aws.s3, bucket, "t.rkey")).entries[0]!.keyArn).toBe(key);
  });
});

describe("fail fast on a key that fails every object", () => {
  it("a key disabled mid-run stops the job after maxKeyFailures in a row: exit 5, untried objects left", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const objs = [];
    for (let i = 0; i < 30; i++)
      objs.push(
        await putEncrypted(aws.s3, aws.kms, bucket, `k${String(i).padStart(2, "0")}.rkey`, {
          keyId: key,
          seed: 60 + i,
          plaintextSize: 500,
        }),
      );
    const before = await Promise.all(objs.map((o) => bytesOf(bucket, o.key)));
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    let planned = 0;
    const report = await runJob(
      job(bucket, {
        concurrency: 1,
        maxKeyFailures: 5,
        hooks: {
          afterPlan: async () => {
            if (++planned === 4) await aws.kms.send(new DisableKeyCommand({ KeyId: key }));
          },
        },
      }),
    );
    await aws.kms.send(new EnableKeyCommand({ KeyId: key }));
    expect(report.exitCode).toBe(EXIT_CODES.keyUnusable);
    expect(report.stopped).toMatchObject({
      code: "ERR_JOB_KEY_UNUSABLE",
      reason: expect.stringContaining(key),
    });
    expect(report.outcomes.rewrapped).toBe(3);
    expect(report.outcomes.failed).toBe(5);
    expect(report.objects).toBe(8);
    expect(report.kms.byOperation.ReEncrypt).toBeLessThan(30);
    // Failed and untried objects are byte for byte as they were.
    for (const [i, o] of objs.entries()) if (i >= 3) expect(await bytesOf(bucket, o.key)).toEqual(before[i]);
    const rerun = await runJob(job(bucket));
    expect(rerun.exitCode).toBe(0);
    expect(rerun.outcomes.rewrapped).toBe(27);
  });
});

describe("an object damaged before the job", () => {
  it("is rewrapped as it is without full verification (the limit), and is unreadable and untouched with it", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const o = await putEncrypted(aws.s3, aws.kms, bucket, "d.rkey", {
      keyId: key,
      seed: 70,
      plaintextSize: 9000,
    });
    const damaged = await bytesOf(bucket, o.key);
    damaged[damaged.length - 40]! ^= 0x01; // a flipped bit in the last frame
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "d.rkey", Body: damaged }));
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const full = await runJob(job(bucket, { verify: "full" }));
    expect(full.outcomes).toMatchObject({ unreadable: 1, rewrapped: 0 });
    expect(full.failures[0]).toMatchObject({
      code: "ERR_JOB_UNREADABLE",
      reason: expect.stringMatching(/damaged before/),
    });
    expect(await bytesOf(bucket, "d.rkey")).toEqual(damaged);
    // Without full verification a rewrap never sees the payload: the object moves, still damaged.
    const quick = await runJob(job(bucket));
    expect(quick.outcomes.rewrapped).toBe(1);
  });
});
