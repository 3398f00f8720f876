/**
 * S3 through the real `@aws-sdk/client-s3` and the localstack adapter: every operation the
 * re-encrypt job relies on, with the SDK's defaults (checksums on, path-style). Black-box, so
 * the suite runs unchanged on LocalStack or an endpoint from the environment; what needs the
 * built-in emulator (faults, clock) is marked with its capability, and emulator internals are
 * tested in s3-emulator.integ.test.ts.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { beforeAll, describe, expect, test } from "vitest";
import { itWith, useLocalAws } from "../src/vitest.js";

const MiB = 1024 * 1024;

const aws = useLocalAws();
let s3: S3Client;
let bucketCounter = 0;

beforeAll(() => {
  s3 = aws.s3;
});

async function newBucket(versioned = false): Promise<string> {
  const bucket = `rekey-s3-${process.pid}-${Date.now().toString(36)}-${++bucketCounter}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioned) {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
    );
  }
  return bucket;
}

async function bodyOf(bucket: string, key: string, extra: { VersionId?: string; Range?: string } = {}) {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

const md5 = (data: Buffer | string): string => createHash("md5").update(data).digest("hex");

describe("buckets", () => {
  test("create, head, list, delete", async () => {
    const bucket = await newBucket();
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain(bucket);
    expect(list.Buckets?.find((b) => b.Name === bucket)?.CreationDate).toBeInstanceOf(Date);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await expect(s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  test("creating an existing bucket is BucketAlreadyOwnedByYou", async () => {
    const bucket = await newBucket();
    await expect(s3.send(new CreateBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      name: "BucketAlreadyOwnedByYou",
      $metadata: { httpStatusCode: 409 },
    });
  });

  test("only an empty bucket can be deleted", async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "x" }));
    await expect(s3.send(new DeleteBucketCommand({ Bucket: bucket }))).rejects.toMatchObject({
      name: "BucketNotEmpty",
      $metadata: { httpStatusCode: 409 },
    });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k" }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  test("a missing bucket is NoSuchBucket", async () => {
    await expect(
      s3.send(new GetObjectCommand({ Bucket: "rekey-no-such-bucket-0000", Key: "k" })),
    ).rejects.toMatchObject({ name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } });
  });

  test("versioning configuration: none, Enabled, Suspended", async () => {
    const bucket = await newBucket();
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBeUndefined();
    for (const status of ["Enabled", "Suspended"] as const) {
      await s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: status } }),
      );
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(status);
    }
  });
});

describe("objects", () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await newBucket();
  });

  test.each([
    "plain.txt",
    "with space/and+plus/and%percent",
    "unicode/é/한글/\u{1F600}.bin",
    "dots/./and/../kept",
    "query?hash#amp&eq=",
    "trailing/",
    "//leading-slashes",
  ])("key %j round-trips with its bytes and MD5 ETag", async (key) => {
    const body = randomBytes(1000);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    expect(put.ETag).toBe(`"${md5(body)}"`);
    expect(await bodyOf(bucket, key)).toEqual(body);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    expect(listed.Contents?.[0]?.Key).toBe(key);
  });

  test("an empty object", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "empty", Body: "" }));
    expect(put.ETag).toBe(`"${md5("")}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "empty" }));
    expect(head.ContentLength).toBe(0);
    expect(await bodyOf(bucket, "empty")).toEqual(Buffer.alloc(0));
  });

  test("system headers, user metadata and storage class are kept and returned", async () => {
    const expires = new Date("2030-01-02T03:04:05Z");
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "headers",
        Body: "payload",
        ContentType: "application/x-rekey",
        CacheControl: "max-age=60",
        ContentDisposition: 'attachment; filename="x.bin"',
        ContentEncoding: "identity",
        ContentLanguage: "fr",
        Expires: expires,
        Metadata: { "rekey-key": "arn:aws:kms:x", Mixed: "Value With Spaces" },
        StorageClass: "STANDARD_IA",
      }),
    );
    for (const out of [
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "headers" })),
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "headers" })),
    ]) {
      expect(out.ContentType).toBe("application/x-rekey");
      expect(out.CacheControl).toBe("max-age=60");
      expect(out.ContentDisposition).toBe('attachment; filename="x.bin"');
      expect(out.ContentEncoding).toBe("identity");
      expect(out.ContentLanguage).toBe("fr");
      expect(out.Expires?.getTime()).toBe(expires.getTime());
      expect(out.Metadata).toEqual({ "rekey-key": "arn:aws:kms:x", mixed: "Value With Spaces" });
      expect(out.StorageClass).toBe("STANDARD_IA");
      expect(out.LastModified).toBeInstanceOf(Date);
      expect(out.ContentLength).toBe(7);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "headers" }));
    expect(listed.Contents?.[0]?.StorageClass).toBe("STANDARD_IA");
    const standard = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "standard", Body: "x" }));
    expect(standard.ETag).toBeDefined();
    expect(
      (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "standard" }))).StorageClass,
    ).toBeUndefined();
  });

  test("user metadata over 2 KB is MetadataTooLarge", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "meta-ok", Body: "x", Metadata: { a: "v".repeat(2000) } }),
    );
    await expect(
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "meta-big",
          Body: "x",
          Metadata: { a: "v".repeat(2100) },
        }),
      ),
    ).rejects.toMatchObject({ name: "MetadataTooLarge", $metadata: { httpStatusCode: 400 } });
  });

  test("an archived (GLACIER) object can be inspected but not read or copied", async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "cold", Body: "frozen", StorageClass: "GLACIER" }),
    );
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "cold" }))).StorageClass).toBe(
      "GLACIER",
    );
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cold" }))).rejects.toMatchObject({
      name: "InvalidObjectState",
      $metadata: { httpStatusCode: 403 },
    });
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "cold-copy", CopySource: `${bucket}/cold` })),
    ).rejects.toMatchObject({ name: "InvalidObjectState", $metadata: { httpStatusCode: 403 } });
  });

  test("a missing key is NoSuchKey on GET and 404 on HEAD", async () => {
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "missing" }))).rejects.toMatchObject({
      name: "NoSuchKey",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "missing" }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  describe("ranges", () => {
    const data = randomBytes(1000);
    beforeAll(async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ranged", Body: data }));
    });

    test.each([
      ["bytes=0-9", 0, 9],
      ["bytes=990-", 990, 999],
      ["bytes=-100", 900, 999],
      ["bytes=500-5000", 500, 999],
    ])("%s is a 206 with Content-Range", async (range, start, end) => {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "ranged", Range: range }));
      expect(out.$metadata.httpStatusCode).toBe(206);
      expect(out.ContentRange).toBe(`bytes ${start}-${end}/1000`);
      expect(out.ContentLength).toBe(end - start + 1);
      expect(Buffer.from(await out.Body!.transformToByteArray())).toEqual(data.subarray(start, end + 1));
    });

    test("a range past the end is 416 InvalidRange", async () => {
      await expect(
        s3.send(new GetObjectCommand({ Bucket: bucket, Key: "ranged", Range: "bytes=1000-1010" })),
      ).rejects.toMatchObject({ name: "InvalidRange", $metadata: { httpStatusCode: 416 } });
    });

    test("HEAD with a range answers the range's length", async () => {
      const out = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "ranged", Range: "bytes=0-99" }),
      );
      expect(out.ContentLength).toBe(100);
      expect(out.ContentRange).toBe("bytes 0-99/1000");
    });
  });

  test("conditional GET: If-Match mismatch is 412, If-None-Match match is 304", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cond-get", Body: "v1" }));
    const ok = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond-get", IfMatch: put.ETag }));
    expect(await ok.Body!.transformToString()).toBe("v1");
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond-get", IfMatch: '"0000"' })),
    ).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "cond-get", IfNoneMatch: put.ETag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "cond-get", IfMatch: '"0000"' })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const since = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: "cond-get", IfModifiedSince: new Date(0) }),
    );
    expect(since.$metadata.httpStatusCode).toBe(200);
    await since.Body!.transformToString();
  });

  test("DeleteObject and DeleteObjects (quiet and verbose)", async () => {
    for (const key of ["del-1", "del-2", "del-3", "del-4"]) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "del-1" }));
    // Deleting a missing key succeeds, as in S3.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "del-1" }));
    const verbose = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: "del-2" }, { Key: "never-existed" }] },
      }),
    );
    expect(verbose.Deleted?.map((d) => d.Key).sort()).toEqual(["del-2", "never-existed"]);
    expect(verbose.Errors ?? []).toEqual([]);
    const quiet = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: "del-3" }, { Key: "del-4" }], Quiet: true },
      }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "del-" }));
    expect(left.Contents ?? []).toEqual([]);
  });
});

describe("conditional writes", () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await newBucket();
  });

  test("If-None-Match: * creates only when the key is absent", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "once", Body: "a", IfNoneMatch: "*" }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "once", Body: "b", IfNoneMatch: "*" })),
    ).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    expect((await bodyOf(bucket, "once")).toString()).toBe("a");
  });

  test("If-Match writes only over the ETag that was read", async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cas", Body: "v1" }));
    const second = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "cas", Body: "v2", IfMatch: first.ETag }),
    );
    expect(second.ETag).toBe(`"${md5("v2")}"`);
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "cas", Body: "v3", IfMatch: first.ETag })),
    ).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    expect((await bodyOf(bucket, "cas")).toString()).toBe("v2");
  });

  test("If-Match on a missing key is NoSuchKey", async () => {
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "absent", Body: "x", IfMatch: `"${md5("x")}"` })),
    ).rejects.toMatchObject({ name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
  });

  itWith(aws, "s3ConcurrentConditionalWrites")(
    "racing writers with the same If-Match: exactly one wins, the others get 412",
    async () => {
      const base = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "race", Body: "base" }));
      const writers = Array.from({ length: 8 }, (_, i) => `writer-${i}-${"x".repeat(64 * 1024)}`);
      const results = await Promise.allSettled(
        writers.map((body) =>
          s3.send(new PutObjectCommand({ Bucket: bucket, Key: "race", Body: body, IfMatch: base.ETag })),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(writers.length - 1);
      for (const loss of lost) expect(loss.reason).toMatchObject({ $metadata: { httpStatusCode: 412 } });
      const winner = writers[results.findIndex((r) => r.status === "fulfilled")]!;
      expect((await bodyOf(bucket, "race")).toString()).toBe(winner);
    },
  );

  /** Uploads a one-part "new" body to `key` and completes it with `conditions`. */
  async function completeWith(key: string, conditions: { IfMatch?: string; IfNoneMatch?: string }) {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: "new" }),
    );
    try {
      return await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          ...conditions,
        }),
      );
    } catch (error) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
      throw error;
    }
  }

  test("CompleteMultipartUpload honours If-None-Match: *", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "mpu-none-match", Body: "old" }));
    await expect(completeWith("mpu-none-match", { IfNoneMatch: "*" })).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    expect((await bodyOf(bucket, "mpu-none-match")).toString()).toBe("old");
    const created = await completeWith("mpu-none-match-absent", { IfNoneMatch: "*" });
    expect(created.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
  });

  itWith(aws, "s3CompleteMultipartIfMatch")("CompleteMultipartUpload honours If-Match", async () => {
    const existing = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "mpu-cond", Body: "old" }));
    await expect(
      completeWith("mpu-cond", { IfMatch: '"0123456789abcdef0123456789abcdef"' }),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    expect((await bodyOf(bucket, "mpu-cond")).toString()).toBe("old");
    const done = await completeWith("mpu-cond", { IfMatch: existing.ETag! });
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    expect((await bodyOf(bucket, "mpu-cond")).toString()).toBe("new");
  });
});

