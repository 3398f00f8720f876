/**
 * Writes whose answer is lost on the way back: S3 applied the request, the client saw a network
 * error and retried. The retry of a conditional write then fails (412 for a `PutObject`,
 * `NoSuchUpload` for a `CompleteMultipartUpload` whose upload is gone); the job must recognize its
 * own bytes and count the object done, without aborting anything or reporting a failure. A lost
 * answer to `CreateMultipartUpload` leaves an empty upload nobody knows the id of: the job retries,
 * and aborts nothing it did not start.
 */
import { CreateKeyCommand, RotateKeyOnDemandCommand, type KMSClient } from "@aws-sdk/client-kms";
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { DEFAULT_PROBE_PREFIX, runJob, type JobOptions } from "../src/index.js";
import { headerOf, newBucket, plaintextDigestOf, putEncrypted } from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let kms: KMSClient;

beforeAll(() => {
  kms = aws.createKmsClient({ maxAttempts: 1 });
});

/** An S3 client whose first `times` answers to `commandName` are replaced by a network error. */
function losingFirstAnswerOf(commandName: string, times = 1): { client: S3Client; lost: () => number } {
  const client = aws.createS3Client({ maxAttempts: 1 });
  let lost = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      // The job's own objects, not the store probe's scratch objects.
      const key = (args.input as { Key?: string }).Key ?? "";
      if (context.commandName === commandName && lost < times && !key.startsWith(DEFAULT_PROBE_PREFIX)) {
        lost++;
        throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      }
      return out;
    },
    { step: "initialize", name: "loseFirstAnswer" },
  );
  return { client, lost: () => lost };
}

async function newKey(): Promise<string> {
  const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
  return KeyMetadata!.Arn!;
}

function job(bucket: string, s3: S3Client, extra: Partial<JobOptions> = {}): JobOptions {
  return { kms, s3, source: { kind: "s3", bucket }, target: "current", kmsRps: Infinity, ...extra };
}

describe("a write whose answer is lost", () => {
  it("PutObject: the retried write sees its own bytes (412) and the object counts rewrapped", async () => {
    const key = await newKey();
    const bucket = await newBucket(aws.s3);
    const o = await putEncrypted(aws.s3, aws.kms, bucket, "small.rkey", {
      keyId: key,
      seed: 1,
      plaintextSize: 2000,
    });
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    const lossy = losingFirstAnswerOf("PutObjectCommand");
    const report = await runJob(job(bucket, lossy.client, { retry: { baseDelayMs: 1 } }));
    expect(lossy.lost()).toBe(1);
    expect(report.outcomes).toMatchObject({ rewrapped: 1, failed: 0, conflict: 0 });
    expect(report.exitCode).toBe(0);
    expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
  });

  for (const mode of ["rewrap", "reencrypt"] as const) {
    it(`CompleteMultipartUpload (${mode}): the retry finds no upload, the job finds its own object`, async () => {
      const key = await newKey();
      const bucket = await newBucket(aws.s3);
      const o = await putEncrypted(aws.s3, aws.kms, bucket, "big.rkey", {
        keyId: key,
        seed: 2,
        plaintextSize: 20 * MiB,
      });
      const before = await headerOf(aws.s3, bucket, o.key);
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
      const lossy = losingFirstAnswerOf("CompleteMultipartUploadCommand");
      const report = await runJob(
        job(bucket, lossy.client, { mode, multipartThreshold: 6 * MiB, retry: { baseDelayMs: 1 } }),
      );
      expect(lossy.lost()).toBe(1);
      expect(report.failures).toEqual([]);
      expect(report.outcomes).toMatchObject({
        [mode === "rewrap" ? "rewrapped" : "reencrypted"]: 1,
        failed: 0,
        conflict: 0,
      });
      expect(report.exitCode).toBe(0);
      expect(report.s3.byOperation.AbortMultipartUpload ?? 0).toBe(0);
      const after = await headerOf(aws.s3, bucket, o.key);
      expect(after.prefix.entries[0]?.body).not.toEqual(before.prefix.entries[0]?.body);
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
      const uploads = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });
  }

  for (const mode of ["rewrap", "reencrypt"] as const) {
    it(`CreateMultipartUpload (${mode}): retried; the upload the lost answer started is left empty, and no other writer's upload is touched`, async () => {
      const key = await newKey();
      const bucket = await newBucket(aws.s3);
      const o = await putEncrypted(aws.s3, aws.kms, bucket, "big.rkey", {
        keyId: key,
        seed: 3,
        plaintextSize: 20 * MiB,
      });
      // Another writer's upload of the same key: never the job's to abort.
      const theirs = await aws.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "big.rkey" }));
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
      const lossy = losingFirstAnswerOf("CreateMultipartUploadCommand");
      const report = await runJob(
        job(bucket, lossy.client, { mode, multipartThreshold: 6 * MiB, retry: { baseDelayMs: 1 } }),
      );
      expect(lossy.lost()).toBe(1);
      expect(report.failures).toEqual([]);
      expect(report.outcomes).toMatchObject({ [mode === "rewrap" ? "rewrapped" : "reencrypted"]: 1 });
      expect(report.s3.byOperation.CreateMultipartUpload).toBe(2);
      expect(report.s3.byOperation.AbortMultipartUpload ?? 0).toBe(0);
      const uploads = (await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
      expect(uploads.map((u) => u.UploadId)).toContain(theirs.UploadId);
      // Theirs and the one the lost answer started, which holds no part.
      expect(uploads).toHaveLength(2);
      for (const u of uploads) {
        if (u.UploadId === theirs.UploadId) continue;
        const parts = await aws.s3.send(
          new ListPartsCommand({ Bucket: bucket, Key: "big.rkey", UploadId: u.UploadId }),
        );
        expect(parts.Parts ?? []).toEqual([]);
      }
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, o.key, [key])).toBe(o.plaintextDigest);
    });
  }
});
