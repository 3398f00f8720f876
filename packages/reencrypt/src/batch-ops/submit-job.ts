/**
 * Submitting a job to S3 Batch Operations: plan the source (header reads only), write a CSV
 * manifest of the objects that need work (`rewrap` or `reencrypt` in the plan; keys
 * URL-encoded, as S3 expects), upload it, and ask S3 Control to run the Lambda function on
 * every line with the job's settings as user arguments and a completion report of all tasks.
 *
 * The manifest is written to a local file as objects are planned (memory stays flat) and
 * uploaded with one `PutObject`, so one manifest holds up to 5 GB — some 60 million lines of
 * typical keys; split a larger source with `shard` into several jobs. The `ClientRequestToken`
 * is derived from the manifest and the request, so submitting the same manifest twice creates
 * one job.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { finished } from "node:stream/promises";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  CreateJobCommand,
  DescribeJobCommand,
  type CreateJobCommandInput,
  type JobDescriptor,
  type JobManifestFieldName,
  type S3ControlClient,
} from "@aws-sdk/client-s3-control";
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { JobOptions } from "../runner/job-options.js";
import { planJob } from "../runner/plan-job.js";
import type { PlanReport } from "../runner/plan-report.js";
import { userArgumentsOf, type BatchJobSettings } from "./job-settings.js";

/** Where things are in S3: `s3://bucket/key`. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** The manifest written for a job. */
export interface BatchManifest {
  /** Local file. */
  readonly path: string;
  readonly lines: number;
  readonly bytes: number;
  /** Hex MD5 of the file: the ETag S3 gives a single PUT of it (without SSE-KMS). */
  readonly md5: string;
  /** `["Bucket", "Key"]`, or with `"VersionId"` when the source pins versions. */
  readonly fields: readonly JobManifestFieldName[];
}

/** What {@link submitBatchJob} needs. */
export interface SubmitBatchJobOptions {
  /** The plan's options: source, target, filters, clients (`planJob`'s). */
  readonly job: JobOptions;
  readonly settings: BatchJobSettings;
  /** The account that runs the job. */
  readonly accountId: string;
  /** The Lambda function (`deploy/batch-operations` output `FunctionArn`). */
  readonly functionArn: string;
  /** The role S3 Batch Operations assumes (output `BatchOperationsRoleArn`). */
  readonly roleArn: string;
  /** Where the manifest is uploaded. */
  readonly manifestLocation: S3Location;
  /** Bucket and prefix of the completion report. */
  readonly reportLocation: S3Location;
  /** Local file the manifest is written to. */
  readonly manifestFile: string;
  /** @default 10 */
  readonly priority?: number;
  /** @default "rekey <mode> to <target>" */
  readonly description?: string;
  /** Plan and write the manifest, but upload nothing and create no job. @default false */
  readonly dryRun?: boolean;
  /** S3 client of the manifest upload. @default `job.s3` */
  readonly s3?: S3Client;
  readonly control: Pick<S3ControlClient, "send">;
}

/** What {@link submitBatchJob} did. */
export interface SubmittedBatchJob {
  readonly plan: PlanReport;
  readonly manifest: BatchManifest;
  /** The CreateJob request (sent, or the one that would be sent). */
  readonly request: CreateJobCommandInput;
  /** Absent for a dry run, or when no object needs work (no job is created then). */
  readonly jobId?: string;
  /** The manifest's ETag as S3 answered the upload. */
  readonly uploadedETag?: string;
}

/**
 * The ARN partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`).
 *
 * @example
 * ```ts
 * partitionOf("arn:aws-cn:lambda:cn-north-1:111122223333:function:rekey"); // "aws-cn"
 * ```
 */
export function partitionOf(arn: string): string {
  const m = /^arn:([^:]+):/.exec(arn);
  if (!m) throw new JobError("ERR_JOB_INVALID_OPTION", `"${arn}" is not an ARN`);
  return m[1] as string;
}