describe("CopyObject", () => {
  let bucket: string;
  const source = {
    ContentType: "application/x-rekey",
    CacheControl: "no-cache",
    ContentDisposition: "inline",
    ContentLanguage: "de",
    Metadata: { "rekey-material": "m1", other: "kept" },
    Tagging: "team=core&class=secret",
  };
  beforeAll(async () => {
    bucket = await newBucket();
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "src",
        Body: "source bytes",
        StorageClass: "STANDARD_IA",
        ...source,
      }),
    );
  });

  async function describeObject(key: string) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    return {
      contentType: head.ContentType,
      cacheControl: head.CacheControl,
      contentDisposition: head.ContentDisposition,
      contentLanguage: head.ContentLanguage,
      metadata: head.Metadata,
      storageClass: head.StorageClass ?? "STANDARD",
      tags: Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value])),
      etag: head.ETag,
    };
  }

  test("COPY keeps headers, metadata and tags; the storage class is STANDARD unless given", async () => {
    await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "copy-default", CopySource: `${bucket}/src` }),
    );
    const copied = await describeObject("copy-default");
    expect(copied).toMatchObject({
      contentType: source.ContentType,
      cacheControl: source.CacheControl,
      contentDisposition: source.ContentDisposition,
      contentLanguage: source.ContentLanguage,
      metadata: source.Metadata,
      storageClass: "STANDARD",
      tags: { team: "core", class: "secret" },
      etag: `"${md5("source bytes")}"`,
    });
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "copy-class",
        CopySource: `${bucket}/src`,
        StorageClass: "STANDARD_IA",
      }),
    );
    expect((await describeObject("copy-class")).storageClass).toBe("STANDARD_IA");
  });

  test("REPLACE takes headers and metadata from the request, TaggingDirective REPLACE the tags", async () => {
    const out = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "copy-replace",
        CopySource: `${bucket}/src`,
        MetadataDirective: "REPLACE",
        ContentType: "text/plain",
        Metadata: { fresh: "yes" },
        TaggingDirective: "REPLACE",
        Tagging: "new=tag",
        StorageClass: "STANDARD_IA",
      }),
    );
    expect(out.CopyObjectResult?.ETag).toBe(`"${md5("source bytes")}"`);
    expect(out.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    const copied = await describeObject("copy-replace");
    expect(copied).toMatchObject({
      contentType: "text/plain",
      metadata: { fresh: "yes" },
      storageClass: "STANDARD_IA",
      tags: { new: "tag" },
    });
    expect(copied.cacheControl).toBeUndefined();
    expect((await bodyOf(bucket, "copy-replace")).toString()).toBe("source bytes");
  });

  test("copying an object onto itself needs REPLACE (or a new storage class)", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "self", Body: "self", Metadata: { v: "1" } }));
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "self", CopySource: `${bucket}/self` })),
    ).rejects.toMatchObject({ name: "InvalidRequest", $metadata: { httpStatusCode: 400 } });
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "self",
        CopySource: `${bucket}/self`,
        MetadataDirective: "REPLACE",
        Metadata: { v: "2" },
      }),
    );
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "self" }))).Metadata).toEqual({
      v: "2",
    });
  });

  test("x-amz-copy-source-if-match guards the source; destination If-Match guards the target", async () => {
    await expect(
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: "guarded",
          CopySource: `${bucket}/src`,
          CopySourceIfMatch: '"0"',
        }),
      ),
    ).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    const ok = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "guarded",
        CopySource: `${bucket}/src`,
        CopySourceIfMatch: `"${md5("source bytes")}"`,
      }),
    );
    expect(ok.CopyObjectResult?.ETag).toBeDefined();
  });

  test("keys that need encoding work as copy sources", async () => {
    const key = "dir with space/é+%.bin";
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "odd" }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "odd-copy",
        CopySource: `${bucket}/${encodeURIComponent(key)}`,
      }),
    );
    expect((await bodyOf(bucket, "odd-copy")).toString()).toBe("odd");
  });

  test("a missing source is NoSuchKey", async () => {
    await expect(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "x", CopySource: `${bucket}/no-such-source` })),
    ).rejects.toMatchObject({ name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
  });
});

