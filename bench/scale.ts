/**
 * The job at scale on the built-in emulator (KMS + S3 over HTTP, served by this process), each
 * worker a separate `rekey rewrap` process of the compiled CLI, as on real machines:
 *
 * - `shards`: one worker alone over one eighth of the objects, uncapped (objects per second per
 *   worker on this machine), then W workers (`rekey rewrap --shard i/W`) over all of them with
 *   the emulator enforcing a shared KMS cryptographic request cap (the account quota, scaled
 *   down) and each worker told its share (`--kms-rps cap/W`), then `rekey report merge` of
 *   their W reports (JSON and HTML);
 * - `lambda`: the zipped Batch Operations function (`pnpm bundle:lambda`) run by the test
 *   harness as S3 Batch Operations runs it (one task per invocation, each container one
 *   invocation at a time), with 1 and 4 containers: objects per second per concurrent container;
 * - `rss`: peak RSS of one `rekey rewrap` process over 10k, 50k and 100k objects (the objects
 *   put back on old key material before each run), against the floor of `rekey --version`.
 *
 *   pnpm build && tsx --conditions=rekey-source bench/scale.ts [shards] [lambda] [rss]
 *
 * Environment: REKEY_SCALE_OBJECTS (default 20000), REKEY_SCALE_WORKERS (8),
 * REKEY_SCALE_CAPPED_HEAP=1 (the largest rss run again with --max-old-space-size=64),
 * REKEY_SCALE_KMS_CAP (KMS requests per second for all workers, default 800),
 * REKEY_SCALE_RSS_COUNTS (default 10000,50000,100000), REKEY_SCALE_LAMBDA_OBJECTS (2000), REKEY_SCALE_OUT (reports; default
 * bench/out/scale).
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KmsKeyring, encrypt } from "@rekey/core";
import { startLocalAws, type LocalAws } from "@rekey/localstack";
import type { JobReport } from "@rekey/reencrypt";
import type { MergedReport } from "../packages/reencrypt/src/reports/merge-reports.js";
import { createRequire } from "node:module";

// The AWS SDK is a dependency of the packages, not of the workspace root: its command classes
// come from @rekey/reencrypt's own dependencies (the module instances its clients use).
type CommandClass = new (input: object) => object;
const fromPackage = createRequire(new URL("../packages/reencrypt/package.json", import.meta.url));
const sdk = {
  ...(fromPackage("@aws-sdk/client-kms") as Record<string, CommandClass>),
  ...(fromPackage("@aws-sdk/client-s3") as Record<string, CommandClass>),
};
async function send<T = Record<string, unknown>>(
  client: LocalAws["s3"] | LocalAws["kms"],
  name: string,
  input: object,
): Promise<T> {
  const C = sdk[name];
  if (!C) throw new Error(`no ${name} in the AWS SDK`);
  return (await (client as { send(c: object): Promise<unknown> }).send(new C(input))) as T;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIN = join(ROOT, "packages/reencrypt/dist/cli/bin.js");
const PRELOAD = join(ROOT, "bench/max-rss.mjs");
const OBJECTS = Number(process.env["REKEY_SCALE_OBJECTS"] ?? 20_000);
const WORKERS = Number(process.env["REKEY_SCALE_WORKERS"] ?? 8);
const KMS_CAP = Number(process.env["REKEY_SCALE_KMS_CAP"] ?? 800);
const RSS_COUNTS = (process.env["REKEY_SCALE_RSS_COUNTS"] ?? "10000,50000,100000").split(",").map(Number);
const LAMBDA_OBJECTS = Number(process.env["REKEY_SCALE_LAMBDA_OBJECTS"] ?? 2000);
const OUT = process.env["REKEY_SCALE_OUT"] ?? join(ROOT, "bench/out/scale");

const fmt = (x: number, d = 0): string =>
  x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** Runs the compiled CLI; resolves with its exit code, peak RSS (KiB) and seconds. */
