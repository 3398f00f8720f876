/**
 * `s3Source` over the SDK's `ListObjectsV2` paginator: pages, prefix, `StartAfter` (a resumed
 * job), every request counted and retried by the job's policy, the one-page look-ahead, and an
 * early stop that leaves no request behind.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { s3Source, type S3SourceOptions } from "../src/index.js";
import type { S3Runtime } from "../src/stores/s3/s3-runtime.js";
import { JobCounters } from "../src/support/job-counters.js";
import { newBucket } from "./helpers/s3-objects.js";

const aws = useLocalAws();
const KEYS = ["a/1", "a/2", "a/3", "a/4", "a/5", "b/1"];
let bucket: string;

beforeAll(async () => {
  bucket = await newBucket(aws.s3);
  for (const Key of KEYS) await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
});

/** A client whose `ListObjectsV2` requests pass through `hook` (1-based request number). */
function listingClient(hook: (n: number) => Promise<void> | void = () => {}): S3Client {
  const client = aws.createS3Client({ maxAttempts: 1 });
  let n = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "ListObjectsV2Command") await hook(++n);
      return next(args);
    },
    { step: "initialize", name: "listingHook" },
  );
  return client;
}

function runtime(client: S3Client): S3Runtime & { counters: JobCounters } {
  return { client, counters: new JobCounters(), retry: { baseDelayMs: 1 } };
}

async function keysOf(options: Omit<S3SourceOptions, "bucket">, rt: S3Runtime): Promise<string[]> {
  const out: string[] = [];
  for await (const ref of s3Source({ bucket, ...options }, rt)) out.push(ref.key);
  return out;
}

describe("s3Source", () => {
  it("lists a prefix page by page, one counted request per page", async () => {
    const rt = runtime(listingClient());
    expect(await keysOf({ prefix: "a/", pageSize: 2 }, rt)).toEqual(["a/1", "a/2", "a/3", "a/4", "a/5"]);
    expect(rt.counters.requests.byOperation["s3:ListObjectsV2"]).toBe(3);
  });

  it("resumes after a key (StartAfter), across pages", async () => {
    const rt = runtime(listingClient());
    expect(await keysOf({ startAfter: "a/2", pageSize: 2 }, rt)).toEqual(["a/3", "a/4", "a/5", "b/1"]);
    expect(rt.counters.requests.byOperation["s3:ListObjectsV2"]).toBe(2);
  });

  it("a failed page request is retried by the job's policy and counted", async () => {
    // The client itself does not retry (maxAttempts 1): only the job's policy can.
    const rt = runtime(
      listingClient((n) => {
        if (n === 2) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      }),
    );
    expect(await keysOf({ prefix: "a/", pageSize: 2 }, rt)).toHaveLength(5);
    expect(rt.counters.requests.byOperation["s3:ListObjectsV2"]).toBe(4);
    expect(rt.counters.requests.retries["s3:ListObjectsV2"]).toBe(1);
  });

  it("a missing bucket is ERR_JOB_SOURCE naming it", async () => {
    const rt = runtime(listingClient());
    const it = s3Source({ bucket: `${bucket}-missing` }, rt);
    await expect(it.next()).rejects.toMatchObject({
      code: "ERR_JOB_SOURCE",
      message: expect.stringContaining(`${bucket}-missing does not exist`),
    });
  });

  it("the job's signal cancels a page request in flight, which is not retried", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const stop = new AbortController();
    const rt = {
      ...runtime(listingClient((n) => (n === 2 ? released : undefined))),
      signal: stop.signal,
    };
    const keys: string[] = [];
    const listing = (async () => {
      for await (const ref of s3Source({ bucket, prefix: "a/", pageSize: 2 }, rt)) {
        keys.push(ref.key);
        if (keys.length === 2) {
          stop.abort();
          release();
        }
      }
    })();
    await expect(listing).rejects.toMatchObject({ code: "ERR_JOB_SOURCE" });
    expect(keys).toEqual(["a/1", "a/2"]);
    expect(rt.counters.requests.byOperation["s3:ListObjectsV2"]).toBe(2);
    expect(rt.counters.requests.retries["s3:ListObjectsV2"]).toBeUndefined();
  });

  it("fetches the next page while the first is consumed, and an early stop waits for it", async () => {
    let entered!: () => void;
    const secondEntered = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const rt = runtime(
      listingClient(async (n) => {
        if (n !== 2) return;
        entered();
        await released;
      }),
    );
    const source = s3Source({ bucket, prefix: "a/", pageSize: 2 }, rt);
    expect((await source.next()).value).toMatchObject({ key: "a/1" });
    // The second page is asked for although the consumer has not gone past the first one.
    await secondEntered;
    let closed = false;
    const closing = source.return(undefined).then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(rt.counters.requests.byOperation["s3:ListObjectsV2"]).toBe(2);
  });
});
