/**
 * The job against an S3 server this project did not write (test/helpers/third-party-s3.ts,
 * `@20minutes/s3rver`: it accepts every conditional write, ignores `If-Match` on reads, has
 * `UploadPartCopy`, no versioning), with KMS from the built-in emulator. What the probe finds
 * there; that the job refuses the store by default and writes nothing; that with
 * `writersStopped` small and multipart objects are rewrapped and each marked; that a writer
 * racing the job (after the header read, during `ReEncrypt`; same size and another size) keeps
 * its data and the object is a `conflict`, never reported rewrapped; and `rekey rewrap` on it.
 * Skipped, with the reason, only when the server cannot start here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, type TestContext } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import {
  DEFAULT_PROBE_PREFIX,
  EXIT_CODES,
  probeS3Store,
  runJob,
  type JobOptions,
  type ObjectResult,
} from "../src/index.js";
import { JobCounters } from "../src/support/job-counters.js";
import { honoursConditionalWrites } from "../src/stores/s3/probe-store.js";
import type { AwsClientOptions } from "../src/cli/util/context.js";
import { runCliInProcess } from "./helpers/cli.js";
import { digestOf, headerOf, newBucket, plaintextDigestOf, putEncrypted } from "./helpers/s3-objects.js";
import { raceAfterReEncryptOf } from "./helpers/race.js";
import { startThirdPartyS3, type ThirdPartyS3 } from "./helpers/third-party-s3.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let server: ThirdPartyS3 | undefined;
let skipReason: string | undefined;
let kms: KMSClient;
let dir: string;

beforeAll(async () => {
  kms = aws.createKmsClient({ maxAttempts: 1 });
  dir = await mkdtemp(join(tmpdir(), "rekey-third-party-job-"));
  const started = await startThirdPartyS3();
  if ("skip" in started) skipReason = started.skip;
  else server = started;
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The running server, or the test is skipped with the reason it could not start. */
function serverOf(ctx: TestContext): ThirdPartyS3 {
  if (server === undefined) ctx.skip(skipReason ?? "the third-party S3 server did not start");
  return server!;
}

async function newKey(): Promise<string> {
  const out = await aws.kms.send(new CreateKeyCommand({}));
  return (await aws.kms.send(new DescribeKeyCommand({ KeyId: out.KeyMetadata!.KeyId! }))).KeyMetadata!.Arn!;
}

async function rotate(key: string): Promise<void> {
  await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
}

/** Job options on the third-party server; the job's clients make one attempt per request. */
function job(s: ThirdPartyS3, bucket: string, extra: Partial<JobOptions> = {}): JobOptions {
  return {
    kms,
    s3: s.createS3Client({ maxAttempts: 1 }),
    source: { kind: "s3", bucket },
    target: "current",
    kmsRps: Infinity,
    ...extra,
  };
}

/** SHA-256 of an object's bytes (compared as strings: a deep equality of 7 MiB buffers crawls). */
async function bytesOf(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return digestOf(out.Body as Readable);
}

