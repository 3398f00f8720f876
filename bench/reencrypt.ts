/**
 * The re-encrypt job against the built-in emulator (KMS + S3 over HTTP; for the throughput, in a
 * process of its own, so the CPU measured is the client's), with 10 ms of injected KMS latency,
 * printed as ratios against baselines measured in the same run:
 *
 * - rewrap throughput of 1 KiB objects at concurrency 16 and 64, against a bare loop that makes
 *   the same SDK calls (the bucket's listing, then GET, ReEncrypt, PUT with If-Match) at the same
 *   concurrency, each retried
 *   with the job's own retry policy (`retry` with its defaults), and none of the job's planning,
 *   verification, rate limit, checkpoint or report; with the job's default verification (`etag`:
 *   S3's MD5 of the PUT proves the write; no extra request) and with `header` (one more request
 *   per object, a ranged GET of the new header); rounds interleaved (loop, job, job, loop, …);
 * - KMS calls per object (target 1);
 * - bytes through the job for the rewrap of a 1 GiB object, against a full rewrite (GET + PUT of
 *   the whole object) (target ≤ 12 MiB).
 *
 * Run: `pnpm bench job big-object` (these sections only; see bench/run.ts).
 * `REKEY_BENCH_QUICK=1` shrinks the object count and the big object for a smoke run.
 */
import { createRequire } from "node:module";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import {
  decodeKmsEntry,
  encodeKmsEntry,
  encrypt,
  encryptStream,
  kmsApiOf,
  KmsKeyring,
  parseMessagePrefix,
  serializePrefixWithEntries,
} from "@rekey/core";
import { startLocalAws, type LocalAws } from "@rekey/localstack";
import { startEmulatorProcess, type EmulatorProcess } from "./emulator-process.js";
import { runJob, type JobReport } from "@rekey/reencrypt";
import { JobCounters, retry, uploadStream } from "./built.js";
import {
  fmt,
  fmtRatio,
  fmtSpread,
  interleave,
  MiB,
  rates,
  type Report,
  speedRatios,
  spread,
  withCpu,
} from "./lib.js";

// The AWS SDK is a dependency of the package under test, not of the workspace root: its command
// classes are loaded from @rekey/reencrypt's own dependencies (the same module instances the
// clients use), and typed here only as far as this file needs.
type Client = LocalAws["s3"] | LocalAws["kms"];
type CommandClass = new (input: object) => object;
const fromPackage = createRequire(new URL("../packages/reencrypt/package.json", import.meta.url));
const sdk = {
  ...(fromPackage("@aws-sdk/client-kms") as Record<string, CommandClass>),
  ...(fromPackage("@aws-sdk/client-s3") as Record<string, CommandClass>),
};
/** Sends the AWS SDK command `name` (`"CreateKeyCommand"`) with `input` through `client`. */
export async function send<T = Record<string, unknown>>(
  client: Client,
  name: string,
  input: object,
): Promise<T> {
  const C = sdk[name];
  if (!C) throw new Error(`no ${name} in the AWS SDK`);
  return (await (client as { send(c: object): Promise<unknown> }).send(new C(input))) as T;
}
type S3Client = LocalAws["s3"];
type KMSClient = LocalAws["kms"];
/** What the setup helpers need: a client of each service. */
type Aws = Pick<LocalAws, "s3" | "kms">;

const QUICK = process.env.REKEY_BENCH_QUICK === "1";
const OBJECTS = QUICK ? 300 : 800;
const BIG = QUICK ? 64 * MiB : 1024 * MiB;
const KMS_LATENCY_MS = 10;

export async function newKey(aws: Aws): Promise<string> {
  const out = await send<{ KeyMetadata: { Arn: string } }>(aws.kms, "CreateKeyCommand", {});
  return out.KeyMetadata.Arn;
}

export async function rotate(aws: Aws, key: string): Promise<void> {
  await send(aws.kms, "RotateKeyOnDemandCommand", { KeyId: key });
}