describe("server-side encryption settings", () => {
  test("SSE-S3 by default; SSE-KMS key and bucket key kept on put, copy and multipart", async () => {
    const bucket = await newBucket();
    const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({ Description: "rekey s3 sse test" }));
    const keyArn = KeyMetadata!.Arn!;
    const plain = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "plain", Body: "x" }));
    expect(plain.ServerSideEncryption).toBe("AES256");
    const kms = { ServerSideEncryption: "aws:kms", SSEKMSKeyId: keyArn, BucketKeyEnabled: true } as const;
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "kms", Body: "x", ...kms }));
    expect(put).toMatchObject(kms);
    expect(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "kms" }))).toMatchObject(kms);
    // A copy takes its encryption from the request, not from the source.
    await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "kms-copy-plain", CopySource: `${bucket}/kms` }),
    );
    const copiedPlain = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "kms-copy-plain" }));
    expect(copiedPlain.ServerSideEncryption).toBe("AES256");
    expect(copiedPlain.SSEKMSKeyId).toBeUndefined();
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "kms", CopySource: `${bucket}/kms`, ...kms }));
    expect(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "kms" }))).toMatchObject(kms);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: "kms-mpu", ...kms }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "kms-mpu", UploadId, PartNumber: 1, Body: "y" }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "kms-mpu",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "kms-mpu" }))).toMatchObject(kms);
  });

  test("the website redirect location is kept", async () => {
    const bucket = await newBucket();
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "page", Body: "x", WebsiteRedirectLocation: "/elsewhere" }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "page" }));
    expect(head.WebsiteRedirectLocation).toBe("/elsewhere");
  });
});