/**
 * Parses `s3://bucket/key`.
 *
 * @example
 * ```ts
 * parseS3Location("s3://ops/rekey/manifest.csv"); // { bucket: "ops", key: "rekey/manifest.csv" }
 * ```
 */
export function parseS3Location(url: string, what: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.*)$/.exec(url);
  if (!m) throw new JobError("ERR_JOB_INVALID_OPTION", `${what} takes s3://bucket/key, not "${url}"`);
  return { bucket: m[1] as string, key: m[2] as string };
}

/**
 * One manifest line: `bucket,key[,versionId]`, the key URL-encoded (as S3 Batch Operations
 * CSV manifests require; the handler decodes it).
 *
 * @example
 * ```ts
 * manifestLine("data", "dir/a b+c.rkey"); // "data,dir/a%20b%2Bc.rkey"
 * ```
 */
export function manifestLine(bucket: string, key: string, versionId?: string): string {
  const encoded = encodeURIComponent(key).replace(/%2F/g, "/");
  return versionId === undefined ? `${bucket},${encoded}` : `${bucket},${encoded},${versionId}`;
}

/**
 * The CreateJob request of a job.
 *
 * @example
 * ```ts
 * const input = createJobRequest({ ...options, manifest, etag: manifest.md5 });
 * ```
 */
export function createJobRequest(
  o: Omit<SubmitBatchJobOptions, "job" | "control" | "s3" | "manifestFile" | "dryRun">,
  manifest: BatchManifest,
  etag: string,
): CreateJobCommandInput {
  const partition = partitionOf(o.functionArn);
  const userArguments = userArgumentsOf(o.settings);
  const reportPrefix = o.reportLocation.key.replace(/\/+$/, "");
  const token = createHash("sha256")
    .update(
      JSON.stringify([etag, o.manifestLocation, o.functionArn, o.roleArn, userArguments, o.reportLocation]),
    )
    .digest("hex")
    .slice(0, 64);
  return {
    AccountId: o.accountId,
    ConfirmationRequired: false,
    ClientRequestToken: token,
    Description: (o.description ?? `rekey ${o.settings.mode} to ${o.settings.target}`).slice(0, 256),
    Priority: o.priority ?? 10,
    RoleArn: o.roleArn,
    Operation: {
      LambdaInvoke: {
        FunctionArn: o.functionArn,
        InvocationSchemaVersion: "2.0",
        UserArguments: userArguments,
      },
    },
    Manifest: {
      Spec: { Format: "S3BatchOperations_CSV_20180820", Fields: [...manifest.fields] },
      Location: {
        ObjectArn: `arn:${partition}:s3:::${o.manifestLocation.bucket}/${o.manifestLocation.key}`,
        ETag: etag,
      },
    },
    Report: {
      Enabled: true,
      Bucket: `arn:${partition}:s3:::${o.reportLocation.bucket}`,
      Format: "Report_CSV_20180820",
      ReportScope: "AllTasks",
      ...(reportPrefix ? { Prefix: reportPrefix } : {}),
    },
  };
}

/**
 * Plans the source and writes the manifest of the objects that need work.
 *
 * @throws JobError `ERR_JOB_SOURCE` when some objects pin a version and others do not (a
 * manifest has one set of fields).
 * @example
 * ```ts
 * const { plan, manifest } = await writeBatchManifest(jobOptions, "manifest.csv");
 * ```
 */