async function pool(
  concurrency: number,
  items: Iterable<string> | AsyncIterable<string>,
  work: (item: string) => Promise<void>,
): Promise<void> {
  // One iterator shared by the workers: each takes the next item when it is free, so a listing
  // that is still streaming feeds the pool as its pages arrive.
  const it =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<string>)[Symbol.asyncIterator]()
      : (items as Iterable<string>)[Symbol.iterator]();
  let pulling: Promise<unknown> = Promise.resolve();
  const next = async (): Promise<IteratorResult<string>> => {
    const r = pulling.then(() => it.next());
    pulling = r.catch(() => undefined);
    return r;
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let r = await next(); !r.done; r = await next()) await work(r.value);
    }),
  );
}

/** The bucket's keys, a ListObjectsV2 page at a time (1,000 keys, S3's default), retried per page. */
async function* listKeys(s3: S3Client, bucket: string): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const page = await retry(() =>
      send<{ Contents?: { Key: string }[]; NextContinuationToken?: string }>(s3, "ListObjectsV2Command", {
        Bucket: bucket,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) yield o.Key;
    token = page.NextContinuationToken;
  } while (token);
}

/**
 * A message with its one KMS entry moved onto its key's current material by one `ReEncrypt`
 * (retried with the job's policy), the header and body kept: the core of every bare loop.
 */
export async function bareReEncrypt(api: ReturnType<typeof kmsApiOf>, bytes: Uint8Array): Promise<Buffer> {
  const parsed = parseMessagePrefix(bytes);
  if (parsed.status !== "ok") throw new Error("short message");
  const { header, entries, bodyOffset } = parsed.value;
  const e = decodeKmsEntry(entries[0]!);
  const ctx = { ...header.encryptionContext };
  const r = await retry(() =>
    api.reEncrypt({
      CiphertextBlob: e.ciphertextBlob,
      SourceKeyId: e.keyArn,
      DestinationKeyId: e.keyArn,
      SourceEncryptionContext: ctx,
      DestinationEncryptionContext: ctx,
    }),
  );
  const entry = encodeKmsEntry({
    ...e,
    keyMaterialId: r.DestinationKeyMaterialId,
    ciphertextBlob: r.CiphertextBlob!,
  });
  return Buffer.concat([serializePrefixWithEntries(header, [entry]), bytes.subarray(bodyOffset)]);
}

/**
 * The baseline: the bucket listed (ListObjectsV2, as the job must: it is given a bucket, not the
 * keys), then for each object GET, one ReEncrypt, PUT with If-Match — a rewrap with nothing
 * around it but the job's retry policy on each call (the GET retried with its body read, as the
 * job does). Returns the seconds and the number of objects rewrapped.
 */
export async function bareRewrap(
  s3: S3Client,
  kms: KMSClient,
  bucket: string,
  concurrency: number,
): Promise<{ seconds: number; objects: number }> {
  const api = kmsApiOf(kms);
  const t = performance.now();
  let objects = 0;
  await pool(concurrency, listKeys(s3, bucket), async (key) => {
    objects++;
    const { bytes, etag } = await retry(async () => {
      const got = await send<{ Body: { transformToByteArray(): Promise<Uint8Array> }; ETag: string }>(
        s3,
        "GetObjectCommand",
        { Bucket: bucket, Key: key },
      );
      return { bytes: await got.Body.transformToByteArray(), etag: got.ETag };
    });
    const body = await bareReEncrypt(api, bytes);
    await retry(() => send(s3, "PutObjectCommand", { Bucket: bucket, Key: key, Body: body, IfMatch: etag }));
  });
  return { seconds: (performance.now() - t) / 1000, objects };
}

export async function jobRewrap(
  s3: S3Client,
  kms: KMSClient,
  bucket: string,
  concurrency: number,
  verify: "header" | "etag" = "etag",
): Promise<JobReport> {
  return runJob({
    kms,
    s3,
    source: { kind: "s3", bucket },
    target: "current",
    concurrency,
    kmsRps: Infinity,
    verify,
  });
}

