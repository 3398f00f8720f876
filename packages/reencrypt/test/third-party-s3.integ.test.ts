/**
 * What a third-party S3 server (test/helpers/third-party-s3.ts) honours of the S3 features the
 * job relies on, through the AWS SDK. Every test asserts what the server does today, including
 * what it gets wrong, so a release that changes any of it fails here and the job's assumptions
 * about such stores get looked at again.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, test, type TestContext } from "vitest";
import { startThirdPartyS3, type ThirdPartyS3 } from "./helpers/third-party-s3.js";

const MiB = 1024 * 1024;
const OTHER_ETAG = '"0123456789abcdef0123456789abcdef"';
const PAST = new Date(Date.UTC(2000, 0, 1));
const FUTURE = new Date(Date.UTC(2999, 0, 1));

const md5 = (data: string | Buffer): string => createHash("md5").update(data).digest("hex");

let server: ThirdPartyS3 | undefined;
let skipReason: string | undefined;
let bucketCounter = 0;

beforeAll(async () => {
  const started = await startThirdPartyS3();
  if ("skip" in started) skipReason = started.skip;
  else server = started;
});

afterAll(async () => {
  await server?.stop();
});

/** The running server's client, or the test is skipped with the reason it could not start. */
function s3Of(ctx: TestContext): S3Client {
  if (server === undefined) ctx.skip(skipReason ?? "the third-party S3 server did not start");
  return server!.s3;
}

