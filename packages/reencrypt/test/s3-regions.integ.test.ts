/**
 * Messages with copies of their data key in two Regions (a multi-Region / DR setup): the job's
 * KMS client reaches one Region, so it moves the entries under keys there and keeps the other
 * Region's entry byte for byte, without ever naming that key to its client — under target
 * `current` and under an alias target alike. The second Region is a second built-in emulator,
 * as a second Region is a second endpoint in AWS.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encrypt, KmsKeyring, MultiKeyring } from "@rekey/core";
import { startLocalAws, type LocalAws } from "@rekey/localstack";
import { useLocalAws } from "@rekey/localstack/vitest";
import { planJob, runJob, type JobOptions } from "../src/index.js";
import { digestOf, headerOf, newBucket, plaintextDigestOf, plaintextStream } from "./helpers/s3-objects.js";

const aws = useLocalAws();
let away: LocalAws;
let kms: KMSClient;
let s3: S3Client;
/** Every key id the job's KMS client was asked about. */
const named: string[] = [];

beforeAll(async () => {
  away = await startLocalAws({
    backend: "builtin",
    region: aws.region === "eu-west-1" ? "ap-southeast-2" : "eu-west-1",
    log: false,
  });
  kms = aws.createKmsClient({ maxAttempts: 1 });
  kms.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      for (const field of ["KeyId", "SourceKeyId", "DestinationKeyId"])
        if (typeof input[field] === "string") named.push(input[field]);
      return next(args);
    },
    { step: "initialize", name: "recordKeyIds" },
  );
  s3 = aws.createS3Client({ maxAttempts: 1 });
});

afterAll(async () => {
  await away?.stop();
});

async function newKey(client: KMSClient): Promise<string> {
  return (await client.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
}

/** One object whose data key is wrapped under `local` (this Region) and `remote` (the other). */
async function putTwoRegion(bucket: string, key: string, local: string, remote: string) {
  const plaintext = Buffer.concat(await plaintextStream(7, 3000).toArray());
  const { ciphertext } = await encrypt(plaintext, {
    keyring: new MultiKeyring([
      new KmsKeyring({ client: aws.kms, keyId: local }),
      new KmsKeyring({ client: away.kms, keyId: remote }),
    ]),
    encryptionContext: { bucket, key },
  });
  await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: ciphertext }));
  return { plaintextDigest: await digestOf(plaintextStream(7, 3000)) };
}

function job(bucket: string, extra: Partial<JobOptions> = {}): JobOptions {
  return { kms, s3, source: { kind: "s3", bucket }, target: "current", kmsRps: Infinity, ...extra };
}

describe("a message with a copy of its data key in another Region", () => {
  for (const target of ["current", "alias"] as const) {
    it(`target ${target}: the local entry moves, the other Region's is kept byte for byte and never sent`, async () => {
      const local = await newKey(aws.kms);
      const remote = await newKey(away.kms);
      const bucket = await newBucket(aws.s3);
      const o = await putTwoRegion(bucket, "two.rkey", local, remote);
      const before = await headerOf(aws.s3, bucket, "two.rkey");
      expect(before.entries.map((e) => e.keyArn)).toEqual([local, remote]);
      let spec = "current";
      let destination = local;
      if (target === "current") await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: local }));
      else {
        destination = await newKey(aws.kms);
        const alias = `alias/rekey-regions-${Date.now()}`;
        await aws.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: destination }));
        spec = `alias:${alias.slice("alias/".length)}`;
      }
      named.length = 0;

      const plan = await planJob(job(bucket, { target: spec }));
      expect(plan.classes.rewrap.objects).toBe(1);
      expect(plan.keptEntries).toEqual({ objects: 1, entries: 1 });
      expect(plan.target.kmsScope).toMatch(new RegExp(`^${aws.region} `));
      expect(plan.notes.join(" ")).toMatch(/1 entry under keys outside .* are kept/);
      const report = await runJob(job(bucket, { target: spec, verify: "full" }));
      expect(report.outcomes).toMatchObject({ rewrapped: 1, failed: 0 });
      expect(report.exitCode).toBe(0);
      expect(report.keptEntries).toEqual({ objects: 1, entries: 1 });
      expect(named.length).toBeGreaterThan(0);
      expect(named).not.toContain(remote);

      const after = await headerOf(aws.s3, bucket, "two.rkey");
      expect(after.entries.map((e) => e.keyArn)).toEqual([destination, remote]);
      expect(after.prefix.entries[0]?.body).not.toEqual(before.prefix.entries[0]?.body);
      expect(after.prefix.entries[1]).toEqual(before.prefix.entries[1]);
      // Each Region alone still opens the object.
      expect(await plaintextDigestOf(aws.s3, aws.kms, bucket, "two.rkey", [destination])).toBe(
        o.plaintextDigest,
      );
      expect(await plaintextDigestOf(aws.s3, away.kms, bucket, "two.rkey", [remote])).toBe(o.plaintextDigest);
    });
  }
});
