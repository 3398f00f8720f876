/**
 * An AWS Lambda handler for S3 Batch Operations ("Invoke AWS Lambda function" operation): S3
 * reads the manifest, calls the function with one object per task, retries temporary failures
 * and writes the completion report. Each task runs the same `runObject` as the local job — plan,
 * rewrap or re-encrypt, conditional write, verification — with one context per Lambda container
 * (the target is resolved once, on the first invocation).
 */
import { describeError } from "../errors.js";
import { createJobContext, type JobContext, type JobContextOptions } from "../job/job-context.js";
import type { S3ObjectRef } from "../model/object-ref.js";
import type { ObjectResult } from "../process/object-result.js";
import { runObject } from "../process/run-object.js";

/** One task of a Batch Operations invocation (schema 1.0 or 2.0). */
export interface BatchOperationsTask {
  readonly taskId: string;
  /** Schema 1.0: `arn:aws:s3:::bucket`. */
  readonly s3BucketArn?: string;
  /** Schema 2.0: the bucket name. */
  readonly s3Bucket?: string;
  /** URL-encoded object key. */
  readonly s3Key: string;
  readonly s3VersionId?: string | null;
}

/** The event S3 Batch Operations sends. */
export interface BatchOperationsEvent {
  readonly invocationSchemaVersion: string;
  readonly invocationId: string;
  readonly job?: { readonly id?: string; readonly userArguments?: Readonly<Record<string, string>> };
  readonly tasks: readonly BatchOperationsTask[];
}

/** Per-task result codes S3 understands: temporary failures are retried by S3. */
export type BatchResultCode = "Succeeded" | "TemporaryFailure" | "PermanentFailure";

/** The answer S3 Batch Operations expects. */
export interface BatchOperationsResponse {
  readonly invocationSchemaVersion: "1.0";
  readonly treatMissingKeysAs: "PermanentFailure";
  readonly invocationId: string;
  readonly results: {
    readonly taskId: string;
    readonly resultCode: BatchResultCode;
    readonly resultString: string;
  }[];
}

/** Failure codes worth a retry by S3 (the object is unchanged and may succeed later). */
const TEMPORARY = new Set(["ERR_JOB_S3", "ERR_JOB_ABORTED", "ERR_JOB_CONFLICT"]);

/**
 * Maps an object's outcome to a Batch Operations result code: on the target → `Succeeded`; a
 * conflict or an S3 failure → `TemporaryFailure` (S3 retries; the retry plans the object again);
 * KMS throttling → `TemporaryFailure`; anything else → `PermanentFailure` with the reason.
 *
 * @example
 * ```ts
 * resultCodeOf(result); // "Succeeded"
 * ```
 */
export function resultCodeOf(r: ObjectResult): BatchResultCode {
  if (r.outcome === "rewrapped" || r.outcome === "reencrypted" || r.outcome === "current") return "Succeeded";
  if (r.outcome === "conflict") return "TemporaryFailure";
  if (
    r.outcome === "failed" &&
    (TEMPORARY.has(r.code ?? "") || /Throttling|Unavailable|Internal/.test(r.reason))
  )
    return "TemporaryFailure";
  return "PermanentFailure";
}

/**
 * The object a task names (keys arrive URL-encoded, `+` for spaces).
 *
 * @example
 * ```ts
 * refOfTask({ taskId: "t1", s3BucketArn: "arn:aws:s3:::data", s3Key: "a+b.rkey" }); // key "a b.rkey"
 * ```
 */
export function refOfTask(task: BatchOperationsTask): S3ObjectRef {
  const bucket = task.s3Bucket ?? task.s3BucketArn?.replace(/^arn:[^:]+:s3:::/, "") ?? "";
  const key = decodeURIComponent(task.s3Key.replace(/\+/g, " "));
  return { kind: "s3", bucket, key, ...(task.s3VersionId ? { versionId: task.s3VersionId } : {}) };
}

/**
 * Creates the handler. The context (clients, target, rate limiter) is built on the first
 * invocation and reused by the container's later invocations.
 *
 * @example
 * ```ts
 * // index.ts of the Lambda function
 * export const handler = batchOperationsHandler({
 *   kms: new KMSClient({ maxAttempts: 1 }),
 *   s3: new S3Client({ maxAttempts: 1 }),
 *   target: process.env.REKEY_TARGET ?? "current",
 * });
 * ```
 */
export function batchOperationsHandler(
  options: JobContextOptions,
): (event: BatchOperationsEvent) => Promise<BatchOperationsResponse> {
  let context: Promise<JobContext> | undefined;
  return async (event) => {
    if (!context) {
      context = createJobContext(options);
      // A failed setup (target not found) must not stay cached for the container's life.
      context.catch(() => (context = undefined));
    }
    const ctx = await context;
    const results: BatchOperationsResponse["results"] = [];
    for (const task of event.tasks) {
      try {
        const r = await runObject(refOfTask(task), ctx);
        results.push({
          taskId: task.taskId,
          resultCode: resultCodeOf(r),
          resultString: `${r.outcome}: ${r.reason}${r.code ? ` [${r.code}]` : ""}`.slice(0, 1024),
        });
      } catch (e) {
        results.push({
          taskId: task.taskId,
          resultCode: "TemporaryFailure",
          resultString: describeError(e).reason,
        });
      }
    }
    return {
      invocationSchemaVersion: "1.0",
      treatMissingKeysAs: "PermanentFailure",
      invocationId: event.invocationId,
      results,
    };
  };
}