async function newBucket(s3: S3Client): Promise<string> {
  const bucket = `third-party-${++bucketCounter}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

async function put(s3: S3Client, bucket: string, key: string, body: string | Buffer): Promise<string> {
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).ETag!;
}

describe("the server", () => {
  test("runs on loopback and reports its package and version", (ctx) => {
    s3Of(ctx);
    expect(server!.name).toBe("@20minutes/s3rver");
    expect(server!.version).toMatch(/^4\.\d+\.\d+$/);
    expect(server!.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test("refuses a streamed body sent with the SDK's default checksum trailer (why the client sends checksums only when required)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    const withDefaults = server!.createS3Client({
      requestChecksumCalculation: "WHEN_SUPPORTED",
      responseChecksumValidation: "WHEN_SUPPORTED",
    });
    const streamed = () => Readable.from([Buffer.from("streamed "), Buffer.from("body")]);
    await expect(
      withDefaults.send(
        new PutObjectCommand({ Bucket: bucket, Key: "k", Body: streamed(), ContentLength: 13 }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: streamed(), ContentLength: 13 }));
    expect(await bodyOf(s3, bucket, "k")).toBe("streamed body");
  });
});

describe("conditional writes: ignored", () => {
  test("PutObject with a non-matching If-Match is accepted and overwrites", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    const etag = await put(s3, bucket, "k", "old");
    const out = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "new", IfMatch: OTHER_ETAG }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.ETag).not.toBe(etag);
    expect(await bodyOf(s3, bucket, "k")).toBe("new");
  });

  test("PutObject with If-Match on a missing key creates it (S3: 404 NoSuchKey)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "absent", Body: "x", IfMatch: OTHER_ETAG }));
    expect(await bodyOf(s3, bucket, "absent")).toBe("x");
  });

  test("PutObject with If-None-Match: * on an existing key is accepted and overwrites", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "k", "old");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "new", IfNoneMatch: "*" }));
    expect(await bodyOf(s3, bucket, "k")).toBe("new");
  });

  test("CompleteMultipartUpload with a non-matching If-Match is accepted and overwrites", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "k", "old");
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "k" }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: "k", UploadId, PartNumber: 1, Body: "completed" }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "k",
        UploadId,
        IfMatch: OTHER_ETAG,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
      }),
    );
    expect(done.$metadata.httpStatusCode).toBe(200);
    expect(await bodyOf(s3, bucket, "k")).toBe("completed");
  });

  test("CopyObject with a non-matching If-Match is accepted and overwrites", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "k", "old");
    await put(s3, bucket, "src", "copied");
    await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "k", CopySource: `${bucket}/src`, IfMatch: OTHER_ETAG }),
    );
    expect(await bodyOf(s3, bucket, "k")).toBe("copied");
  });
});

describe("conditional reads: partly", () => {
  test("GetObject and HeadObject with a non-matching If-Match answer 200 with the object (S3: 412)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    const etag = await put(s3, bucket, "k", "data");
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfMatch: OTHER_ETAG }));
    expect(got.$metadata.httpStatusCode).toBe(200);
    expect(got.ETag).toBe(etag);
    expect(await got.Body!.transformToString()).toBe("data");
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k", IfMatch: OTHER_ETAG }));
    expect(head.$metadata.httpStatusCode).toBe(200);
  });

  test("If-Unmodified-Since in the past is ignored (S3: 412)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "k", "data");
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfUnmodifiedSince: PAST }));
    expect(got.$metadata.httpStatusCode).toBe(200);
  });

  test("If-None-Match with the object's ETag and If-Modified-Since in the future answer 304, as S3", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    const etag = await put(s3, bucket, "k", "data");
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfNoneMatch: etag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfModifiedSince: FUTURE })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
  });

  test("CopyObject's x-amz-copy-source-if-match is ignored (S3: 412)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "src", "source");
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "copy",
        CopySource: `${bucket}/src`,
        CopySourceIfMatch: OTHER_ETAG,
      }),
    );
    expect(await bodyOf(s3, bucket, "copy")).toBe("source");
  });
});

describe("UploadPartCopy", () => {
  test("copies a whole source and a byte range into a multipart object, whose ETag is not S3's", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    const big = Buffer.alloc(5 * MiB, 0x61);
    await put(s3, bucket, "big", big);
    await put(s3, bucket, "small", "0123456789");
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "joined" }));
    const whole = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: "joined",
        UploadId,
        PartNumber: 1,
        CopySource: `${bucket}/big`,
      }),
    );
    const ranged = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: "joined",
        UploadId,
        PartNumber: 2,
        CopySource: `${bucket}/small`,
        CopySourceRange: "bytes=2-5",
      }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: "joined",
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: whole.CopyPartResult!.ETag! },
            { PartNumber: 2, ETag: ranged.CopyPartResult!.ETag! },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "joined" }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(5 * MiB + 4);
    expect(bytes.subarray(0, 5 * MiB).equals(big)).toBe(true);
    expect(bytes.subarray(5 * MiB).toString()).toBe("2345");
    // Each part's ETag is the MD5 of the bytes it copied, as in S3.
    expect(whole.CopyPartResult?.ETag).toBe(`"${md5(big)}"`);
    expect(ranged.CopyPartResult?.ETag).toBe(`"${md5("2345")}"`);
    // The object's ETag is the MD5 of its whole content (S3: MD5 of the parts' MD5s, then "-2").
    const content = `"${md5(bytes)}"`;
    expect({ completed: done.ETag, read: got.ETag }).toEqual({ completed: content, read: content });
  });

  test("ignores x-amz-copy-source-if-match (S3: 412)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "src", "source");
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "dest" }));
    const copied = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: "dest",
        UploadId,
        PartNumber: 1,
        CopySource: `${bucket}/src`,
        CopySourceIfMatch: OTHER_ETAG,
      }),
    );
    expect(copied.$metadata.httpStatusCode).toBe(200);
  });
});

describe("versioning: not supported", () => {
  test("PutBucketVersioning is taken for CreateBucket (409), GetBucketVersioning reports no status, ListObjectVersions is 405", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await expect(
      s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 409 } });
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    expect(versioning.Status).toBeUndefined();
    await expect(s3.send(new ListObjectVersionsCommand({ Bucket: bucket }))).rejects.toMatchObject({
      name: "MethodNotAllowed",
      $metadata: { httpStatusCode: 405 },
    });
    const written = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "x" }));
    expect(written.VersionId).toBeUndefined();
  });
});

describe("tagging: partly", () => {
  test("PutObjectTagging and GetObjectTagging round-trip; DeleteObjectTagging is 501", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "k", "data");
    const TagSet = [
      { Key: "team", Value: "core" },
      { Key: "class", Value: "secret" },
    ];
    await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: "k", Tagging: { TagSet } }));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "k" }));
    expect(tags.TagSet).toEqual(TagSet);
    await expect(s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: "k" }))).rejects.toMatchObject(
      {
        $metadata: { httpStatusCode: 501 },
      },
    );
  });

  test("the x-amz-tagging header of PutObject is ignored (S3: the object gets the tags)", async (ctx) => {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "x", Tagging: "team=core" }));
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: "k" }));
    expect(tags.TagSet).toEqual([]);
  });
});

describe("Range GETs: partly", () => {
  /** A bucket holding `k` = "0123456789". */
  async function tenBytes(ctx: TestContext): Promise<{ s3: S3Client; bucket: string }> {
    const s3 = s3Of(ctx);
    const bucket = await newBucket(s3);
    await put(s3, bucket, "k", "0123456789");
    return { s3, bucket };
  }

  async function rangeOf(s3: S3Client, bucket: string, range: string) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", Range: range }));
    return {
      status: got.$metadata.httpStatusCode,
      contentRange: got.ContentRange,
      contentLength: got.ContentLength,
      body: await got.Body!.transformToString(),
    };
  }

  test("closed and open ranges, and a range running past the end (the job's header read), are as S3", async (ctx) => {
    const { s3, bucket } = await tenBytes(ctx);
    expect(await rangeOf(s3, bucket, "bytes=2-5")).toEqual({
      status: 206,
      contentRange: "bytes 2-5/10",
      contentLength: 4,
      body: "2345",
    });
    expect(await rangeOf(s3, bucket, "bytes=7-")).toEqual({
      status: 206,
      contentRange: "bytes 7-9/10",
      contentLength: 3,
      body: "789",
    });
    expect(await rangeOf(s3, bucket, "bytes=0-4095")).toEqual({
      status: 206,
      contentRange: "bytes 0-9/10",
      contentLength: 10,
      body: "0123456789",
    });
  });

  test("a suffix range bytes=-3 answers the first 4 bytes (S3: the last 3)", async (ctx) => {
    const { s3, bucket } = await tenBytes(ctx);
    expect(await rangeOf(s3, bucket, "bytes=-3")).toEqual({
      status: 206,
      contentRange: "bytes 0-3/10",
      contentLength: 4,
      body: "0123",
    });
  });

  test("bytes=0-0 answers the whole object (S3: the first byte)", async (ctx) => {
    const { s3, bucket } = await tenBytes(ctx);
    expect(await rangeOf(s3, bucket, "bytes=0-0")).toEqual({
      status: 206,
      contentRange: "bytes 0-9/10",
      contentLength: 10,
      body: "0123456789",
    });
  });

  test("a range starting past the end is 416 InvalidRange, as S3", async (ctx) => {
    const { s3, bucket } = await tenBytes(ctx);
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", Range: "bytes=100-200" })),
    ).rejects.toMatchObject({ name: "InvalidRange", $metadata: { httpStatusCode: 416 } });
  });
});