export async function putSmallObjects(
  aws: Aws,
  bucket: string,
  key: string,
  count: number,
  prefix: string,
): Promise<string[]> {
  const keyring = new KmsKeyring({ client: aws.kms, keyId: key });
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, "0")}.rkey`);
  await pool(32, names, async (name) => {
    const { ciphertext } = await encrypt(Buffer.alloc(1024, 7), { keyring, encryptionContext: { name } });
    await send(aws.s3, "PutObjectCommand", { Bucket: bucket, Key: name, Body: ciphertext });
  });
  return names;
}

async function putBigObject(aws: Aws, bucket: string, key: string, size: number): Promise<void> {
  const keyring = new KmsKeyring({ client: aws.kms, keyId: key });
  const chunk = Buffer.alloc(MiB, 3);
  let left = size;
  const plaintext = new Readable({
    read() {
      if (left === 0) this.push(null);
      else {
        const n = Math.min(left, chunk.length);
        left -= n;
        this.push(chunk.subarray(0, n));
      }
    },
  });
  await pipeline(
    plaintext,
    encryptStream({ keyring, encryptionContext: { name: "big" } }),
    async (src: AsyncIterable<Buffer>) => {
      await uploadStream(
        src,
        { client: aws.s3, counters: new JobCounters() },
        { ref: { kind: "s3", bucket, key: "big.rkey" }, params: {}, partBytes: 16 * MiB },
      );
    },
  );
}

// Each round rotates the key three times (loop, job etag, job header): at most 8 rounds per key
// (KMS allows 25 on-demand rotations of a key).
const ROUNDS = 7;

/** The emulator in a process of its own, with clients of the SDK the job uses. */
export function startJobEmulator(): Promise<EmulatorProcess> {
  return startEmulatorProcess({ S3Client: sdk.S3Client as never, KMSClient: sdk.KMSClient as never });
}

async function throughput(report: Report): Promise<void> {
  const aws = await startJobEmulator();
  try {
    // SDK retries off on both sides: the job retries itself, and the loop with the job's policy.
    const kms = aws.createKmsClient({ maxAttempts: 1 });
    const s3 = aws.createS3Client({ maxAttempts: 1 });
    const warmKey = await newKey(aws);

    report.heading(
      `Re-encrypt job: rewrap of ${OBJECTS} × 1 KiB objects, emulator with ${KMS_LATENCY_MS} ms KMS latency`,
    );
    report.para(
      "Objects/s and ratio job / bare loop at the same concurrency: median (min–max) of " +
        `${ROUNDS} rounds, each round the loop, the job (\`--verify etag\`, the default) and the ` +
        "job (`--verify header`) in turn (in reverse order every other round), the objects put " +
        "back on old key material before each. " +
        "The loop is given the bucket, as the job is, and lists it (ListObjectsV2 pages feeding its " +
        "workers as they arrive). " +
        "The emulator runs in a process of its own, as AWS is never in the client's: CPU per " +
        "object is the client's alone (this process: the SDK, the loop or the job); the emulator's " +
        "CPU per object, read from /proc, is the work the requests of each side make the server do " +
        "(the two processes share the machine's cores).",
    );
    const rows: string[][] = [
      [
        "concurrency",
        "bare loop",
        "job (verify etag)",
        "ratio",
        "job (verify header)",
        "ratio",
        "CPU ms/object: loop, job etag, job header",
        "emulator CPU ms/object: loop, job etag, job header",
      ],
    ];
    let kmsPerObject = { reEncrypt: 0, all: 0 };
    // Warm-up: both code paths once on a small set, so neither pays the JIT in the measurement.
    const warm = `warm-${Date.now()}`;
    await send(aws.s3, "CreateBucketCommand", { Bucket: warm });
    await putSmallObjects(aws, warm, warmKey, 100, "w/");
    await rotate(aws, warmKey);
    await bareRewrap(s3, kms, warm, 16);
    await rotate(aws, warmKey);
    await jobRewrap(s3, kms, warm, 16);

    for (const concurrency of [16, 64]) {
      const bucket = `bench-${concurrency}-${Date.now()}`;
      await send(aws.s3, "CreateBucketCommand", { Bucket: bucket });
      // A key of its own per concurrency: KMS allows 25 on-demand rotations of a key, and each
      // round rotates once per side.
      const key = await newKey(aws);
      const keys = await putSmallObjects(aws, bucket, key, OBJECTS, "o/");
      await aws.faults({ kmsLatencyMs: KMS_LATENCY_MS });
      const cpu = { bare: [] as number[], etag: [] as number[], header: [] as number[] };
      const server = { bare: [] as number[], etag: [] as number[], header: [] as number[] };
      // The client's CPU (this process) and the emulator's, per object, while `f` runs.
      const measured = async <T>(side: keyof typeof cpu, f: () => Promise<T>): Promise<T> => {
        const before = aws.cpuSeconds();
        const { value, cpu: used } = await withCpu(f);
        const after = aws.cpuSeconds();
        cpu[side].push(used / keys.length);
        if (before !== undefined && after !== undefined) server[side].push((after - before) / keys.length);
        return value;
      };
      const job = async (verify: "etag" | "header"): Promise<number> => {
        await rotate(aws, key);
        const report = await measured(verify, () => jobRewrap(s3, kms, bucket, concurrency, verify));
        if (report.outcomes.rewrapped !== keys.length)
          throw new Error(`job rewrapped ${report.outcomes.rewrapped} of ${keys.length}`);
        kmsPerObject = {
          reEncrypt: (report.kms.byOperation.ReEncrypt ?? 0) / report.objects,
          all: report.kms.requests / report.objects,
        };
        return report.durationMs / 1000;
      };
      const t = await interleave(ROUNDS, {
        bare: async () => {
          await rotate(aws, key);
          const value = await measured("bare", () => bareRewrap(s3, kms, bucket, concurrency));
          if (value.objects !== keys.length)
            throw new Error(`the loop rewrapped ${value.objects} of ${keys.length}`);
          return value.seconds;
        },
        etag: () => job("etag"),
        header: () => job("header"),
      });
      await aws.faults({ clear: true });
      const ms = (xs: number[]): string => (xs.length > 0 ? fmt(spread(xs).median * 1000, 2) : "n/a");
      rows.push([
        String(concurrency),
        fmtSpread(rates(t.bare, keys.length)),
        fmtSpread(rates(t.etag, keys.length)),
        fmtRatio(speedRatios(t.etag, t.bare)),
        fmtSpread(rates(t.header, keys.length)),
        fmtRatio(speedRatios(t.header, t.bare)),
        `${ms(cpu.bare)}, ${ms(cpu.etag)}, ${ms(cpu.header)}`,
        `${ms(server.bare)}, ${ms(server.etag)}, ${ms(server.header)}`,
      ]);
    }
    report.table(rows);
    report.para(
      `KMS calls per object: ${fmt(kmsPerObject.reEncrypt, 3)} ReEncrypt, ${fmt(kmsPerObject.all, 3)} in all (DescribeKey once per key) — target 1.`,
    );
  } finally {
    await aws.stop();
  }
}