/** Every key under the probe's default prefix (the server has no versions). */
async function probeLeftovers(
  s3: S3Client,
  bucket: string,
  prefix = DEFAULT_PROBE_PREFIX,
): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/** Every key in the bucket. */
async function keysOf(s3: S3Client, bucket: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

const keyOf = (r: ObjectResult): string | undefined => (r.ref.kind === "s3" ? r.ref.key : undefined);

describe("the store probe on the third-party server", () => {
  it("finds every conditional write and pinned reads ignored, UploadPartCopy working, and leaves nothing behind", async (ctx) => {
    const s = serverOf(ctx);
    const bucket = await newBucket(s.s3);
    await s.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "data.txt", Body: "user data" }));
    const counters = new JobCounters();
    // The scratch key (".rekey-probe/<id>") has a slash, which its part copy names in
    // x-amz-copy-source: the server must find the object that names.
    const caps = await probeS3Store({ client: s.createS3Client({ maxAttempts: 1 }), counters }, bucket);
    expect(caps).toMatchObject({
      store: `s3://${bucket}`,
      probePrefix: DEFAULT_PROBE_PREFIX,
      conditionalPut: false,
      conditionalCreate: false,
      pinnedRead: false,
      conditionalComplete: false,
      uploadPartCopy: true,
      // It keeps tags set by PutObjectTagging, drops those given with PutObject, counts none.
      objectTagging: true,
      taggingOnWrite: false,
      taggingCount: false,
    });
    expect(honoursConditionalWrites(caps)).toBe(false);
    // One line per ignored condition and for the tags, each naming it; not UploadPartCopy.
    expect(caps.missing).toHaveLength(5);
    for (const feature of [
      /If-Match on PutObject/,
      /If-None-Match: \* on PutObject/,
      /If-Match on GetObject/,
      /If-Match on CompleteMultipartUpload/,
      /x-amz-tagging/,
    ])
      expect(caps.missing.filter((m) => feature.test(m))).toHaveLength(1);
    expect(caps.missing.join()).not.toMatch(/UploadPartCopy/);
    // It asked for real: the server answered a part copy and completed the upload.
    expect(counters.requests.byOperation).toMatchObject({
      "s3:UploadPartCopy": 1,
      "s3:CompleteMultipartUpload": 1,
    });
    expect(await probeLeftovers(s.s3, bucket)).toEqual([]);
    expect(await keysOf(s.s3, bucket)).toEqual(["data.txt"]);
    const user = await s.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "data.txt" }));
    expect(await user.Body!.transformToString()).toBe("user data");

    // Under another prefix: same findings, nothing left there either.
    const elsewhere = await probeS3Store({ client: s.s3, counters: new JobCounters() }, bucket, "ops/probe/");
    expect(elsewhere).toMatchObject({
      probePrefix: "ops/probe/",
      conditionalPut: false,
      uploadPartCopy: true,
    });
    expect(await keysOf(s.s3, bucket)).toEqual(["data.txt"]);
  });
});

