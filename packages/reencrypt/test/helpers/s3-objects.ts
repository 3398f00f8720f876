/**
 * Writing and checking rekey objects in S3 for the job's integration tests. Large plaintexts are
 * generated as a deterministic stream (AES-CTR keystream of a seed), so a 100 MiB object is
 * written, hashed and checked without ever being held in memory.
 */
import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { KMSClient } from "@aws-sdk/client-kms";
import { decryptStream, encrypt, encryptStream, inspect, KmsKeyring, type Inspection } from "@rekey/core";
import { JobCounters } from "../../src/support/job-counters.js";
import { uploadStream } from "../../src/stores/s3/stream-upload.js";

const MiB = 1024 * 1024;
let buckets = 0;

/** Creates a bucket with a unique name. */
export async function newBucket(s3: S3Client, versioned = false): Promise<string> {
  const bucket = `rekey-job-${process.pid}-${Date.now().toString(36)}-${++buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioned)
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
    );
  return bucket;
}

/** A deterministic plaintext stream of `size` bytes. */
export function plaintextStream(seed: number, size: number): Readable {
  const key = createHash("sha256").update(`seed-${seed}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  let left = size;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
    },
  });
}

/** SHA-256 (hex) of a stream's bytes. */
export async function digestOf(stream: AsyncIterable<Buffer | Uint8Array>): Promise<string> {
  const h = createHash("sha256");
  for await (const c of stream) h.update(c);
  return h.digest("hex");
}

/** What a test keeps about an object it wrote. */
export interface WrittenObject {
  readonly key: string;
  readonly size: number;
  readonly plaintextSize: number;
  readonly plaintextDigest: string;
}

/** Options of {@link putEncrypted}. */
export interface PutEncryptedOptions {
  readonly keyId: string;
  /** More keys wrapping the same data key. */
  readonly additionalKeyIds?: readonly string[];
  readonly seed: number;
  readonly plaintextSize: number;
  readonly context?: Record<string, string>;
  readonly frameLength?: number;
  /** Extra PutObject / CreateMultipartUpload parameters (metadata, tags, storage class). */
  readonly params?: Record<string, unknown>;
}

/** Encrypts a deterministic plaintext and writes it as one object (streamed above 8 MiB). */
export async function putEncrypted(
  s3: S3Client,
  kms: KMSClient,
  bucket: string,
  key: string,
  o: PutEncryptedOptions,
): Promise<WrittenObject> {
  const keyring = new KmsKeyring({ client: kms, keyId: o.keyId, additionalKeyIds: o.additionalKeyIds ?? [] });
  const context = o.context ?? { bucket, key };
  const plaintextDigest = await digestOf(plaintextStream(o.seed, o.plaintextSize));
  if (o.plaintextSize <= 8 * MiB) {
    const plaintext = Buffer.concat(await plaintextStream(o.seed, o.plaintextSize).toArray());
    const { ciphertext } = await encrypt(plaintext, {
      keyring,
      encryptionContext: context,
      ...(o.frameLength ? { frameLength: o.frameLength } : {}),
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: ciphertext, ...o.params }));
    return { key, size: ciphertext.length, plaintextSize: o.plaintextSize, plaintextDigest };
  }
  let size = 0;
  await pipeline(
    plaintextStream(o.seed, o.plaintextSize),
    encryptStream({
      keyring,
      encryptionContext: context,
      ...(o.frameLength ? { frameLength: o.frameLength } : {}),
    }),
    async (src: AsyncIterable<Buffer>) => {
      const r = await uploadStream(
        src,
        { client: s3, counters: new JobCounters() },
        { ref: { kind: "s3", bucket, key }, params: (o.params ?? {}) as never, partBytes: 8 * MiB },
      );
      size = r.size;
    },
  );
  return { key, size, plaintextSize: o.plaintextSize, plaintextDigest };
}

/** The header of an object (ranged GET of its first 64 KiB). */
export async function headerOf(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Inspection> {
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      Range: "bytes=0-65535",
      ...(versionId ? { VersionId: versionId } : {}),
    }),
  );
  return inspect(await out.Body!.transformToByteArray());
}

/** SHA-256 of the plaintext of an object, stream-decrypted with a keyring allowing `keyArns`. */
export async function plaintextDigestOf(
  s3: S3Client,
  kms: KMSClient,
  bucket: string,
  key: string,
  keyArns: readonly string[],
): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const h = createHash("sha256");
  await pipeline(
    out.Body as Readable,
    decryptStream({ keyring: new KmsKeyring({ client: kms, allowedKeyArns: [...keyArns] }) }),
    async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) h.update(c);
    },
  );
  return h.digest("hex");
}

/** SHA-256 of an object's bytes from `offset` to the end (the body after its prefix). */
export async function bytesDigestFrom(
  s3: S3Client,
  bucket: string,
  key: string,
  offset: number,
  versionId?: string,
): Promise<string> {
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      Range: `bytes=${offset}-`,
      ...(versionId ? { VersionId: versionId } : {}),
    }),
  );
  return digestOf(out.Body as Readable);
}

/** The S3 commands that write. */
const WRITE_COMMANDS = new Set([
  "PutObjectCommand",
  "CreateMultipartUploadCommand",
  "UploadPartCommand",
  "UploadPartCopyCommand",
  "CompleteMultipartUploadCommand",
  "CopyObjectCommand",
  "DeleteObjectCommand",
  "PutObjectTaggingCommand",
]);

/**
 * Counts the requests a client sends, by command name, on any backend: a middleware on the
 * client itself, so it sees every request the code under test makes through it.
 */
export function countRequests(client: S3Client | KMSClient): {
  readonly calls: (command: string) => number;
  /** Write requests, except to the store probe's scratch objects. */
  readonly writes: () => number;
} {
  const calls = new Map<string, number>();
  let writes = 0;
  (client.middlewareStack as S3Client["middlewareStack"]).add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "";
      calls.set(name, (calls.get(name) ?? 0) + 1);
      const key = (args.input as { Key?: string }).Key ?? "";
      if (WRITE_COMMANDS.has(name) && !key.startsWith(".rekey-probe/")) writes++;
      return next(args);
    },
    { step: "initialize", name: "countRequests" },
  );
  return { calls: (command) => calls.get(command) ?? 0, writes: () => writes };
}