export async function writeBatchManifest(
  job: JobOptions,
  path: string,
): Promise<{ plan: PlanReport; manifest: BatchManifest }> {
  const out = createWriteStream(path);
  const md5 = createHash("md5");
  let lines = 0;
  let pinned = 0;
  let chunk = "";
  const flush = (): void => {
    if (chunk === "") return;
    md5.update(chunk);
    out.write(chunk);
    chunk = "";
  };
  // Lines are written in source order whatever order the plans finish in, so the same objects
  // make the same manifest, byte for byte: the same ETag, the same request token (a second
  // submit is the same job), and an upload that does not change the manifest a first job reads.
  // Plans that finished ahead of an earlier one wait here; how many is bounded by how far the
  // planning runs ahead of its slowest object.
  const waiting = new Map<number, string>();
  let nextSequence = 0;
  const onPlan = (plan: ObjectPlan | undefined, sequence: number): void => {
    let line = "";
    if (plan && (plan.class === "rewrap" || plan.class === "reencrypt") && plan.ref.kind === "s3") {
      if (plan.ref.versionId !== undefined) pinned++;
      line = `${manifestLine(plan.ref.bucket, plan.ref.key, plan.ref.versionId)}\n`;
      lines++;
    }
    waiting.set(sequence, line);
    for (let next = waiting.get(nextSequence); next !== undefined; next = waiting.get(nextSequence)) {
      waiting.delete(nextSequence++);
      chunk += next;
    }
    if (chunk.length >= 64 * 1024) flush();
  };
  let plan: PlanReport;
  try {
    plan = await planJob(job, { onPlan });
  } finally {
    // Nothing is left waiting once every started plan finished; were a place ever skipped, the
    // lines after it are still written rather than lost.
    for (const sequence of [...waiting.keys()].sort((a, b) => a - b)) chunk += waiting.get(sequence);
    flush();
    out.end();
    await finished(out);
  }
  if (pinned > 0 && pinned < lines)
    throw new JobError(
      "ERR_JOB_SOURCE",
      `${pinned} of ${lines} objects to move name a version and the others do not: a Batch Operations manifest has one set of fields`,
    );
  const { size } = await stat(path);
  return {
    plan,
    manifest: {
      path,
      lines,
      bytes: size,
      md5: md5.digest("hex"),
      fields: (pinned > 0 ? ["Bucket", "Key", "VersionId"] : ["Bucket", "Key"]) as JobManifestFieldName[],
    },
  };
}

/**
 * Plans, writes and uploads the manifest, and creates the job.
 *
 * @example
 * ```ts
 * const submitted = await submitBatchJob({ job, settings, accountId, functionArn, roleArn,
 *   manifestLocation, reportLocation, manifestFile: "manifest.csv", control: new S3ControlClient({}) });
 * console.log(submitted.jobId, submitted.manifest.lines);
 * ```
 */
export async function submitBatchJob(o: SubmitBatchJobOptions): Promise<SubmittedBatchJob> {
  if (o.job.source.kind === "dir")
    throw new JobError("ERR_JOB_INVALID_OPTION", "S3 Batch Operations runs on S3 objects, not a directory");
  const { plan, manifest } = await writeBatchManifest(o.job, o.manifestFile);
  if (o.dryRun || manifest.lines === 0)
    return { plan, manifest, request: createJobRequest(o, manifest, manifest.md5) };
  const s3 = o.s3 ?? o.job.s3;
  if (!s3) throw new JobError("ERR_JOB_INVALID_OPTION", "an S3 client is needed to upload the manifest");
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: o.manifestLocation.bucket,
      Key: o.manifestLocation.key,
      Body: createReadStream(manifest.path),
      ContentLength: manifest.bytes,
      ContentType: "text/csv",
    }),
  );
  const etag = (put.ETag ?? manifest.md5).replace(/"/g, "");
  const request = createJobRequest(o, manifest, etag);
  const created = await o.control.send(new CreateJobCommand(request));
  return { plan, manifest, request, uploadedETag: etag, ...(created.JobId ? { jobId: created.JobId } : {}) };
}

/**
 * The state of a job (`DescribeJob`).
 *
 * @example
 * ```ts
 * const job = await describeBatchJob(control, "111122223333", jobId);
 * console.log(job.Status, job.ProgressSummary?.NumberOfTasksSucceeded);
 * ```
 */
export async function describeBatchJob(
  control: Pick<S3ControlClient, "send">,
  accountId: string,
  jobId: string,
): Promise<JobDescriptor> {
  const out = await control.send(new DescribeJobCommand({ AccountId: accountId, JobId: jobId }));
  if (!out.Job) throw new JobError("ERR_JOB_SOURCE", `DescribeJob answered no job for ${jobId}`);
  return out.Job;
}