describe("runJob on the third-party server", () => {
  it("after a rotation, is refused by default: exit 4, the missing features named, nothing written, no ReEncrypt", async (ctx) => {
    const s = serverOf(ctx);
    const key = await newKey();
    const bucket = await newBucket(s.s3);
    const objs = [];
    for (let i = 0; i < 5; i++)
      objs.push(
        await putEncrypted(s.s3, aws.kms, bucket, `o${i}.rkey`, {
          keyId: key,
          seed: 100 + i,
          plaintextSize: 700 + 5000 * i,
        }),
      );
    objs.push(
      await putEncrypted(s.s3, aws.kms, bucket, "large/7mib.rkey", {
        keyId: key,
        seed: 110,
        plaintextSize: 7 * MiB,
      }),
    );
    const before = await Promise.all(objs.map((o) => bytesOf(s.s3, bucket, o.key)));
    await rotate(key);

    const report = await runJob(job(s, bucket, { multipartThreshold: 6 * MiB }));
    expect(report.exitCode).toBe(EXIT_CODES.unsafeStore);
    expect(report.stopped?.code).toBe("ERR_JOB_STORE_UNSAFE");
    const reason = report.stopped!.reason;
    expect(reason).toContain(`s3://${bucket}`);
    for (const feature of [
      "If-Match on PutObject",
      "If-None-Match on PutObject",
      "If-Match on CompleteMultipartUpload",
      "--writers-stopped",
    ])
      expect(reason).toContain(feature);
    expect(report.stores).toEqual([
      expect.objectContaining({ store: `s3://${bucket}`, conditionalPut: false, uploadPartCopy: true }),
    ]);
    expect(report.outcomes.rewrapped).toBe(0);
    expect(report.unconditionalWrites).toBe(0);
    expect(report.kms.byOperation.ReEncrypt ?? 0).toBe(0);
    for (const op of ["PutObject", "CreateMultipartUpload", "UploadPartCopy", "CompleteMultipartUpload"])
      expect(report.s3.byOperation[op] ?? 0, op).toBe(0);
    // Byte for byte as they were, and nothing else in the bucket (the probe cleaned up).
    for (const [i, o] of objs.entries()) expect(await bytesOf(s.s3, bucket, o.key)).toEqual(before[i]);
    expect(await keysOf(s.s3, bucket)).toEqual(objs.map((o) => o.key).sort());
  });

  it("with writersStopped, rewraps small objects and a multipart one (UploadPartCopy), each marked and decrypting", async (ctx) => {
    const s = serverOf(ctx);
    const key = await newKey();
    const bucket = await newBucket(s.s3);
    const objs = [];
    for (const [i, plaintextSize] of [900, 3000, 20_000].entries())
      objs.push(
        await putEncrypted(s.s3, aws.kms, bucket, `s${i}.rkey`, { keyId: key, seed: 120 + i, plaintextSize }),
      );
    // A key with a slash: the part copies name it in x-amz-copy-source.
    const big = await putEncrypted(s.s3, aws.kms, bucket, "large/7mib.rkey", {
      keyId: key,
      seed: 130,
      plaintextSize: 7 * MiB,
    });
    objs.push(big);
    const headersBefore = await Promise.all(objs.map((o) => headerOf(s.s3, bucket, o.key)));
    await rotate(key);

    const results: ObjectResult[] = [];
    const report = await runJob(
      job(s, bucket, {
        writersStopped: true,
        multipartThreshold: 6 * MiB,
        hooks: { onResult: (r) => results.push(r) },
      }),
    );
    expect(report.stopped).toBeUndefined();
    expect(report.exitCode).toBe(EXIT_CODES.ok);
    expect(report.outcomes.rewrapped).toBe(4);
    expect(report.unconditionalWrites).toBe(4);
    expect(results.map((r) => [keyOf(r), r.outcome, r.unconditional]).sort()).toEqual(
      objs.map((o) => [o.key, "rewrapped", true]).sort(),
    );
    expect(report.notes.join()).toMatch(/ignores conditional writes/);
    // The large object went the multipart way, the part after its first copied server-side.
    expect(report.s3.byOperation).toMatchObject({ CreateMultipartUpload: 1, CompleteMultipartUpload: 1 });
    expect(report.s3.byOperation.UploadPartCopy).toBeGreaterThan(0);
    expect(report.bytes.copiedServerSide).toBeGreaterThan(MiB);
    expect(report.bytes.copiedServerSide).toBeLessThan(big.size);

    for (const [i, o] of objs.entries()) {
      const after = await headerOf(s.s3, bucket, o.key);
      // The same message (a rewrap), its data key now under the new key material.
      expect(after.messageId).toEqual(headersBefore[i]!.messageId);
      expect(after.entries[0]!.keyArn).toBe(key);
      expect(after.entries[0]!.keyMaterialId).toBeDefined();
      expect(after.entries[0]!.keyMaterialId).not.toBe(headersBefore[i]!.entries[0]!.keyMaterialId);
      expect(await plaintextDigestOf(s.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
    }
    expect(await keysOf(s.s3, bucket)).toEqual(objs.map((o) => o.key).sort());

    // A second run finds every object current and writes nothing.
    const again = await runJob(job(s, bucket, { writersStopped: true, multipartThreshold: 6 * MiB }));
    expect(again.exitCode).toBe(EXIT_CODES.ok);
    expect(again.outcomes).toMatchObject({ rewrapped: 0, current: 4 });
    expect(again.unconditionalWrites).toBe(0);
  }, 60_000);
});

type RacePoint = "after header read" | "during ReEncrypt";

describe("a writer racing the job on the third-party server (writersStopped)", () => {
  for (const point of ["after header read", "during ReEncrypt"] as const satisfies readonly RacePoint[])
    for (const size of [3000, 20_000])
      for (const sameSize of [true, false])
        it(`${point}, ${size} bytes, ${sameSize ? "same" : "different"} size: a conflict, the writer's data stays and decrypts`, async (ctx) => {
          const s = serverOf(ctx);
          const key = await newKey();
          const bucket = await newBucket(s.s3);
          const original = await putEncrypted(s.s3, aws.kms, bucket, "raced.rkey", {
            keyId: key,
            seed: 140,
            plaintextSize: size,
          });
          const calm = await putEncrypted(s.s3, aws.kms, bucket, "calm.rkey", {
            keyId: key,
            seed: 141,
            plaintextSize: 2500,
          });
          await rotate(key);

          let raced = false;
          let writer: { plaintextDigest: string; size: number } | undefined;
          const race = async (): Promise<void> => {
            if (raced) return;
            raced = true;
            writer = await putEncrypted(s.s3, aws.kms, bucket, "raced.rkey", {
              keyId: key,
              seed: 199,
              plaintextSize: sameSize ? size : size + 777,
            });
          };
          const jobKms = aws.createKmsClient({ maxAttempts: 1 });
          if (point === "during ReEncrypt") raceAfterReEncryptOf(jobKms, "raced.rkey", race);
          const results: ObjectResult[] = [];
          const report = await runJob(
            job(s, bucket, {
              kms: jobKms,
              concurrency: 1,
              writersStopped: true,
              hooks: {
                afterPlan: async (plan) => {
                  if (
                    point === "after header read" &&
                    plan.ref.kind === "s3" &&
                    plan.ref.key === "raced.rkey"
                  )
                    await race();
                },
                onResult: (r) => results.push(r),
              },
            }),
          );
          expect(writer?.plaintextDigest).toMatch(/^[0-9a-f]{64}$/);
          expect(writer!.size === original.size).toBe(sameSize);
          expect(writer!.plaintextDigest).not.toBe(original.plaintextDigest);

          expect(raced).toBe(true);
          // The raced object's one result is a conflict: never reported rewrapped.
          expect(results.filter((r) => keyOf(r) === "raced.rkey")).toEqual([
            expect.objectContaining({ outcome: "conflict", code: "ERR_JOB_CONFLICT" }),
          ]);
          expect(report.failures).toEqual([
            expect.objectContaining({ object: expect.stringMatching(/\/raced\.rkey$/), outcome: "conflict" }),
          ]);
          expect(report.outcomes).toMatchObject({ rewrapped: 1, conflict: 1, failed: 0 });
          expect(report.unconditionalWrites).toBe(1);
          expect(report.exitCode).toBe(EXIT_CODES.incomplete);

          // The writer's data is there and decrypts; the calm object moved and decrypts.
          expect(await plaintextDigestOf(s.s3, aws.kms, bucket, "raced.rkey", [key])).toBe(
            writer!.plaintextDigest,
          );
          expect(await plaintextDigestOf(s.s3, aws.kms, bucket, "calm.rkey", [key])).toBe(
            calm.plaintextDigest,
          );
        });
});

describe("rekey rewrap on the third-party server", () => {
  it("is refused with one Stopped: line and exit 4; with --writers-stopped it rewraps, exit 0", async (ctx) => {
    const s = serverOf(ctx);
    const key = await newKey();
    const bucket = await newBucket(s.s3);
    const objs = [];
    for (let i = 0; i < 3; i++)
      objs.push(
        await putEncrypted(s.s3, aws.kms, bucket, `o/${i}.rkey`, {
          keyId: key,
          seed: 150 + i,
          plaintextSize: 4000,
        }),
      );
    const before = await Promise.all(objs.map((o) => bytesOf(s.s3, bucket, o.key)));
    await rotate(key);

    // The CLI takes S3's endpoint from AWS_ENDPOINT_URL_S3 and KMS's from the emulator.
    const endpoints: (string | undefined)[] = [];
    const clients = {
      s3Client: (o: AwsClientOptions) => {
        endpoints.push(o.endpointUrl);
        return s.createS3Client({
          ...(o.endpointUrl ? { endpoint: o.endpointUrl } : {}),
          ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
        });
      },
    };
    const saved = process.env["AWS_ENDPOINT_URL_S3"];
    process.env["AWS_ENDPOINT_URL_S3"] = s.endpoint;
    try {
      const args = ["rewrap", "--source", `s3://${bucket}/o/`, "--report", join(dir, "refused.json")];
      const refused = await runCliInProcess(aws, args, clients);
      expect(refused.exitCode).toBe(EXIT_CODES.unsafeStore);
      const stopped = refused.stdout.split("\n").filter((l) => l.startsWith("Stopped: "));
      expect(stopped).toHaveLength(1);
      expect(stopped[0]).toMatch(/If-Match on PutObject.*--writers-stopped.*\[ERR_JOB_STORE_UNSAFE\]$/);
      expect(refused.stdout).toContain(`Store s3://${bucket}: conditional writes NOT honoured`);
      for (const [i, o] of objs.entries()) expect(await bytesOf(s.s3, bucket, o.key)).toEqual(before[i]);

      const allowed = await runCliInProcess(
        aws,
        [...args.slice(0, -1), join(dir, "allowed.json"), "--writers-stopped"],
        clients,
      );
      expect(allowed.exitCode).toBe(EXIT_CODES.ok);
      expect(allowed.stdout).toMatch(/rewrapped +3/);
      expect(allowed.stdout).toContain(
        "Written without store-enforced conditions (--writers-stopped): 3 object(s)",
      );
    } finally {
      if (saved === undefined) delete process.env["AWS_ENDPOINT_URL_S3"];
      else process.env["AWS_ENDPOINT_URL_S3"] = saved;
    }
    expect(endpoints).toEqual([s.endpoint, s.endpoint]);
    for (const o of objs) {
      expect(await plaintextDigestOf(s.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
    }
    expect(await probeLeftovers(s.s3, bucket)).toEqual([]);
  }, 60_000);
});