async function rekey(
  aws: LocalAws,
  args: readonly string[],
  nodeOptions: readonly string[] = [],
): Promise<{ code: number; rssKiB: number; seconds: number; stdout: string; stderr: string }> {
  const rssFile = join(tmpdir(), `rekey-scale-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeOptions, "--import", PRELOAD, BIN, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      REKEY_BENCH_RSS_FILE: rssFile,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? -1)));
  const seconds = (performance.now() - t0) / 1000;
  const rssKiB = Number(await readFile(rssFile, "utf8").catch(() => "0"));
  await rm(rssFile, { force: true });
  return {
    code,
    rssKiB,
    seconds,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
  };
}

/** `rekey rewrap` of every object of a bucket onto its key's current material, 64 in flight. */
function rewrapArgs(bucket: string): string[] {
  return [
    "rewrap",
    "--source",
    `s3://${bucket}/`,
    "--target",
    "current",
    "--concurrency",
    "64",
    "--no-progress",
  ];
}

async function pool<T>(n: number, items: readonly T[], f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let i = next++; i < items.length; i = next++) await f(items[i] as T);
    }),
  );
}

/** Puts `count` 1 KiB rekey objects (64 distinct messages, each under its own data key). */
async function putObjects(aws: LocalAws, bucket: string, key: string, count: number): Promise<void> {
  const keyring = new KmsKeyring({ client: aws.kms, keyId: key });
  const messages: Uint8Array[] = [];
  for (let i = 0; i < 64; i++)
    messages.push(
      (await encrypt(Buffer.alloc(1024, i), { keyring, encryptionContext: { n: String(i) } })).ciphertext,
    );
  const names = Array.from({ length: count }, (_, i) => `o/${String(i).padStart(7, "0")}.rkey`);
  let done = 0;
  await pool(32, names, async (name) => {
    await send(aws.s3, "PutObjectCommand", {
      Bucket: bucket,
      Key: name,
      Body: messages[done++ % messages.length],
    });
  });
}

async function newKey(aws: LocalAws): Promise<string> {
  return (await send<{ KeyMetadata: { Arn: string } }>(aws.kms, "CreateKeyCommand", {})).KeyMetadata.Arn;
}

async function rotate(aws: LocalAws, key: string): Promise<void> {
  await send(aws.kms, "RotateKeyOnDemandCommand", { KeyId: key });
}

