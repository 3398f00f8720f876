/**
 * S3 Batch Operations end to end without AWS: `rekey batch-ops submit` plans a bucket on the
 * test backend and uploads the manifest of the objects that need work; its CreateJob request
 * (recorded by a stand-in S3 Control client: the emulator has no S3 Control) is run by the
 * harness on the zip `pnpm bundle:lambda` builds; the completion report it writes is merged
 * with `rekey report merge`; the objects are then on the target.
 */
import { CreateKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { CreateJobCommandInput } from "@aws-sdk/client-s3-control";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { bundleLambda } from "../../../deploy/batch-operations/bundle.js";
import { planJob } from "../src/index.js";
import { registerBatchOpsCommands } from "../src/cli/batch-ops-commands.js";
import type { CliContext } from "../src/cli/util/context.js";
import { mergeReportFiles } from "../src/reports/merge-reports.js";
import { newBucket, plaintextDigestOf, putEncrypted, type WrittenObject } from "./helpers/s3-objects.js";
import { BatchOperationsHarness, functionEnv } from "./helpers/batch-operations-harness.js";

const aws = useLocalAws();

const ACCOUNT = "111122223333";
const FUNCTION = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:rekey`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/rekey-batch-operations`;

/** Runs `rekey batch-ops …` in-process; S3 Control calls are recorded, not sent. */
async function batchOps(args: readonly string[]) {
  const out: Buffer[] = [];
  const stdout = new PassThrough();
  stdout.on("data", (c: Buffer) => out.push(c));
  const sent: unknown[] = [];
  const ctx: CliContext = {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    setExitCode: () => {},
    kmsClient: (o) => aws.createKmsClient({ ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}) }),
    s3Client: (o) => aws.createS3Client({ ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}) }),
  };
  const program = new Command("rekey").exitOverride();
  registerBatchOpsCommands(program, ctx, () => ({
    send: (async (command: { input: unknown }) => {
      sent.push(command);
      return { JobId: "job-0001", $metadata: {} };
    }) as never,
  }));
  await program.parseAsync(["node", "rekey", "batch-ops", ...args]);
  return { stdout: Buffer.concat(out).toString("utf8"), sent };
}

