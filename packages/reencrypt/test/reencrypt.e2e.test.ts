/**
 * End to end through the test adapter: 1,000 objects of mixed sizes (mostly small, several above
 * the multipart threshold, one of 100 MiB written and checked as streams), a rotation on demand,
 * the plan, the run, and every object checked: on the current material, decrypting to its
 * original plaintext, payload bytes unchanged, and the big ones moved server-side. Then the same
 * after an alias cutover to a new key. `REKEY_E2E_OBJECTS` lowers the count for a quick run.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { decryptStream, KmsKeyring } from "@rekey/core";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { planJob, runJob, type JobOptions } from "../src/index.js";
import {
  bytesDigestFrom,
  headerOf,
  newBucket,
  putEncrypted,
  type WrittenObject,
} from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const COUNT = Number(process.env["REKEY_E2E_OBJECTS"] ?? 1000);
const BIG_SIZES = [17 * MiB, 19 * MiB, 23 * MiB, 100 * MiB];
const aws = useLocalAws();

interface Stored extends WrittenObject {
  bodyDigest: string;
  bodyOffset: number;
}

let bucket: string;
let oldKey: string;
const objects: Stored[] = [];
const big = new Set<string>();

async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function describeMaterial(keyArn: string): Promise<string | undefined> {
  const { KeyMetadata } = await aws.kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
  return KeyMetadata?.CurrentKeyMaterialId;
}

/** Decrypts an object as a stream through a keyring and returns the plaintext SHA-256. */
async function plaintextDigest(key: string, keyring: KmsKeyring): Promise<string> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const h = createHash("sha256");
  await pipeline(out.Body as Readable, decryptStream({ keyring }), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) h.update(c);
  });
  return h.digest("hex");
}

/** Checks every object: on `keyArn`'s current material, same header and body bytes, same plaintext. */
async function checkAll(keyArn: string, keyring: KmsKeyring, requestedKeyId?: string): Promise<void> {
  const material = await describeMaterial(keyArn);
  await pool(objects, 16, async (o) => {
    const h = await headerOf(aws.s3, bucket, o.key);
    expect(h.entries).toHaveLength(1);
    expect(h.entries[0]?.keyArn).toBe(keyArn);
    if (requestedKeyId) expect(h.entries[0]?.requestedKeyId).toBe(requestedKeyId);
    if (aws.capabilities.keyMaterialIdInResponses) expect(h.entries[0]?.keyMaterialId).toBe(material);
    expect(await bytesDigestFrom(aws.s3, bucket, o.key, h.bodyOffset)).toBe(o.bodyDigest);
    expect(await plaintextDigest(o.key, keyring)).toBe(o.plaintextDigest);
  });
}

function job(extra: Partial<JobOptions> = {}): JobOptions {
  return {
    kms: aws.createKmsClient({ maxAttempts: 1 }),
    s3: aws.createS3Client({ maxAttempts: 1 }),
    source: { kind: "s3", bucket },
    target: "current",
    kmsRps: 2000,
    ...extra,
  };
}