async function shards(aws: LocalAws): Promise<void> {
  const key = await newKey(aws);
  const bucket = `scale-${Date.now()}`;
  await send(aws.s3, "CreateBucketCommand", { Bucket: bucket });
  let t = performance.now();
  await putObjects(aws, bucket, key, OBJECTS);
  console.log(`put ${fmt(OBJECTS)} objects in ${fmt((performance.now() - t) / 1000, 1)} s`);
  await rotate(aws, key);
  const dir = join(OUT, "shards");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const common = rewrapArgs(bucket);

  // One worker alone, no KMS cap: what one process does on this machine.
  const alone = await rekey(aws, [
    ...common,
    "--kms-rps",
    "0",
    "--shard",
    `1/${WORKERS}`,
    "--report",
    join(dir, "alone.json"),
  ]);
  const aloneReport = JSON.parse(await readFile(join(dir, "alone.json"), "utf8")) as JobReport;
  const aloneRate = aloneReport.objects / (aloneReport.durationMs / 1000);
  console.log(
    `1 worker, shard 1/${WORKERS}, no KMS cap: ${fmt(aloneReport.objects)} objects in ${fmt(aloneReport.durationMs / 1000, 1)} s = ${fmt(aloneRate, 1)} objects/s, ` +
      `${fmt(aloneReport.kms.requests / aloneReport.objects, 3)} KMS calls/object, peak RSS ${fmt(alone.rssKiB / 1024)} MiB (exit ${alone.code})`,
  );

  // Every object back on old material; W workers under the shared cap.
  await rotate(aws, key);
  aws.faults!.reset();
  aws.faults!.inject("kms:cryptographic", { maxRequestsPerSecond: KMS_CAP });
  const share = Math.floor(KMS_CAP / WORKERS);
  t = performance.now();
  const runs = await Promise.all(
    Array.from({ length: WORKERS }, (_, i) =>
      rekey(aws, [
        ...common,
        "--kms-rps",
        String(share),
        "--shard",
        `${i + 1}/${WORKERS}`,
        "--report",
        join(dir, `shard-${i + 1}.json`),
      ]),
    ),
  );
  const wall = (performance.now() - t) / 1000;
  const calls = aws.faults!.calls("kms:cryptographic");
  aws.faults!.reset();
  for (const [i, r] of runs.entries()) {
    const rep = JSON.parse(await readFile(join(dir, `shard-${i + 1}.json`), "utf8")) as JobReport;
    console.log(
      `  worker ${i + 1}/${WORKERS}: ${fmt(rep.objects)} objects in ${fmt(rep.durationMs / 1000, 1)} s = ${fmt(rep.objects / (rep.durationMs / 1000), 1)} objects/s, ` +
        `${rep.kms.throttled} throttled, peak RSS ${fmt(r.rssKiB / 1024)} MiB, exit ${r.code}`,
    );
  }
  const merge = await rekey(aws, [
    "report",
    "merge",
    ...Array.from({ length: WORKERS }, (_, i) => join(dir, `shard-${i + 1}.json`)),
    "--json-file",
    join(dir, "merged.json"),
    "--html",
    join(dir, "merged.html"),
  ]);
  const merged = JSON.parse(await readFile(join(dir, "merged.json"), "utf8")) as MergedReport;
  console.log(
    `${WORKERS} workers, KMS cap ${fmt(KMS_CAP)}/s (each --kms-rps ${share}): ${fmt(merged.objects)} objects in ${fmt(merged.wallMs / 1000, 1)} s wall ` +
      `(${fmt(wall, 1)} s with process start) = ${fmt(merged.objects / (merged.wallMs / 1000), 1)} objects/s; ` +
      `KMS ${fmt(merged.kms.requests)} requests (${fmt(merged.kms.requests / (merged.wallMs / 1000), 1)}/s, ${fmt((100 * merged.kms.requests) / (merged.wallMs / 1000) / KMS_CAP, 1)}% of the cap), ` +
      `${merged.kms.throttled} throttled; emulator counted ${fmt(calls)} cryptographic calls; ` +
      `rewrapped ${fmt(merged.outcomes.rewrapped)}, exit ${merged.exitCode} (merge exit ${merge.code})`,
  );
  console.log(`  reports: ${dir}/shard-*.json, merged.json, merged.html`);
}

async function lambda(aws: LocalAws): Promise<void> {
  const { bundleLambda } = await import("../deploy/batch-operations/bundle.js");
  const { BatchOperationsHarness, functionEnv } =
    await import("../packages/reencrypt/test/helpers/batch-operations-harness.js");
  const { submitBatchJob } = await import("../packages/reencrypt/src/batch-ops/submit-job.js");
  const bundle = await bundleLambda(join(OUT, "lambda"));
  const zip = await readFile(bundle.zipPath);
  console.log(
    `bundle: ${fmt(bundle.zipBytes / 1024)} KiB zipped (index.mjs ${fmt(bundle.codeBytes / 1024)} KiB)`,
  );
  const key = await newKey(aws);
  const bucket = `scale-lambda-${Date.now()}`;
  await send(aws.s3, "CreateBucketCommand", { Bucket: bucket });
  await putObjects(aws, bucket, key, LAMBDA_OBJECTS);
  for (const containers of [1, 4]) {
    await rotate(aws, key);
    const { request, manifest } = await submitBatchJob({
      job: {
        kms: aws.createKmsClient({ maxAttempts: 1 }),
        s3: aws.createS3Client({ maxAttempts: 1 }),
        source: { kind: "s3", bucket },
        target: "current",
      },
      settings: { target: "current", mode: "rewrap", verify: "etag" },
      accountId: "111122223333",
      functionArn: "arn:aws:lambda:us-east-1:111122223333:function:rekey",
      roleArn: "arn:aws:iam::111122223333:role/rekey",
      manifestLocation: { bucket, key: `jobs/manifest-${containers}.csv` },
      reportLocation: { bucket, key: "jobs/reports" },
      manifestFile: join(OUT, "lambda", `manifest-${containers}.csv`),
      control: { send: (async () => ({ JobId: `job-${containers}`, $metadata: {} })) as never },
    });
    const harness = await BatchOperationsHarness.start({
      zip,
      containers,
      env: { ...functionEnv(aws), REKEY_KMS_RPS: "0" },
    });
    try {
      const t = performance.now();
      const run = await harness.runJob(aws.s3, request);
      const seconds = (performance.now() - t) / 1000;
      const ok = run.rows.filter((r) => r.taskStatus === "succeeded").length;
      console.log(
        `${containers} container(s): ${fmt(manifest.lines)} tasks in ${fmt(seconds, 1)} s = ${fmt(manifest.lines / seconds, 1)} objects/s, ` +
          `${fmt(manifest.lines / seconds / containers, 1)} per container; ${ok} succeeded, ${run.temporaryRetries} retried`,
      );
    } finally {
      harness.stop();
    }
  }
}

