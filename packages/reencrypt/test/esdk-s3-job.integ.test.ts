/**
 * Migrating AWS Encryption SDK messages in a bucket with the job, through the test adapter's S3
 * and KMS: a bucket mixing rekey messages, ESDK messages of the signed default suite and the
 * unsigned committing suite (KMS and raw AES keyrings, 4 KiB frames, a multi-frame object above
 * the multipart threshold, an empty plaintext) and an unrelated object, migrated by
 * `runJob({ mode: "reencrypt" })`; a tampered signed message above the multipart threshold is
 * `unreadable`, untouched, with no upload left behind; `rewrap` writes nothing.
 */
import { CreateKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { decrypt, KmsKeyring, RawAesKeyring } from "@rekey/core";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { planJob, runJob, type JobOptions } from "../src/index.js";
import { esdkEncrypt, esdkKmsKeyring, esdkRawAesKeyring, SIGNED, UNSIGNED } from "./helpers/esdk-messages.js";
import { newBucket, putEncrypted } from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const RAW_KEY = randomBytes(32);
const aws = useLocalAws();
let kms: KMSClient;
let s3: S3Client;

beforeAll(() => {
  kms = aws.createKmsClient({ maxAttempts: 1 });
  s3 = aws.createS3Client({ maxAttempts: 1 });
});

async function newKey(): Promise<string> {
  const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
  return KeyMetadata!.Arn!;
}

async function get(bucket: string, key: string): Promise<Buffer> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function put(bucket: string, key: string, body: Uint8Array): Promise<void> {
  await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

function job(bucket: string, target: string, extra: Partial<JobOptions> = {}): JobOptions {
  return {
    kms,
    s3,
    source: { kind: "s3", bucket },
    target: `key:${target}`,
    kmsRps: Infinity,
    // A re-encrypt above 5 MiB uploads in parts.
    uploadPartBytes: 5 * MiB,
    multipartThreshold: 6 * MiB,
    decryptKeyring: new RawAesKeyring({ name: "offline-1", key: RAW_KEY, esdkKeyNamespace: "backups" }),
    ...extra,
  };
}

describe("migrating AWS Encryption SDK messages in a bucket", () => {
  it("reencrypt migrates rekey and ESDK messages of both suites; a second plan finds them current", async () => {
    const bucket = await newBucket(aws.s3);
    const oldKey = await newKey();
    const target = await newKey();
    const esdk = new Map<string, { plaintext: Buffer; context: Record<string, string> }>();
    const add = async (
      key: string,
      plaintext: Buffer,
      o: Parameters<typeof esdkEncrypt>[2] & { raw?: boolean },
    ): Promise<void> => {
      const keyring = o.raw
        ? esdkRawAesKeyring("backups", "offline-1", RAW_KEY)
        : esdkKmsKeyring(aws.kms, oldKey);
      await put(bucket, key, await esdkEncrypt(keyring, plaintext, o));
      esdk.set(key, { plaintext, context: o.context ?? {} });
    };
    await add("esdk/signed-4k", randomBytes(50_000), {
      suiteId: SIGNED,
      frameLength: 4096,
      context: { app: "a" },
    });
    await add("esdk/unsigned-big", randomBytes(7 * MiB), {
      suiteId: UNSIGNED,
      frameLength: 65536,
      context: { app: "big" },
    });
    await add("esdk/empty", Buffer.alloc(0), { suiteId: SIGNED, context: { app: "empty" } });
    await add("esdk/raw", randomBytes(3000), { suiteId: UNSIGNED, raw: true, context: { app: "raw" } });
    const rekey = await putEncrypted(aws.s3, aws.kms, bucket, "rekey/one", {
      keyId: oldKey,
      seed: 1,
      plaintextSize: 10_000,
    });
    await put(bucket, "notes.txt", Buffer.from("neither format"));

    const plan = await planJob(job(bucket, target, { mode: "reencrypt" }));
    expect(plan.classes).toMatchObject({
      esdk: { objects: 4 },
      reencrypt: { objects: 1 },
      foreign: { objects: 1 },
    });
    expect(plan.esdk.bySuite["0x0578 AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"]?.objects).toBe(2);
    expect(plan.esdk.bySuite["0x0478 AES256_GCM_HKDF_SHA512_COMMIT_KEY"]?.objects).toBe(2);
    expect(plan.esdk.byKey[oldKey]?.objects).toBe(3);

    const report = await runJob(job(bucket, target, { mode: "reencrypt", verify: "full" }));
    expect(report.outcomes).toMatchObject({
      reencrypted: 5,
      foreign: 1,
      failed: 0,
      unreadable: 0,
      conflict: 0,
    });
    expect(report.esdk).toEqual({ migrated: 4, droppedContextKeys: { "aws-crypto-public-key": 2 } });
    // The big one went up in parts.
    expect(report.s3.byOperation.CompleteMultipartUpload).toBe(1);
    expect((await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual(
      [],
    );

    const again = await planJob(job(bucket, target, { mode: "reencrypt" }));
    expect(again.classes).toMatchObject({
      current: { objects: 5 },
      esdk: { objects: 0 },
      foreign: { objects: 1 },
    });
    const keyring = new KmsKeyring({ client: aws.kms, allowedKeyArns: [target] });
    for (const [key, { plaintext, context }] of esdk) {
      const out = await decrypt(await get(bucket, key), { keyring });
      expect(out.plaintext.equals(plaintext)).toBe(true);
      expect({ ...out.header.encryptionContext }).toEqual(context);
    }
    expect((await decrypt(await get(bucket, rekey.key), { keyring })).plaintext.length).toBe(10_000);
    expect((await get(bucket, "notes.txt")).toString()).toBe("neither format");
  });

  it("a tampered signed message above the multipart threshold is unreadable, untouched, no upload left; rewrap writes nothing", async () => {
    const bucket = await newBucket(aws.s3);
    const oldKey = await newKey();
    const target = await newKey();
    const message = await esdkEncrypt(esdkKmsKeyring(aws.kms, oldKey), randomBytes(7 * MiB), {
      suiteId: SIGNED,
      frameLength: 65536,
    });
    // The last byte of the signature: every frame decrypts, only the signature check fails.
    message[message.length - 1] = (message[message.length - 1] ?? 0) ^ 0x01;
    await put(bucket, "esdk/tampered", message);
    await put(
      bucket,
      "esdk/good",
      await esdkEncrypt(esdkKmsKeyring(aws.kms, oldKey), randomBytes(100), { suiteId: SIGNED }),
    );
    const good = await get(bucket, "esdk/good");

    const rewrap = await runJob(job(bucket, target, { mode: "rewrap" }));
    expect(rewrap.outcomes.esdk).toBe(2);
    expect(rewrap.exitCode).toBe(2);
    expect(rewrap.bytes.written).toBe(0);
    expect(await get(bucket, "esdk/good")).toEqual(good);

    const report = await runJob(job(bucket, target, { mode: "reencrypt" }));
    expect(report.outcomes).toMatchObject({ reencrypted: 1, unreadable: 1 });
    expect(report.failures.find((f) => f.object.endsWith("esdk/tampered"))?.code).toBe("ERR_JOB_UNREADABLE");
    // Parts were sent before the signature was checked; the upload was aborted, never completed.
    expect(report.s3.byOperation.UploadPart ?? 0).toBeGreaterThan(0);
    expect(report.s3.byOperation.CompleteMultipartUpload ?? 0).toBe(0);
    expect((await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual(
      [],
    );
    // Buffer.equals: a deep equality of 7 MiB takes longer than the test may.
    expect((await get(bucket, "esdk/tampered")).equals(message)).toBe(true);
  });
});
