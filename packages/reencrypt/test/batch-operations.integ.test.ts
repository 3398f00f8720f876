/** The S3 Batch Operations handler runs the job's per-object code on each task. */
import { CreateKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { batchOperationsHandler, JobError } from "../src/index.js";
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
      ["t3", "TemporaryFailure"],
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

  it("a target that does not resolve fails the invocation, and the next one tries again", async () => {
    const handler = batchOperationsHandler({ kms: aws.kms, s3: aws.s3, target: "alias:rekey-none-such" });
    const event = { invocationSchemaVersion: "1.0", invocationId: "x", tasks: [] };
    await expect(handler(event)).rejects.toSatisfy(
      (e) => e instanceof JobError && e.code === "ERR_JOB_TARGET",
    );
    await expect(handler(event)).rejects.toThrow(/alias alias\/rekey-none-such does not exist/);
  });
});