async function rss(aws: LocalAws): Promise<void> {
  const max = Math.max(...RSS_COUNTS);
  const key = await newKey(aws);
  const bucket = `scale-rss-${Date.now()}`;
  await send(aws.s3, "CreateBucketCommand", { Bucket: bucket });
  const t = performance.now();
  await putObjects(aws, bucket, key, max);
  console.log(`put ${fmt(max)} objects in ${fmt((performance.now() - t) / 1000, 1)} s`);
  const floor = await rekey(aws, ["--version"]);
  console.log(`floor (rekey --version): peak RSS ${fmt(floor.rssKiB / 1024, 1)} MiB`);
  const dir = join(OUT, "rss");
  await mkdir(dir, { recursive: true });
  const rows: string[] = [];
  let first: number | undefined;
  // With REKEY_SCALE_CAPPED_HEAP=1, the largest run once more with a 64 MiB old generation: it
  // finishes only if what the run keeps is below that, whatever the peak RSS above.
  const runs: (readonly [number, readonly string[]])[] = RSS_COUNTS.map((c) => [c, []] as const);
  if (process.env["REKEY_SCALE_CAPPED_HEAP"] === "1") runs.push([max, ["--max-old-space-size=64"]]);
  for (const [count, node] of runs) {
    await rotate(aws, key);
    // count of max objects: the share --shard 1/k takes is about count (FNV-1a of the names).
    const k = Math.round(max / count);
    const report = join(dir, `rss-${count}${node.length ? "-capped" : ""}.json`);
    const r = await rekey(
      aws,
      [...rewrapArgs(bucket), "--kms-rps", "0", "--shard", `1/${k}`, "--report", report],
      node,
    );
    const rep = JSON.parse(await readFile(report, "utf8")) as JobReport;
    first ??= r.rssKiB;
    const line =
      `| ${fmt(rep.objects)}${node.length ? ` (${node.join(" ")})` : ""} | ${fmt(r.rssKiB / 1024, 1)} MiB | ${fmt((r.rssKiB - floor.rssKiB) / 1024, 1)} MiB | ${fmt(r.rssKiB / first, 2)}× | ` +
      `${fmt(rep.durationMs / 1000, 1)} s | ${rep.outcomes.rewrapped === rep.objects ? "all rewrapped" : JSON.stringify(rep.outcomes)} |`;
    console.log(line);
    rows.push(line);
  }
  console.log(
    [
      "",
      "| objects | peak RSS | above the floor | vs the smallest run | run time | outcome |",
      "| --- | --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"),
  );
}

process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
const chosen = process.argv.slice(2);
const want = (s: string): boolean => chosen.length === 0 || chosen.includes(s);
console.log(`rekey scale — ${cpus().length} × ${cpus()[0]?.model.trim() ?? "?"}, node ${process.version}`);
const aws = await startLocalAws({ backend: "builtin", log: false });
try {
  if (want("shards")) await shards(aws);
  if (want("lambda")) await lambda(aws);
  if (want("rss")) await rss(aws);
} finally {
  await aws.stop();
}