describe("S3 Batch Operations pipeline", () => {
  let zip: Buffer;
  let zipBytes: number;
  beforeAll(async () => {
    const b = await bundleLambda(await mkdtemp(join(tmpdir(), "rekey-bundle-")));
    zip = await readFile(b.zipPath);
    zipBytes = b.zipBytes;
  });

  let harness: BatchOperationsHarness | undefined;
  afterAll(() => harness?.stop());

  async function setUp() {
    const key = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const data = await newBucket(aws.s3);
    const jobs = await newBucket(aws.s3);
    const moved: WrittenObject[] = [];
    // Keys that need URL encoding in a manifest: spaces, plus signs, commas, non-ASCII.
    for (const [i, name] of ["a b+c/ü,1.rkey", "100%.rkey", "x/y/z.rkey", "d1.rkey", "d2.rkey"].entries())
      moved.push(
        await putEncrypted(aws.s3, aws.kms, data, name, { keyId: key, seed: i, plaintextSize: 500 + i }),
      );
    await aws.s3.send(new PutObjectCommand({ Bucket: data, Key: "plain.txt", Body: "not rekey" }));
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));
    // Written after the rotation: already current, not in the manifest.
    await putEncrypted(aws.s3, aws.kms, data, "fresh.rkey", { keyId: key, seed: 9, plaintextSize: 300 });
    return { key, data, jobs, moved };
  }

  const submitArgs = (data: string, jobs: string, extra: string[] = []) => [
    "submit",
    "--source",
    `s3://${data}/`,
    "--target",
    "current",
    "--account-id",
    ACCOUNT,
    "--function-arn",
    FUNCTION,
    "--role-arn",
    ROLE,
    "--manifest-uri",
    `s3://${jobs}/rekey/manifests/m1.csv`,
    "--report-uri",
    `s3://${jobs}/rekey/reports`,
    "--json",
    ...extra,
  ];

  it("submit --dry-run prints the CreateJob request and sends nothing", async () => {
    const { data, jobs } = await setUp();
    const dir = await mkdtemp(join(tmpdir(), "rekey-submit-"));
    const file = join(dir, "m.csv");
    const run = await batchOps(submitArgs(data, jobs, ["--dry-run", "--manifest-file", file]));
    const out = JSON.parse(run.stdout) as {
      dryRun: boolean;
      manifest: { lines: number; md5: string };
      request: CreateJobCommandInput;
    };
    expect(run.sent).toEqual([]);
    expect(out.dryRun).toBe(true);
    const manifest = await readFile(file, "utf8");
    // Only the objects that need work, keys URL-encoded.
    expect(manifest.trim().split("\n").sort()).toEqual(
      [
        `${data},100%25.rkey`,
        `${data},a%20b%2Bc/%C3%BC%2C1.rkey`,
        `${data},d1.rkey`,
        `${data},d2.rkey`,
        `${data},x/y/z.rkey`,
      ].sort(),
    );
    expect(out.manifest.lines).toBe(5);
    expect(out.request).toEqual({
      AccountId: ACCOUNT,
      ConfirmationRequired: false,
      ClientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      Description: "rekey rewrap to current",
      Priority: 10,
      RoleArn: ROLE,
      Operation: {
        LambdaInvoke: {
          FunctionArn: FUNCTION,
          InvocationSchemaVersion: "2.0",
          UserArguments: { target: "current", mode: "rewrap", verify: "etag" },
        },
      },
      Manifest: {
        Spec: { Format: "S3BatchOperations_CSV_20180820", Fields: ["Bucket", "Key"] },
        Location: {
          ObjectArn: `arn:aws:s3:::${jobs}/rekey/manifests/m1.csv`,
          ETag: createHash("md5").update(manifest).digest("hex"),
        },
      },
      Report: {
        Enabled: true,
        Bucket: `arn:aws:s3:::${jobs}`,
        Format: "Report_CSV_20180820",
        ReportScope: "AllTasks",
        Prefix: "rekey/reports",
      },
    });
    await expect(
      aws.s3.send(new HeadObjectCommand({ Bucket: jobs, Key: "rekey/manifests/m1.csv" })),
    ).rejects.toMatchObject({ name: "NotFound" });
    // The same manifest and settings: the same token (CreateJob is idempotent on it).
    const again = JSON.parse((await batchOps(submitArgs(data, jobs, ["--dry-run"]))).stdout) as typeof out;
    expect(again.request.ClientRequestToken).toBe(out.request.ClientRequestToken);
  });

  it("submit, then the zipped function on every task: TemporaryFailure retried, a completion report in S3's format, objects on the target", async () => {
    const { key, data, jobs, moved } = await setUp();
    const run = await batchOps(submitArgs(data, jobs));
    expect(run.sent).toHaveLength(1);
    const request = (run.sent[0] as { input: CreateJobCommandInput }).input;
    const out = JSON.parse(run.stdout) as { jobId: string; request: CreateJobCommandInput };
    expect(out.jobId).toBe("job-0001");
    expect(out.request).toEqual(request);

    harness = await BatchOperationsHarness.start({
      zip,
      env: functionEnv(aws),
      // One container: its tasks run one after the other, so the throttled calls below are the
      // first task's two attempts.
      containers: 1,
    });
    expect(harness.files).toEqual(["index.mjs"]);
    // The first two ReEncrypt calls are throttled: the handler's own two attempts fail, it
    // answers TemporaryFailure, and Batch Operations (the harness) runs the task again.
    aws.faults?.inject("kms:ReEncrypt", { error: "throttle", times: 2 });
    const job = await harness.runJob(aws.s3, request, { jobId: "job-0001" });
    if (aws.faults) expect(job.temporaryRetries).toBeGreaterThanOrEqual(1);
    expect(job.invocations).toBe(5 + job.temporaryRetries);
    expect(job.rows.map((r) => r.taskStatus)).toEqual(Array(5).fill("succeeded"));
    expect(job.rows.every((r) => r.resultMessage.startsWith("rewrapped: "))).toBe(true);

    // The completion report, as S3 lays it out, merged.
    expect(job.reportKeys).toEqual([
      expect.stringMatching(/^rekey\/reports\/job-job-0001\/results\/[0-9a-f]{40}\.csv$/),
      "rekey/reports/job-job-0001/manifest.json",
    ]);
    const dir = await mkdtemp(join(tmpdir(), "rekey-report-"));
    const csv = join(dir, "results.csv");
    const body = await aws.s3.send(new GetObjectCommand({ Bucket: jobs, Key: job.reportKeys[0] }));
    await writeFile(csv, await body.Body!.transformToString());
    const merged = await mergeReportFiles([csv]);
    expect(merged.objects).toBe(5);
    expect(merged.outcomes.rewrapped).toBe(5);
    expect(merged.exitCode).toBe(0);

    // Every object is on the target now, its plaintext unchanged; nothing else was touched.
    const after = await planJob({
      kms: aws.createKmsClient(),
      s3: aws.createS3Client(),
      source: { kind: "s3", bucket: data },
      target: "current",
    });
    expect(after.classes.rewrap.objects).toBe(0);
    expect(after.classes.current.objects).toBe(6);
    expect(after.classes.foreign.objects).toBe(1);
    for (const o of moved)
      expect(await plaintextDigestOf(aws.s3, aws.kms, data, o.key, [key])).toBe(o.plaintextDigest);

    // A job whose arguments the function cannot read fails every task, writing nothing.
    const bad = {
      ...request,
      Operation: {
        LambdaInvoke: {
          ...request.Operation!.LambdaInvoke!,
          UserArguments: { target: "current", writersStopped: "true" },
        },
      },
    };
    const refused = await harness.runJob(aws.s3, bad, { jobId: "job-0002" });
    expect(refused.rows.map((r) => [r.taskStatus, r.errorCode])).toEqual(
      Array(5).fill(["failed", "PermanentFailure"]),
    );
    expect(refused.rows[0]?.resultMessage).toMatch(/unknown job argument "writersStopped"/);
    expect(zipBytes).toBeLessThan(5 * 1024 * 1024);
  });

  it("the harness refuses a manifest changed after the job was created (S3 checks its ETag)", async () => {
    const { data, jobs } = await setUp();
    const run = await batchOps(submitArgs(data, jobs));
    const request = (run.sent[0] as { input: CreateJobCommandInput }).input;
    await aws.s3.send(
      new PutObjectCommand({ Bucket: jobs, Key: "rekey/manifests/m1.csv", Body: `${data},plain.txt\n` }),
    );
    harness ??= await BatchOperationsHarness.start({ zip, env: {} });
    await expect(harness.runJob(aws.s3, request)).rejects.toThrow(/S3 refuses the job/);
  });
});