describe("tagging", () => {
  test("put, get and delete tags; the x-amz-tagging header; TagCount", async () => {
    const bucket = await newBucket();
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "t", Body: "x", Tagging: "a=1&b=two%20words" }),
    );
    let tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "t" }));
    expect(tags.TagSet).toEqual([
      { Key: "a", Value: "1" },
      { Key: "b", Value: "two words" },
    ]);
    expect((await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "t" }))).TagCount).toBe(2);
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: "t",
        Tagging: { TagSet: [{ Key: "c", Value: "<&>" }] },
      }),
    );
    tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "t" }));
    expect(tags.TagSet).toEqual([{ Key: "c", Value: "<&>" }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: "t" }));
    tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "t" }));
    expect(tags.TagSet ?? []).toEqual([]);
  });

  test("more than 10 tags is refused", async () => {
    const bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "t", Body: "x" }));
    const TagSet = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await expect(
      s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: "t", Tagging: { TagSet } })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });
});

describe("versioning", () => {
  test("an overwritten version stays readable by version id", async () => {
    const bucket = await newBucket(true);
    const v1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "one" }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "two" }));
    expect(v1.VersionId).toBeDefined();
    expect(v2.VersionId).toBeDefined();
    expect(v1.VersionId).not.toBe(v2.VersionId);
    expect((await bodyOf(bucket, "doc")).toString()).toBe("two");
    expect((await bodyOf(bucket, "doc", { VersionId: v1.VersionId! })).toString()).toBe("one");
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: "doc", VersionId: v1.VersionId! }),
    );
    expect(head.VersionId).toBe(v1.VersionId);
    expect(head.ETag).toBe(`"${md5("one")}"`);
    // CopySource ?versionId= restores the old version as the newest one.
    const restored = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "doc",
        CopySource: `${bucket}/doc?versionId=${v1.VersionId}`,
      }),
    );
    expect(restored.CopySourceVersionId).toBe(v1.VersionId);
    expect((await bodyOf(bucket, "doc")).toString()).toBe("one");
  });

  test("delete markers hide the object; deleting the marker brings it back", async () => {
    const bucket = await newBucket(true);
    const v1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "one" }));
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "doc" }));
    expect(deleted.DeleteMarker).toBe(true);
    expect(deleted.VersionId).toBeDefined();
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "doc" }))).rejects.toMatchObject({
      name: "NoSuchKey",
    });
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "doc", VersionId: deleted.VersionId! })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 405 } });
    expect((await bodyOf(bucket, "doc", { VersionId: v1.VersionId! })).toString()).toBe("one");
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents ?? []).toEqual([]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect(versions.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v1.VersionId, false]]);
    expect(versions.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([
      [deleted.VersionId, true],
    ]);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "doc", VersionId: deleted.VersionId! }));
    expect((await bodyOf(bucket, "doc")).toString()).toBe("one");
    // Deleting a version for good.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "doc", VersionId: v1.VersionId! }));
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "doc" }))).rejects.toMatchObject({
      name: "NoSuchKey",
    });
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  test("suspended versioning overwrites the null version and keeps older ones", async () => {
    const bucket = await newBucket(true);
    const kept = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "versioned" }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Suspended" } }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "null-1" }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "null-2" }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: "doc" }));
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual(["null", kept.VersionId]);
    expect((await bodyOf(bucket, "doc")).toString()).toBe("null-2");
    expect((await bodyOf(bucket, "doc", { VersionId: kept.VersionId! })).toString()).toBe("versioned");
  });

  test("tagging addresses a version", async () => {
    const bucket = await newBucket(true);
    const v1 = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "1", Tagging: "v=1" }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "doc", Body: "2", Tagging: "v=2" }));
    const tags = await s3.send(
      new GetObjectTaggingCommand({ Bucket: bucket, Key: "doc", VersionId: v1.VersionId! }),
    );
    expect(tags.TagSet).toEqual([{ Key: "v", Value: "1" }]);
    expect(tags.VersionId).toBe(v1.VersionId);
  });

  test("ListObjectVersions pages by key and version markers", async () => {
    const bucket = await newBucket(true);
    const expected: string[] = [];
    for (const key of ["a", "b", "c"]) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push(
          (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key}${i}` }))).VersionId!,
        );
      }
      expected.push(...ids.reverse().map((id) => `${key}:${id}`));
    }
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 2, KeyMarker, VersionIdMarker }),
      );
      pages++;
      seen.push(...(page.Versions ?? []).map((v) => `${v.Key}:${v.VersionId}`));
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (KeyMarker !== undefined);
    expect(seen).toEqual(expected);
    expect(pages).toBe(5);
  });
});

describe("ListObjectsV2", () => {
  let bucket: string;
  const keys = [
    "a.txt",
    "dir/1",
    "dir/2",
    "dir/sub/3",
    "dir/sub/4",
    "dir2/x",
    "z",
    "é",
    "\u{1F600}",
    "\uFF21",
    "space key",
    "plus+key",
  ];
  beforeAll(async () => {
    bucket = await newBucket();
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  });

  test("lists in UTF-8 byte order", async () => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(out.Contents?.map((c) => c.Key)).toEqual(expected);
    expect(out.KeyCount).toBe(keys.length);
    expect(out.IsTruncated).toBe(false);
  });

  test("paginates with a delimiter: every key or common prefix exactly once", async () => {
    const entries: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/", MaxKeys: 2, ContinuationToken }),
      );
      pages++;
      expect(page.KeyCount).toBe((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      entries.push(
        ...(page.Contents ?? []).map((c) => c.Key!),
        ...(page.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`),
      );
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
    expect(entries.sort()).toEqual(
      ["a.txt", "z", "é", "\u{1F600}", "\uFF21", "space key", "plus+key", "P:dir/", "P:dir2/"].sort(),
    );
    expect(pages).toBe(5);
  });

  test("prefix + delimiter nests; start-after skips", async () => {
    const nested = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "dir/", Delimiter: "/" }),
    );
    expect(nested.Contents?.map((c) => c.Key)).toEqual(["dir/1", "dir/2"]);
    expect(nested.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["dir/sub/"]);
    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "dir", StartAfter: "dir/sub/3" }),
    );
    expect(after.Contents?.map((c) => c.Key)).toEqual(["dir/sub/4", "dir2/x"]);
    expect(after.StartAfter).toBe("dir/sub/3");
  });

  test("max-keys truncates and the token resumes", async () => {
    const first = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 3 }));
    expect(first.IsTruncated).toBe(true);
    expect(first.Contents).toHaveLength(3);
    const rest = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: first.NextContinuationToken }),
    );
    expect(rest.Contents).toHaveLength(keys.length - 3);
    expect(rest.ContinuationToken).toBe(first.NextContinuationToken);
  });

  test("encoding-type=url encodes keys and prefixes", async () => {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, EncodingType: "url", Prefix: "space" }),
    );
    expect(out.EncodingType).toBe("url");
    expect(out.Contents?.map((c) => c.Key)).toEqual(["space+key"]);
    const plus = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, EncodingType: "url", Prefix: "plus" }),
    );
    expect(plus.Contents?.map((c) => decodeURIComponent(c.Key!.replace(/\+/g, " ")))).toEqual(["plus+key"]);
  });
});

