/**
 * S3 Batch Operations without AWS: runs a CreateJob request's `LambdaInvoke` operation the way
 * S3 does, on the zipped function. The zip is unpacked into a directory outside the repository
 * and each "container" is a Node process that imports only `index.mjs` from it (so a bundle
 * that still needs the workspace fails here), answering one invocation at a time. The harness
 * reads the manifest from S3 and checks its ETag (S3 refuses a job whose manifest changed),
 * sends one task per invocation (schema 2.0 event, the manifest's URL-encoded key, the job's
 * user arguments), retries `TemporaryFailure` with exponential backoff, treats a task the
 * answer does not mention as `PermanentFailure`, and writes the completion report in S3's
 * format: `job-<id>/results/<name>.csv` (succeeded and failed tasks in separate files) and
 * `job-<id>/manifest.json`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { inflateRawSync } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { CreateJobCommandInput } from "@aws-sdk/client-s3-control";
import { formatCompletionRow, type CompletionRow } from "../../src/reports/completion-report.js";
import { parse } from "csv-parse/sync";
import type { BatchOperationsEvent, BatchOperationsResponse } from "../../src/index.js";

/**
 * Unpacks a zip (stored or deflated entries) into `dir`.
 *
 * @returns the names of the files written.
 */
export async function unzip(zip: Buffer, dir: string): Promise<string[]> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const body = zip.subarray(dataAt, dataAt + size);
    const data = method === 8 ? inflateRawSync(body) : method === 0 ? body : undefined;
    if (!data) throw new Error(`${name}: compression method ${method}`);
    if (name.includes("..") || name.startsWith("/")) throw new Error(`${name}: outside the archive`);
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), data);
    names.push(name);
    at += 46 + nameLength + extra + comment;
  }
  return names;
}

const RUNTIME = `
import { createInterface } from "node:readline";
const { handler } = await import("./index.mjs");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const { id, event } = JSON.parse(line);
  let answer;
  try {
    answer = { id, result: await handler(event) };
  } catch (e) {
    answer = { id, error: { errorType: e?.name ?? "Error", errorMessage: e?.message ?? String(e) } };
  }
  process.stdout.write("@@invoke " + JSON.stringify(answer) + "\\n");
}
`;

