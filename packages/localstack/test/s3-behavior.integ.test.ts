/**
 * The emulator's S3 test control through the real `@aws-sdk/client-s3` over HTTP: per-bucket
 * modes that make a bucket ignore conditional writes or reads or lack UploadPartCopy, with
 * every other bucket (and every other feature of the same bucket) unchanged, and listeners
 * that are awaited before an operation reads or changes any state.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { S3Client } from "@aws-sdk/client-s3";
import type { CompleteMultipartUploadCommandInput } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startEmulator } from "../src/emulator/server.js";
import type { RunningEmulator } from "../src/emulator/server.js";
import type { S3RequestInfo } from "../src/index.js";

const OTHER_ETAG = '"0123456789abcdef0123456789abcdef"';
const PAST = new Date(Date.UTC(2000, 0, 1));
const FUTURE = new Date(Date.UTC(2999, 0, 1));

let emulator: RunningEmulator;
let s3: S3Client;
/** A second client, for the writes listeners make while the first client's request waits. */
let writer: S3Client;
let bucketCounter = 0;
const clients: S3Client[] = [];

function client(): S3Client {
  // One attempt: a 5xx must be seen as it is, not retried into a different outcome.
  const created = new S3Client({
    endpoint: emulator.endpoint,
    region: emulator.region,
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  emulator = await startEmulator();
  s3 = client();
  writer = client();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await emulator.stop();
});

const unsubscribers: Array<() => void> = [];
afterEach(() => {
  for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
});

/** Subscribes a listener for the current test only. */
function listen(listener: (request: S3RequestInfo) => void | Promise<void>): void {
  unsubscribers.push(emulator.s3Control.beforeRequest(listener));
}

/**
 * Before the first `operation` on `bucket`, the second client overwrites `key` with `body`;
 * returns whether that happened. The overwrite's own PutObject passes the listener too, so it
 * races only once.
 */
function raceOnce(operation: string, bucket: string, key: string, body: string): () => boolean {
  let raced = false;
  listen(async (request) => {
    if (raced || request.operation !== operation || request.bucket !== bucket) return;
    raced = true;
    await writer.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  });
  return () => raced;
}

async function newBucket(options: { versioned?: boolean } = {}): Promise<string> {
  const bucket = `behavior-${++bucketCounter}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (options.versioned === true) {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
    );
  }
  return bucket;
}

async function put(bucket: string, key: string, body: string): Promise<string> {
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return out.ETag!;
}

async function bodyOf(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString();
}

/** A one-part multipart upload of `body` to `key`, completed with `conditions`. */
async function completeWith(
  bucket: string,
  key: string,
  body: string,
  conditions: Pick<CompleteMultipartUploadCommandInput, "IfMatch" | "IfNoneMatch">,
) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const part = await s3.send(
    new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: body }),
  );
  return s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
      ...conditions,
    }),
  );
}

/** A one-part multipart upload whose part is copied from `source` (of the same bucket). */
async function copyPart(
  bucket: string,
  key: string,
  source: string,
  conditions: { CopySourceIfMatch?: string } = {},
) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  return s3.send(
    new UploadPartCopyCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      PartNumber: 1,
      CopySource: `${bucket}/${source}`,
      ...conditions,
    }),
  );
}

const preconditionFailed = { name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } };

describe("honour mode (the default) is S3's behaviour", () => {
  test("conditional writes fail with 412 and change nothing", async () => {
    const bucket = await newBucket();
    const etag = await put(bucket, "k", "old");
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "new", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "new", IfNoneMatch: "*" })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(completeWith(bucket, "k", "new", { IfMatch: OTHER_ETAG })).rejects.toMatchObject(
      preconditionFailed,
    );
    await put(bucket, "src", "source");
    await expect(
      s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: "k", CopySource: `${bucket}/src`, IfMatch: OTHER_ETAG }),
      ),
    ).rejects.toMatchObject(preconditionFailed);
    expect(await bodyOf(bucket, "k")).toBe("old");
    // A matching condition still writes.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "new", IfMatch: etag }));
    expect(await bodyOf(bucket, "k")).toBe("new");
  });

  test("conditional reads and copy-source conditions are evaluated; UploadPartCopy works", async () => {
    const bucket = await newBucket();
    const etag = await put(bucket, "k", "data");
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k", IfNoneMatch: etag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } });
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfUnmodifiedSince: PAST })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(copyPart(bucket, "dest", "k", { CopySourceIfMatch: OTHER_ETAG })).rejects.toMatchObject(
      preconditionFailed,
    );
    const copied = await copyPart(bucket, "dest", "k", { CopySourceIfMatch: etag });
    expect(copied.CopyPartResult?.ETag).toBe(etag);
  });
});

describe('conditionalWrites: "ignore"', () => {
  test("PutObject with a failing If-Match or If-None-Match: * writes anyway", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    await put(bucket, "k", "old");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "first", IfMatch: OTHER_ETAG }));
    expect(await bodyOf(bucket, "k")).toBe("first");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "second", IfNoneMatch: "*" }));
    expect(await bodyOf(bucket, "k")).toBe("second");
    // If-Match on a key that does not exist (S3: 404 NoSuchKey) creates it.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "absent", Body: "x", IfMatch: OTHER_ETAG }));
    expect(await bodyOf(bucket, "absent")).toBe("x");
  });

  test("CompleteMultipartUpload and CopyObject with a failing If-Match write anyway", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    await put(bucket, "k", "old");
    await completeWith(bucket, "k", "completed", { IfMatch: OTHER_ETAG });
    expect(await bodyOf(bucket, "k")).toBe("completed");
    await completeWith(bucket, "k", "completed again", { IfNoneMatch: "*" });
    expect(await bodyOf(bucket, "k")).toBe("completed again");
    await put(bucket, "src", "copied");
    await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: "k", CopySource: `${bucket}/src`, IfMatch: OTHER_ETAG }),
    );
    expect(await bodyOf(bucket, "k")).toBe("copied");
  });

  test("reads and DeleteObject's If-Match stay honoured; other buckets are unaffected", async () => {
    const bucket = await newBucket();
    const other = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    await put(bucket, "k", "data");
    await put(other, "k", "data");
    await expect(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "k", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    await expect(
      s3.send(new PutObjectCommand({ Bucket: other, Key: "k", Body: "new", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    expect(await bodyOf(other, "k")).toBe("data");
  });
});

describe('conditionalReads: "ignore"', () => {
  test("GetObject and HeadObject answer 200 whatever the conditions say", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalReads: "ignore" });
    const etag = await put(bucket, "k", "data");
    for (const conditions of [
      { IfMatch: OTHER_ETAG },
      { IfNoneMatch: etag },
      { IfModifiedSince: FUTURE },
      { IfUnmodifiedSince: PAST },
    ]) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k", ...conditions }));
      expect(got.$metadata.httpStatusCode).toBe(200);
      expect(await got.Body!.transformToString()).toBe("data");
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k", ...conditions }));
      expect(head.$metadata.httpStatusCode).toBe(200);
      expect(head.ETag).toBe(etag);
    }
  });

  test("copy-source conditions of CopyObject and UploadPartCopy are ignored", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalReads: "ignore" });
    const etag = await put(bucket, "src", "source");
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: "copy",
        CopySource: `${bucket}/src`,
        CopySourceIfMatch: OTHER_ETAG,
        CopySourceIfNoneMatch: etag,
        CopySourceIfModifiedSince: FUTURE,
      }),
    );
    expect(await bodyOf(bucket, "copy")).toBe("source");
    const part = await copyPart(bucket, "dest", "src", { CopySourceIfMatch: OTHER_ETAG });
    expect(part.CopyPartResult?.ETag).toBe(etag);
  });

  test("conditional writes stay honoured", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalReads: "ignore" });
    await put(bucket, "k", "old");
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "new", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    expect(await bodyOf(bucket, "k")).toBe("old");
  });
});

describe('uploadPartCopy: "missing"', () => {
  test("UploadPartCopy answers 501 NotImplemented; UploadPart and CopyObject still work", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { uploadPartCopy: "missing" });
    await put(bucket, "src", "source");
    await expect(copyPart(bucket, "dest", "src")).rejects.toMatchObject({
      name: "NotImplemented",
      $metadata: { httpStatusCode: 501 },
    });
    const done = await completeWith(bucket, "dest", "uploaded", {});
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: `${bucket}/src` }));
    expect(await bodyOf(bucket, "copy")).toBe("source");
  });

  test("modes merge, may be set before the bucket exists, and can be set back", async () => {
    const bucket = `behavior-early-${++bucketCounter}`;
    emulator.s3Control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    emulator.s3Control.setBucketBehavior(bucket, { uploadPartCopy: "missing" });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await put(bucket, "src", "source");
    await expect(copyPart(bucket, "dest", "src")).rejects.toMatchObject({
      $metadata: { httpStatusCode: 501 },
    });
    // The earlier mode was kept by the merge.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "again", IfMatch: OTHER_ETAG }));
    emulator.s3Control.setBucketBehavior(bucket, {
      uploadPartCopy: "supported",
      conditionalWrites: "honour",
    });
    await copyPart(bucket, "dest", "src");
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "x", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
  });
});

describe("reset", () => {
  test("forgets every mode and listener", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalWrites: "ignore", uploadPartCopy: "missing" });
    let calls = 0;
    emulator.s3Control.beforeRequest(() => {
      calls++;
    });
    await put(bucket, "src", "source");
    expect(calls).toBe(1);
    emulator.s3Control.reset();
    await copyPart(bucket, "dest", "src");
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "src", Body: "x", IfMatch: OTHER_ETAG })),
    ).rejects.toMatchObject(preconditionFailed);
    expect(calls).toBe(1);
  });
});

describe("beforeRequest listeners", () => {
  test("see each operation by the fault injector's name, with bucket, key, method, headers and query", async () => {
    const bucket = await newBucket();
    const seen: S3RequestInfo[] = [];
    listen((request) => {
      if (request.bucket === bucket) seen.push(request);
    });
    const etag = await put(bucket, "src", "source");
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "src", IfMatch: etag }));
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "src" }));
    await copyPart(bucket, "dest", "src");
    await completeWith(bucket, "mpu", "body", {});
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "copy", CopySource: `${bucket}/src` }));
    await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "copy" }));
    expect(seen.map((request) => request.operation)).toEqual([
      "PutObject",
      "HeadObject",
      "GetObject",
      "CreateMultipartUpload",
      "UploadPartCopy",
      "CreateMultipartUpload",
      "UploadPart",
      "CompleteMultipartUpload",
      "CopyObject",
      "ListObjectsV2",
      "DeleteObject",
    ]);
    const head = seen[1]!;
    expect(head).toMatchObject({ bucket, key: "src", method: "HEAD" });
    expect(head.headers["if-match"]).toBe(etag);
    const partCopy = seen[4]!;
    expect(partCopy.method).toBe("PUT");
    expect(partCopy.query).toMatchObject({ partNumber: "1" });
    expect(partCopy.query["uploadId"]).toMatch(/.+/);
    expect(partCopy.headers["x-amz-copy-source"]).toBe(`${bucket}/src`);
    expect(seen[9]).not.toHaveProperty("key");
    // The same operations are what the fault injector counts.
    expect(emulator.faults.calls("s3:UploadPartCopy")).toBeGreaterThanOrEqual(1);
  });

  test("a GetObject waits for the listener: a version written inside it is the one read", async () => {
    const bucket = await newBucket({ versioned: true });
    await put(bucket, "k", "before");
    const raced = raceOnce("GetObject", bucket, "k", "written by the listener");
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "k" }));
    expect(raced()).toBe(true);
    expect(await got.Body!.transformToString()).toBe("written by the listener");
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }));
    expect(got.VersionId).toBe(head.VersionId);
  });

  test("a PutObject's If-Match is evaluated after the listener: a racing write inside it wins", async () => {
    const bucket = await newBucket();
    const etag = await put(bucket, "k", "before");
    const raced = raceOnce("PutObject", bucket, "k", "racing writer");
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "conditional", IfMatch: etag })),
    ).rejects.toMatchObject(preconditionFailed);
    expect(raced()).toBe(true);
    expect(await bodyOf(bucket, "k")).toBe("racing writer");
  });

  test("the same race on a bucket that ignores conditional writes loses the racing writer's data", async () => {
    const bucket = await newBucket();
    emulator.s3Control.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
    const etag = await put(bucket, "k", "before");
    const raced = raceOnce("PutObject", bucket, "k", "racing writer");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "conditional", IfMatch: etag }));
    expect(raced()).toBe(true);
    expect(await bodyOf(bucket, "k")).toBe("conditional");
  });

  test("a CompleteMultipartUpload's If-Match is evaluated after the listener", async () => {
    const bucket = await newBucket();
    const etag = await put(bucket, "k", "before");
    const raced = raceOnce("CompleteMultipartUpload", bucket, "k", "racing writer");
    await expect(completeWith(bucket, "k", "completed", { IfMatch: etag })).rejects.toMatchObject(
      preconditionFailed,
    );
    expect(raced()).toBe(true);
    expect(await bodyOf(bucket, "k")).toBe("racing writer");
  });

  test("listeners run in order, each awaited; unsubscribing stops the calls", async () => {
    const bucket = await newBucket();
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stopFirst = emulator.s3Control.beforeRequest(async (request) => {
      if (request.bucket !== bucket) return;
      order.push(`first ${request.operation}`);
      if (request.operation === "PutObject") await gate;
    });
    unsubscribers.push(stopFirst);
    listen((request) => {
      if (request.bucket === bucket) order.push(`second ${request.operation}`);
    });
    let answered = false;
    const putting = s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "x" })).finally(() => {
      answered = true;
    });
    while (order.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // The PutObject is held by the first listener until the gate opens: nothing is written yet,
    // and the second listener has not been called for it.
    await expect(writer.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect(order).toEqual(["first PutObject", "first HeadObject", "second HeadObject"]);
    expect(answered).toBe(false);
    release();
    await putting;
    expect(order.slice(3)).toEqual(["second PutObject"]);
    stopFirst();
    stopFirst(); // a second call is harmless
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }));
    expect(order.slice(4)).toEqual(["second HeadObject"]);
  });

  test("a listener that throws fails the request with 500 InternalError and changes nothing", async () => {
    const bucket = await newBucket();
    listen((request) => {
      if (request.bucket === bucket && request.operation === "PutObject") throw new Error("listener failed");
    });
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "x" })),
    ).rejects.toMatchObject({
      name: "InternalError",
      $metadata: { httpStatusCode: 500 },
    });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "k" }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