describe("multipart uploads", () => {
  let bucket: string;
  const source = randomBytes(12 * MiB + 12345);
  beforeAll(async () => {
    bucket = await newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "source.bin", Body: source }));
  });

  test("UploadPartCopy ranges plus an uploaded part reassemble byte-exact, with a multipart ETag", async () => {
    const key = "assembled.bin";
    const head = randomBytes(5 * MiB);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: "application/x-assembled",
        Metadata: { origin: "parts" },
        Tagging: "kind=mpu",
        StorageClass: "STANDARD_IA",
      }),
    );
    const etags: string[] = [];
    const uploaded = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: head }),
    );
    expect(uploaded.ETag).toBe(`"${md5(head)}"`);
    etags.push(uploaded.ETag!);
    const ranges = [
      [0, 5 * MiB - 1],
      [5 * MiB, 10 * MiB - 1],
      [10 * MiB, source.length - 1],
    ] as const;
    for (const [index, [first, last]] of ranges.entries()) {
      const out = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: index + 2,
          CopySource: `${bucket}/source.bin`,
          CopySourceRange: `bytes=${first}-${last}`,
          CopySourceIfMatch: `"${md5(source)}"`,
        }),
      );
      expect(out.CopyPartResult?.ETag).toBe(`"${md5(source.subarray(first, last + 1))}"`);
      etags.push(out.CopyPartResult!.ETag!);
    }

    const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size])).toEqual([
      [1, etags[0], 5 * MiB],
      [2, etags[1], 5 * MiB],
      [3, etags[2], 5 * MiB],
      [4, etags[3], source.length - 10 * MiB],
    ]);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toContainEqual([key, UploadId]);

    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const partMd5s = Buffer.concat(etags.map((e) => Buffer.from(e.replace(/"/g, ""), "hex")));
    expect(done.ETag).toBe(`"${md5(partMd5s)}-4"`);

    const expected = Buffer.concat([head, source]);
    const whole = await bodyOf(bucket, key);
    expect(whole.equals(expected)).toBe(true);
    expect(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).toMatchObject({
      ContentType: "application/x-assembled",
      Metadata: { origin: "parts" },
      StorageClass: "STANDARD_IA",
      ContentLength: expected.length,
      ETag: done.ETag,
    });
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet).toEqual([
      { Key: "kind", Value: "mpu" },
    ]);
    const part2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: 2 }));
    expect(part2.PartsCount).toBe(4);
    expect(Buffer.from(await part2.Body!.transformToByteArray()).equals(source.subarray(0, 5 * MiB))).toBe(
      true,
    );
    // A range across the boundary of two parts.
    const ranged = await bodyOf(bucket, key, { Range: `bytes=${10 * MiB - 10}-${10 * MiB + 9}` });
    expect(ranged.equals(expected.subarray(10 * MiB - 10, 10 * MiB + 10))).toBe(true);
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect((after.Uploads ?? []).map((u) => u.UploadId)).not.toContain(UploadId);
  });

  test("a part under 5 MiB that is not the last is EntityTooSmall", async () => {
    const key = "too-small";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: "a" }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: "b" }),
    );
    await expect(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: p1.ETag },
              { PartNumber: 2, ETag: p2.ETag },
            ],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: "EntityTooSmall", $metadata: { httpStatusCode: 400 } });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
  });

  test("a wrong part ETag is InvalidPart, parts out of order InvalidPartOrder", async () => {
    const key = "bad-parts";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const copy = (PartNumber: number, first: number, last: number) =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber,
          CopySource: `${bucket}/source.bin`,
          CopySourceRange: `bytes=${first}-${last}`,
        }),
      );
    const p1 = await copy(1, 0, 5 * MiB - 1);
    const p2 = await copy(2, 5 * MiB, 6 * MiB);
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts },
        }),
      );
    await expect(
      complete([
        { PartNumber: 1, ETag: '"00000000000000000000000000000000"' },
        { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! },
      ]),
    ).rejects.toMatchObject({ name: "InvalidPart", $metadata: { httpStatusCode: 400 } });
    await expect(
      complete([
        { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! },
        { PartNumber: 1, ETag: p1.CopyPartResult!.ETag! },
      ]),
    ).rejects.toMatchObject({ name: "InvalidPartOrder", $metadata: { httpStatusCode: 400 } });
    // The upload survives failed completions.
    const done = await complete([
      { PartNumber: 1, ETag: p1.CopyPartResult!.ETag! },
      { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! },
    ]);
    expect(done.ETag).toMatch(/-2"$/);
    expect((await bodyOf(bucket, key)).equals(source.subarray(0, 6 * MiB + 1))).toBe(true);
  });

  test("an out-of-range copy-source-range is refused", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "oob" }));
    await expect(
      s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: "oob",
          UploadId,
          PartNumber: 1,
          CopySource: `${bucket}/source.bin`,
          CopySourceRange: `bytes=0-${source.length}`,
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "oob", UploadId }));
  });

  test("an aborted upload is NoSuchUpload", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "aborted" }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: "aborted", UploadId }));
    await expect(
      s3.send(new UploadPartCommand({ Bucket: bucket, Key: "aborted", UploadId, PartNumber: 1, Body: "x" })),
    ).rejects.toMatchObject({ name: "NoSuchUpload", $metadata: { httpStatusCode: 404 } });
    await expect(
      s3.send(new ListPartsCommand({ Bucket: bucket, Key: "aborted", UploadId })),
    ).rejects.toMatchObject({
      name: "NoSuchUpload",
    });
  });

  test("CopyObject of a multipart object gets a plain MD5 ETag", async () => {
    const key = "two-parts";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const Parts = [];
    for (const [PartNumber, range] of [
      [1, `bytes=0-${5 * MiB - 1}`],
      [2, `bytes=${5 * MiB}-${5 * MiB + 99}`],
    ] as const) {
      const out = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber,
          CopySource: `${bucket}/source.bin`,
          CopySourceRange: range,
        }),
      );
      Parts.push({ PartNumber, ETag: out.CopyPartResult!.ETag! });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts } }),
    );
    expect(done.ETag).toMatch(/-2"$/);
    const out = await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "flat-copy", CopySource: `${bucket}/${key}` }),
    );
    expect(out.CopyObjectResult?.ETag).toBe(`"${md5(source.subarray(0, 5 * MiB + 100))}"`);
  });
});

