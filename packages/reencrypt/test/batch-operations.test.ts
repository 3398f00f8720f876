/** How an object's outcome becomes an S3 Batch Operations result code (no network). */
import { KmsError } from "@rekey/core";
import { describe, expect, it } from "vitest";
import { JobError, resultCodeOf, type BatchResultCode, type ObjectResult } from "../src/index.js";
import { awsErrorNameOf } from "../src/errors.js";
import { isTransientFailure } from "../src/support/retry.js";
import { refOfTask } from "../src/lambda/batch-operations-handler.js";

/** An SDK-shaped error: a name and the HTTP status of the answer. */
function awsError(name: string, status?: number): Error {
  return Object.assign(new Error(name), { name, $metadata: status ? { httpStatusCode: status } : {} });
}

function result(outcome: ObjectResult["outcome"], error?: unknown, code?: string): ObjectResult {
  const errorName = error === undefined ? undefined : awsErrorNameOf(error);
  return {
    ref: { kind: "s3", bucket: "data-bucket", key: "k" },
    outcome,
    planClass: "rewrap",
    reason: "why",
    ...(code ? { code } : {}),
    ...(errorName ? { errorName } : {}),
    ...(error !== undefined && isTransientFailure(error) ? { transient: true } : {}),
    size: 1,
    sourceKeyArns: [],
    sourceMaterialIds: [],
    materialUnproven: false,
    durationMs: 1,
  };
}

const s3Failure = (cause: Error) => new JobError("ERR_JOB_S3", `write: ${cause.name}`, { cause });

describe("resultCodeOf", () => {
  const cases: [string, ObjectResult, BatchResultCode][] = [
    ["rewrapped", result("rewrapped"), "Succeeded"],
    ["reencrypted", result("reencrypted"), "Succeeded"],
    ["current", result("current"), "Succeeded"],
    // Transient: a later attempt may pass.
    [
      "KMS throttling",
      result("failed", new KmsError("ReEncrypt", awsError("ThrottlingException", 400)), "ERR_KMS"),
      "TemporaryFailure",
    ],
    [
      "KMS internal error",
      result("failed", new KmsError("ReEncrypt", awsError("KMSInternalException", 500)), "ERR_KMS"),
      "TemporaryFailure",
    ],
    ["S3 SlowDown", result("failed", s3Failure(awsError("SlowDown", 503)), "ERR_JOB_S3"), "TemporaryFailure"],
    ["S3 500", result("failed", s3Failure(awsError("InternalError", 500)), "ERR_JOB_S3"), "TemporaryFailure"],
    [
      "network",
      result("failed", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
      "TemporaryFailure",
    ],
    [
      "a changed object",
      result(
        "conflict",
        new JobError("ERR_JOB_CONFLICT", "412", { cause: awsError("PreconditionFailed", 412) }),
        "ERR_JOB_CONFLICT",
      ),
      "TemporaryFailure",
    ],
    ["a cancelled invocation", result("failed", undefined, "ERR_JOB_ABORTED"), "TemporaryFailure"],
    [
      "a pinned version another writer's version replaced (it never becomes current again)",
      {
        ...result(
          "conflict",
          new JobError("ERR_JOB_CONFLICT", "412", { cause: awsError("PreconditionFailed", 412) }),
          "ERR_JOB_CONFLICT",
        ),
        ref: { kind: "s3", bucket: "data-bucket", key: "k", versionId: "v1" },
      },
      "PermanentFailure",
    ],
    // Permanent: a retry fails the same way.
    [
      "a deleted key",
      result("failed", new KmsError("ReEncrypt", awsError("NotFoundException", 400)), "ERR_KMS"),
      "PermanentFailure",
    ],
    [
      "a disabled key",
      result("failed", new KmsError("ReEncrypt", awsError("DisabledException", 400)), "ERR_KMS"),
      "PermanentFailure",
    ],
    [
      "a key pending deletion",
      result("failed", new KmsError("ReEncrypt", awsError("KMSInvalidStateException", 400)), "ERR_KMS"),
      "PermanentFailure",
    ],
    [
      "KMS access denied",
      result("failed", new KmsError("ReEncrypt", awsError("AccessDeniedException", 400)), "ERR_KMS"),
      "PermanentFailure",
    ],
    [
      "S3 access denied",
      result("failed", s3Failure(awsError("AccessDenied", 403)), "ERR_JOB_S3"),
      "PermanentFailure",
    ],
    [
      "a deleted object",
      result(
        "conflict",
        new JobError("ERR_JOB_CONFLICT", "gone", { cause: awsError("NoSuchKey", 404) }),
        "ERR_JOB_CONFLICT",
      ),
      "PermanentFailure",
    ],
    ["not a rekey message", result("foreign"), "PermanentFailure"],
    ["a corrupt header", result("unreadable", undefined, "ERR_FORMAT"), "PermanentFailure"],
    ["not selected", result("skipped"), "PermanentFailure"],
    [
      "a failed verification",
      result("failed", new JobError("ERR_JOB_VERIFY", "differs"), "ERR_JOB_VERIFY"),
      "PermanentFailure",
    ],
  ];
  for (const [name, r, code] of cases) it(`${name} → ${code}`, () => expect(resultCodeOf(r)).toBe(code));
});

describe("refOfTask", () => {
  it("decodes keys and names the bad ones", () => {
    expect(refOfTask({ taskId: "t", s3BucketArn: "arn:aws:s3:::data-bucket", s3Key: "a+b%2Fc" })).toEqual({
      kind: "s3",
      bucket: "data-bucket",
      key: "a b/c",
    });
    expect(() => refOfTask({ taskId: "t", s3Bucket: "data-bucket", s3Key: "%E0" })).toThrow(
      /not valid URL encoding/,
    );
  });
});