/** One Lambda container: a Node process running the bundle. */
class Container {
  private readonly waiting = new Map<
    number,
    (a: { result?: BatchOperationsResponse; error?: unknown }) => void
  >();
  private next = 0;
  readonly stderr: string[] = [];

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (!line.startsWith("@@invoke ")) return;
      const a = JSON.parse(line.slice("@@invoke ".length)) as {
        id: number;
        result?: BatchOperationsResponse;
      };
      this.waiting.get(a.id)?.(a);
      this.waiting.delete(a.id);
    });
    child.stderr.on("data", (c: Buffer) => this.stderr.push(c.toString("utf8")));
    child.on("exit", (code) => {
      for (const resolve of this.waiting.values())
        resolve({
          error: {
            errorType: "Runtime.ExitError",
            errorMessage: `exited with ${code}: ${this.stderr.join("")}`,
          },
        });
      this.waiting.clear();
    });
  }

  invoke(event: BatchOperationsEvent): Promise<{ result?: BatchOperationsResponse; error?: unknown }> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ id, event })}\n`);
    });
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/** The function's environment pointing at a test backend (endpoint, Region, credentials). */
export function functionEnv(aws: {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}

/** What a run of a job did. */
export interface HarnessRun {
  readonly rows: readonly CompletionRow[];
  readonly invocations: number;
  /** Invocations repeated because a task answered `TemporaryFailure`. */
  readonly temporaryRetries: number;
  /** Keys of the completion report files written (CSV files, then manifest.json). */
  readonly reportKeys: readonly string[];
}

/** Options of {@link BatchOperationsHarness.start}. */
export interface HarnessOptions {
  readonly zip: Buffer;
  /** The function's environment (endpoint, Region, credentials, REKEY_*). */
  readonly env: Record<string, string>;
  /** Containers invoked at once. @default 2 */
  readonly containers?: number;
}

/** Runs Batch Operations jobs on a zipped function. */
export class BatchOperationsHarness {
  private constructor(
    private readonly containers: Container[],
    readonly files: readonly string[],
  ) {}

  /** Unpacks the zip and starts the containers. */
  static async start(o: HarnessOptions): Promise<BatchOperationsHarness> {
    const dir = await mkdtemp(join(tmpdir(), "rekey-lambda-"));
    const files = await unzip(o.zip, dir);
    await writeFile(join(dir, "runtime.mjs"), RUNTIME);
    const containers = Array.from(
      { length: o.containers ?? 2 },
      () =>
        new Container(
          spawn(process.execPath, ["runtime.mjs"], {
            cwd: dir,
            env: { PATH: process.env["PATH"] ?? "", ...o.env },
            stdio: ["pipe", "pipe", "pipe"],
          }),
        ),
    );
    return new BatchOperationsHarness(containers, files);
  }

  /** Runs the job a CreateJob request describes; the manifest and report are in `s3`. */
  async runJob(
    s3: S3Client,
    request: CreateJobCommandInput,
    o: { jobId?: string; maxAttempts?: number; baseDelayMs?: number } = {},
  ): Promise<HarnessRun> {
    const lambda = request.Operation?.LambdaInvoke;
    if (!lambda?.FunctionArn) throw new Error("not a LambdaInvoke job");
    if (lambda.InvocationSchemaVersion !== "2.0") throw new Error("the harness sends schema 2.0 events");
    const spec = request.Manifest?.Spec;
    const location = request.Manifest?.Location;
    if (spec?.Format !== "S3BatchOperations_CSV_20180820" || !location?.ObjectArn)
      throw new Error("the harness reads CSV manifests");
    const [, bucket = "", key = ""] = /^arn:[^:]+:s3:::([^/]+)\/(.+)$/.exec(location.ObjectArn) ?? [];
    const manifest = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if ((manifest.ETag ?? "").replace(/"/g, "") !== location.ETag)
      throw new Error(`manifest ETag ${manifest.ETag} is not the job's ${location.ETag}: S3 refuses the job`);
    const fields = spec.Fields ?? ["Bucket", "Key"];
    const tasks = parse(await manifest.Body!.transformToString(), { skip_empty_lines: true }).map((f) => {
      const at = (name: string) => f[fields.indexOf(name as (typeof fields)[number])];
      return { bucket: at("Bucket") ?? "", key: at("Key") ?? "", versionId: at("VersionId") || undefined };
    });
    const jobId = o.jobId ?? randomBytes(16).toString("hex");
    const maxAttempts = o.maxAttempts ?? 4;
    const baseDelayMs = o.baseDelayMs ?? 20;
    const rows: CompletionRow[] = new Array(tasks.length);
    let invocations = 0;
    let temporaryRetries = 0;
    let nextTask = 0;
    const work = async (container: Container): Promise<void> => {
      for (;;) {
        const i = nextTask++;
        const task = tasks[i];
        if (!task) return;
        const taskId = randomBytes(12).toString("base64url");
        let row: CompletionRow | undefined;
        for (let attempt = 1; row === undefined; attempt++) {
          invocations++;
          const answer = await container.invoke({
            invocationSchemaVersion: "2.0",
            invocationId: randomBytes(12).toString("base64url"),
            job: { id: jobId, ...(lambda.UserArguments ? { userArguments: lambda.UserArguments } : {}) },
            tasks: [{ taskId, s3Bucket: task.bucket, s3Key: task.key, s3VersionId: task.versionId ?? null }],
          });
          const base = {
            bucket: task.bucket,
            key: task.key,
            ...(task.versionId ? { versionId: task.versionId } : {}),
          };
          if (answer.error !== undefined || !answer.result) {
            row = {
              ...base,
              taskStatus: "failed",
              errorCode: "PermanentFailure",
              httpStatus: 200,
              resultMessage: `Lambda returned function error: ${JSON.stringify(answer.error)}`,
            };
            break;
          }
          const r = answer.result.results.find((x) => x.taskId === taskId);
          const code = r?.resultCode ?? answer.result.treatMissingKeysAs;
          if (code === "TemporaryFailure" && attempt < maxAttempts) {
            temporaryRetries++;
            await new Promise((resolve) => setTimeout(resolve, baseDelayMs * 2 ** (attempt - 1)));
            continue;
          }
          row = {
            ...base,
            taskStatus: code === "Succeeded" ? "succeeded" : "failed",
            errorCode: code === "Succeeded" ? "" : code,
            httpStatus: 200,
            resultMessage: r?.resultString ?? "",
          };
        }
        rows[i] = row;
      }
    };
    await Promise.all(this.containers.map(work));
    const reportKeys = await writeCompletionReport(s3, request, jobId, rows);
    return { rows, invocations, temporaryRetries, reportKeys };
  }

  /** Stops the containers. */
  stop(): void {
    for (const c of this.containers) c.stop();
  }
}

async function writeCompletionReport(
  s3: S3Client,
  request: CreateJobCommandInput,
  jobId: string,
  rows: readonly CompletionRow[],
): Promise<string[]> {
  const report = request.Report;
  if (!report?.Enabled || !report.Bucket) return [];
  const bucket = report.Bucket.replace(/^arn:[^:]+:s3:::/, "");
  const root = `${report.Prefix ? `${report.Prefix}/` : ""}job-${jobId}`;
  const results: { TaskExecutionStatus: string; Bucket: string; MD5Checksum: string; Key: string }[] = [];
  const keys: string[] = [];
  for (const status of ["succeeded", "failed"]) {
    const mine = rows.filter((r) => r.taskStatus === status);
    if (mine.length === 0 || (status === "succeeded" && report.ReportScope === "FailedTasksOnly")) continue;
    const body = `${mine.map(formatCompletionRow).join("\n")}\n`;
    const md5 = createHash("md5").update(body).digest("hex");
    const key = `${root}/results/${createHash("sha1").update(`${jobId}${status}`).digest("hex")}.csv`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    results.push({ TaskExecutionStatus: status, Bucket: bucket, MD5Checksum: md5, Key: key });
    keys.push(key);
  }
  const manifest = {
    Format: "Report_CSV_20180820",
    ReportCreationDate: new Date().toISOString(),
    Results: results,
    ReportSchema: "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage",
  };
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: `${root}/manifest.json`, Body: JSON.stringify(manifest) }),
  );
  keys.push(`${root}/manifest.json`);
  return keys;
}