describe("checksums", () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await newBucket();
  });

  test("a streaming body with ContentLength (aws-chunked + trailer) is stored byte-exact", async () => {
    const data = randomBytes(3 * MiB + 17);
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) =>
      data.subarray(i * 65536, (i + 1) * 65536),
    );
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "streamed",
        Body: Readable.from(chunks),
        ContentLength: data.length,
      }),
    );
    expect(put.ETag).toBe(`"${md5(data)}"`);
    expect(put.ChecksumCRC32).toBeDefined();
    const got = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: "streamed", ChecksumMode: "ENABLED" }),
    );
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  test.each(["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"] as const)(
    "%s is verified on upload and returned on GET",
    async (algorithm) => {
      const key = `sum-${algorithm}`;
      const put = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: "checksummed", ChecksumAlgorithm: algorithm }),
      );
      const field = `Checksum${algorithm}` as const;
      expect(put[field]).toBeDefined();
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
      expect(got[field]).toBe(put[field]);
      expect(await got.Body!.transformToString()).toBe("checksummed");
    },
  );

  describe("multipart uploads with a checksum algorithm", () => {
    const sha256 = (data: Buffer): Buffer => createHash("sha256").update(data).digest();
    const parts = [randomBytes(5 * MiB), randomBytes(1024)];

    async function upload(key: string, algorithm: "SHA256" | "CRC64NVME") {
      const created = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: algorithm }),
      );
      const uploaded = [];
      for (const [index, Body] of parts.entries()) {
        const out = await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: created.UploadId,
            PartNumber: index + 1,
            Body,
            ChecksumAlgorithm: algorithm,
          }),
        );
        uploaded.push({ PartNumber: index + 1, ETag: out.ETag, ChecksumSHA256: out.ChecksumSHA256 });
      }
      return { created, uploaded };
    }

    test("SHA-256: parts are verified, completion gives the composite checksum <base64>-N", async () => {
      const { created, uploaded } = await upload("composite", "SHA256");
      expect(created).toMatchObject({ ChecksumAlgorithm: "SHA256", ChecksumType: "COMPOSITE" });
      expect(uploaded.map((part) => part.ChecksumSHA256)).toEqual(
        parts.map((part) => sha256(part).toString("base64")),
      );

      // A part whose checksum does not match its bytes, or of another algorithm, is refused.
      await expect(
        s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: "composite",
            UploadId: created.UploadId,
            PartNumber: 3,
            Body: "abc",
            ChecksumSHA256: sha256(Buffer.from("abd")).toString("base64"),
          }),
        ),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
      await expect(
        s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: "composite",
            UploadId: created.UploadId,
            PartNumber: 3,
            Body: "abc",
            ChecksumAlgorithm: "CRC32",
          }),
        ),
      ).rejects.toMatchObject({ name: "InvalidRequest", $metadata: { httpStatusCode: 400 } });

      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "composite",
          UploadId: created.UploadId,
          MultipartUpload: { Parts: uploaded },
        }),
      );
      const expected = `${sha256(Buffer.concat(parts.map(sha256))).toString("base64")}-2`;
      expect(done.ChecksumSHA256).toBe(expected);
      expect(done.ChecksumType).toBe("COMPOSITE");
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "composite", ChecksumMode: "ENABLED" }),
      );
      expect(head).toMatchObject({ ChecksumSHA256: expected, ChecksumType: "COMPOSITE" });
      const got = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: "composite", ChecksumMode: "ENABLED" }),
      );
      expect(got.ChecksumSHA256).toBe(expected);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);

      // A copy made in one request cannot keep a per-part checksum: it gets one of its bytes.
      await s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "composite-copy", CopySource: `${bucket}/composite` }),
      );
      const copied = await s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: "composite-copy", ChecksumMode: "ENABLED" }),
      );
      expect(copied).toMatchObject({
        ChecksumSHA256: sha256(Buffer.concat(parts)).toString("base64"),
        ChecksumType: "FULL_OBJECT",
      });
    });

    test("a part listed with another checksum than it was stored with is InvalidPart", async () => {
      const { created, uploaded } = await upload("composite-bad", "SHA256");
      await expect(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: "composite-bad",
            UploadId: created.UploadId,
            MultipartUpload: {
              Parts: [
                uploaded[0]!,
                { ...uploaded[1]!, ChecksumSHA256: sha256(Buffer.from("other")).toString("base64") },
              ],
            },
          }),
        ),
      ).rejects.toMatchObject({ name: "InvalidPart", $metadata: { httpStatusCode: 400 } });
      await s3.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: "composite-bad", UploadId: created.UploadId }),
      );
    });

    test("CRC64NVME: a full-object checksum, the same as a single PUT of the bytes", async () => {
      const { created, uploaded } = await upload("full", "CRC64NVME");
      expect(created).toMatchObject({ ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT" });
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: "full",
          UploadId: created.UploadId,
          MultipartUpload: { Parts: uploaded.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
        }),
      );
      // The client computes the CRC64NVME of a single PUT itself; the server checked it.
      const single = await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "full-single",
          Body: Buffer.concat(parts),
          ChecksumAlgorithm: "CRC64NVME",
        }),
      );
      expect(done).toMatchObject({
        ChecksumCRC64NVME: single.ChecksumCRC64NVME,
        ChecksumType: "FULL_OBJECT",
      });
    });
  });

  test("a checksum that does not match the body is refused", async () => {
    await expect(
      s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: "bad-sum", Body: "abc", ChecksumCRC32: "AAAAAA==" }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "bad-sum" }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});