describe(`rewrap of ${COUNT} objects end to end`, () => {
  beforeAll(async () => {
    oldKey = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await aws.kms.send(new CreateAliasCommand({ AliasName: "alias/e2e-app", TargetKeyId: oldKey }));
    bucket = await newBucket(aws.s3, true);
    const specs = Array.from({ length: COUNT }, (_, i) => {
      const bigSize = i < BIG_SIZES.length ? BIG_SIZES[i] : undefined;
      const size = bigSize ?? 200 + ((i * 7919) % (i % 10 === 0 ? 200_000 : 6000));
      return { key: `${bigSize ? "big" : "small"}/${String(i).padStart(5, "0")}.rkey`, size, seed: 1000 + i };
    });
    await pool(specs, 12, async (s) => {
      const written = await putEncrypted(aws.s3, aws.kms, bucket, s.key, {
        keyId: "alias/e2e-app",
        seed: s.seed,
        plaintextSize: s.size,
        frameLength: s.size > 16 * MiB ? 1024 * 1024 : 16 * 1024,
      });
      const h = await headerOf(aws.s3, bucket, s.key);
      objects.push({
        ...written,
        bodyOffset: h.bodyOffset,
        bodyDigest: await bytesDigestFrom(aws.s3, bucket, s.key, h.bodyOffset),
      });
      if (s.size > 16 * MiB) big.add(s.key);
    });
  }, 240_000);

  it("rotation → the plan shows the old material → the run moves everything onto the new one", async () => {
    const before = await describeMaterial(oldKey);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: oldKey }));
    const after = await describeMaterial(oldKey);
    expect(after).not.toBe(before);

    const plan = await planJob(job());
    expect(plan.objects).toBe(COUNT);
    expect(plan.classes.rewrap.objects).toBe(COUNT);
    expect(plan.kmsCalls.byOperation.ReEncrypt).toBe(COUNT);
    expect(plan.multipartObjects).toBe(big.size);
    if (aws.capabilities.keyMaterialIdInResponses) {
      expect(Object.keys(plan.bySourceMaterial)).toEqual([before]);
      expect(plan.bySourceMaterial[before as string]?.objects).toBe(COUNT);
    }

    const report = await runJob(job({ concurrency: 16 }));
    expect(report.outcomes.rewrapped).toBe(COUNT);
    expect(report.exitCode).toBe(0);
    expect(report.kms.byOperation.ReEncrypt).toBe(COUNT);

    // Bytes through the job: small objects are read and written whole; each big one costs its
    // header and about 5 MiB each way, the rest is copied by S3.
    const smallBytes = objects.filter((o) => !big.has(o.key)).reduce((n, o) => n + o.size, 0);
    const bigBytes = objects.filter((o) => big.has(o.key)).reduce((n, o) => n + o.size, 0);
    const moved = report.bytes.read + report.bytes.written;
    const headerReads = COUNT * 2 * 4096 + big.size * 2 * 64 * 1024;
    const bigShare = moved - 2 * smallBytes;
    // About header + 5 MiB each way per big object (a full rewrite would move 2 × bigBytes).
    expect(bigShare).toBeLessThanOrEqual(big.size * 2 * 5 * MiB + headerReads);
    expect(bigShare).toBeGreaterThanOrEqual(big.size * 2 * 5 * MiB - big.size * 64 * 1024);
    expect(report.bytes.copiedServerSide).toBeGreaterThan(bigBytes - big.size * 5 * MiB - 1);

    await checkAll(oldKey, new KmsKeyring({ client: aws.kms, allowedKeyArns: [oldKey] }));
  }, 240_000);

  it("after an alias cutover to a new key, target alias:NAME moves everything to that key", async () => {
    const newKey = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await aws.kms.send(new UpdateAliasCommand({ AliasName: "alias/e2e-app", TargetKeyId: newKey }));
    const plan = await planJob(job({ target: "alias:e2e-app" }));
    expect(plan.target.keyArn).toBe(newKey);
    expect(plan.classes.rewrap.objects).toBe(COUNT);
    expect(plan.bySourceKey[oldKey]?.objects).toBe(COUNT);

    const report = await runJob(job({ target: "alias:e2e-app", concurrency: 16 }));
    expect(report.outcomes.rewrapped).toBe(COUNT);
    expect(report.exitCode).toBe(0);
    expect(report.target.keyArn).toBe(newKey);

    // Applications decrypting through the alias read every object again.
    await checkAll(newKey, new KmsKeyring({ client: aws.kms, keyId: "alias/e2e-app" }), "alias/e2e-app");
    const again = await runJob(job({ target: "alias:e2e-app" }));
    if (aws.capabilities.keyMaterialIdInResponses) {
      expect(again.outcomes.current).toBe(COUNT);
      expect(again.bytes.written).toBe(0);
    }
  }, 240_000);
});