async function bigObject(report: Report): Promise<void> {
  const aws = await startLocalAws({ backend: "builtin", log: false });
  try {
    const kms = aws.createKmsClient({ maxAttempts: 1 });
    const s3 = aws.createS3Client({ maxAttempts: 1 });
    const key = await newKey(aws);
    report.heading(`Re-encrypt job: bytes through the job for the rewrap of one ${BIG / MiB} MiB object`);
    const bigBucket = `bench-big-${Date.now()}`;
    await send(aws.s3, "CreateBucketCommand", { Bucket: bigBucket });
    await putBigObject(aws, bigBucket, key, BIG);
    await rotate(aws, key);
    const report_ = await jobRewrap(s3, kms, bigBucket, 16);
    if (report_.outcomes.rewrapped !== 1) throw new Error("the big object was not rewrapped");
    const size = report_.bytes.objects;
    const jobBytes = report_.bytes.read + report_.bytes.written;
    const fullRewriteBytes = 2 * size;
    report.table([
      ["object", "job (read + written)", "copied by S3", "full rewrite (GET + PUT)", "ratio"],
      [
        `${fmt(size / MiB, 1)} MiB`,
        `${fmt(jobBytes / MiB, 2)} MiB`,
        `${fmt(report_.bytes.copiedServerSide / MiB, 1)} MiB`,
        `${fmt(fullRewriteBytes / MiB, 1)} MiB`,
        `${fmt(jobBytes / fullRewriteBytes, 4)}×`,
      ],
    ]);
    report.para(`Target ≤ 12 MiB through the job: ${jobBytes <= 12 * MiB ? "met" : "not met"}.`);
  } finally {
    await aws.stop();
  }
}

/** The re-encrypt sections, by the name `bench/run.ts` selects them with, in the order they run. */
export const reencryptSections = {
  job: throughput,
  "big-object": bigObject,
} as const;