describe("built-in emulator capabilities", () => {
  itWith(aws, "faults")("PutObject calls failed with 503 are retried by the SDK, then succeed", async () => {
    const bucket = await newBucket();
    // "unavailable" rather than "throttle": the SDK backs off from throttling for seconds;
    // throttling is checked below without retries.
    aws.faults!.inject("s3:PutObject", { error: "unavailable", times: 2 });
    const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "after retries" }));
    expect(out.$metadata.attempts).toBe(3);
    expect(aws.faults!.failures("s3:PutObject")).toBe(2);
    expect((await bodyOf(bucket, "k")).toString()).toBe("after retries");
  });

  itWith(aws, "faults")("an injected 5xx surfaces as the S3 error when retries are off", async () => {
    const bucket = await newBucket();
    const noRetry = aws.createS3Client({ maxAttempts: 1 });
    try {
      aws.faults!.inject("s3:GetObject", { error: "internal", times: 1 });
      await expect(noRetry.send(new GetObjectCommand({ Bucket: bucket, Key: "k" }))).rejects.toMatchObject({
        name: "InternalError",
        $metadata: { httpStatusCode: 500 },
      });
      aws.faults!.inject("s3:UploadPartCopy", { error: "throttle", times: 1 });
      const { UploadId } = await noRetry.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "m" }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "x" }));
      await expect(
        noRetry.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: "m",
            UploadId,
            PartNumber: 1,
            CopySource: `${bucket}/src`,
          }),
        ),
      ).rejects.toMatchObject({ name: "SlowDown", $metadata: { httpStatusCode: 503 } });
    } finally {
      noRetry.destroy();
    }
  });

  itWith(aws, "clock")("Last-Modified comes from the emulated clock", async () => {
    const bucket = await newBucket();
    await aws.clock!.advance(400 * 24 * 3600 * 1000);
    const before = Math.floor(aws.clock!.now().getTime() / 1000) * 1000;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "dated", Body: "x" }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "dated" }));
    // The emulated clock may run on from the advanced time; the host clock is 400 days behind.
    expect(head.LastModified!.getTime()).toBeGreaterThanOrEqual(before);
    expect(head.LastModified!.getTime()).toBeLessThanOrEqual(aws.clock!.now().getTime());
    expect(head.LastModified!.getTime()).toBeGreaterThan(Date.now() + 399 * 24 * 3600 * 1000);
  });
});
