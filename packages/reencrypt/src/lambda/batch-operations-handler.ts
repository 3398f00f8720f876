/**
 * An AWS Lambda handler for S3 Batch Operations ("Invoke AWS Lambda function" operation): S3
 * reads the manifest, calls the function with one object per task, retries temporary failures
 * and writes the completion report. Each task runs the same `runObject` as the local job — plan,
 * rewrap or re-encrypt, conditional write, verification — with one context per Lambda container
 * (the target is resolved once, on the first invocation). Retries belong to S3 Batch Operations:
 * the handler retries a request once at most (configurable), and answers `TemporaryFailure` for
 * what a later attempt may get past, `PermanentFailure` for what it will not.
 */
import { JobError, describeError } from "../errors.js";
import { createJobContext, type JobContext, type JobContextOptions } from "../runner/job-context.js";
import type { RetryOptions } from "../support/retry.js";
import type { S3ObjectRef } from "../model/object-ref.js";
import type { ObjectResult } from "../model/object-result.js";
import { runObject } from "../runner/run-object.js";

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

/**
 * In-process retries of the handler: one quick retry of a blip. Anything longer is S3 Batch
 * Operations' to retry (`TemporaryFailure`), with its own backoff, outside the function's time.
 */
export const BATCH_OPERATIONS_RETRY: RetryOptions = { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 };

/** Options of {@link batchOperationsHandler}. */
export interface BatchOperationsHandlerOptions extends JobContextOptions {
  /** In-process retries of each KMS and S3 request. @default BATCH_OPERATIONS_RETRY (2 attempts) */
  readonly retry?: RetryOptions;
}

/** Job codes of failures a later attempt may get past (the object is unchanged). */
const TEMPORARY_CODES: ReadonlySet<string> = new Set(["ERR_JOB_ABORTED"]);

/** AWS errors that mean the object or key is gone, or will not be usable without a person. */
const PERMANENT_NAMES: ReadonlySet<string> = new Set([
  "NoSuchKey",
  "NoSuchVersion",
  "NoSuchBucket",
  "NotFoundException",
  "DisabledException",
  "KMSInvalidStateException",
  "AccessDenied",
  "AccessDeniedException",
  "InvalidCiphertextException",
  "IncorrectKeyException",
]);

/**
 * Maps an object's outcome to a Batch Operations result code:
 * - on the target (`rewrapped`, `reencrypted`, `current`) → `Succeeded`;
 * - `conflict` (another writer got there in between) → `TemporaryFailure`: the retry plans the
 *   object again — unless the object or version no longer exists, or the task names a version
 *   (another writer's version is current now, and a pinned version never becomes current again)
 *   → `PermanentFailure`;
 * - `failed` by something a later attempt may pass (throttling, 5xx, network, a cancelled
 *   invocation) → `TemporaryFailure`;
 * - anything else → `PermanentFailure`: a missing, disabled or pending-deletion key, access
 *   denied, not a rekey message (`foreign`), a corrupt header (`unreadable`), not selected
 *   (`skipped`), a failed verification — a retry would fail the same way.
 *
 * @example
 * ```ts
 * resultCodeOf(result); // "Succeeded"
 * ```
 */
export function resultCodeOf(r: ObjectResult): BatchResultCode {
  if (r.outcome === "rewrapped" || r.outcome === "reencrypted" || r.outcome === "current") return "Succeeded";
  const gone = r.errorName !== undefined && PERMANENT_NAMES.has(r.errorName);
  if (r.outcome === "conflict")
    return gone || (r.ref.kind === "s3" && r.ref.versionId !== undefined)
      ? "PermanentFailure"
      : "TemporaryFailure";
  if (r.outcome === "failed" && !gone && (r.transient === true || TEMPORARY_CODES.has(r.code ?? "")))
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
  if (bucket === "") throw new JobError("ERR_JOB_INVALID_OPTION", "the task names no bucket");
  let key: string;
  try {
    key = decodeURIComponent(task.s3Key.replace(/\+/g, " "));
  } catch (e) {
    throw new JobError("ERR_JOB_INVALID_OPTION", `task key "${task.s3Key}" is not valid URL encoding`, {
      cause: e,
    });
  }
  return { kind: "s3", bucket, key, ...(task.s3VersionId ? { versionId: task.s3VersionId } : {}) };
}

/**
 * Creates the handler. The context (clients, target, rate limiter) is built on the first
 * invocation and reused by the container's later invocations. A task whose key is not valid URL
 * encoding is a `PermanentFailure`; a target that cannot be resolved fails the invocation.
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
  options: BatchOperationsHandlerOptions,
): (event: BatchOperationsEvent) => Promise<BatchOperationsResponse> {
  let context: Promise<JobContext> | undefined;
  return async (event) => {
    if (!context) {
      context = createJobContext(
        Object.assign({}, options, { retry: options.retry ?? BATCH_OPERATIONS_RETRY }),
      );
      // A failed setup (target not found) must not stay cached for the container's life.
      context.catch(() => (context = undefined));
    }
    const ctx = await context;
    const results: BatchOperationsResponse["results"] = [];
    for (const task of event.tasks) {
      let ref: S3ObjectRef;
      try {
        ref = refOfTask(task);
      } catch (e) {
        results.push({
          taskId: task.taskId,
          resultCode: "PermanentFailure",
          resultString: describeError(e).reason,
        });
        continue;
      }
      // runObject never throws: every failure is an outcome.
      const r = await runObject(ref, ctx);
      results.push({
        taskId: task.taskId,
        resultCode: resultCodeOf(r),
        resultString: `${r.outcome}: ${r.reason}${r.code ? ` [${r.code}]` : ""}`.slice(0, 1024),
      });
    }
    return {
      invocationSchemaVersion: "1.0",
      treatMissingKeysAs: "PermanentFailure",
      invocationId: event.invocationId,
      results,
    };
  };
}
