/**
 * The Lambda function of `deploy/batch-operations`: reads each invocation's settings from the
 * job's user arguments (over the function's environment), and runs the Batch Operations
 * handler for them — one handler (clients, target, store probes) per distinct settings, kept
 * for the container's life. Settings it cannot read fail every task of the invocation
 * permanently, with the reason, so the completion report says why; nothing is written.
 *
 * Environment: `REKEY_TARGET`, `REKEY_MODE`, `REKEY_VERIFY`, `REKEY_FROM_KEYS` (defaults of the
 * settings), `REKEY_KMS_RPS` (KMS requests per second of one container, default 100: the
 * function's reserved concurrency times this stays under the account's KMS quota),
 * `REKEY_PROBE_PREFIX`. With `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` set (an emulator), S3
 * is addressed path-style.
 */
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { describeError } from "../errors.js";
import {
  batchOperationsHandler,
  type BatchOperationsEvent,
  type BatchOperationsResponse,
} from "../lambda/batch-operations-handler.js";
import { defaultsOfEnv, settingsOfUserArguments, type BatchJobSettings } from "./job-settings.js";

/** KMS requests per second of one container when `REKEY_KMS_RPS` is not set. */
export const LAMBDA_DEFAULT_KMS_RPS = 100;

/**
 * Builds the function's handler from an environment.
 *
 * @example
 * ```ts
 * export const handler = batchOperationsEntry(process.env);
 * ```
 */
export function batchOperationsEntry(
  env: Readonly<Record<string, string | undefined>>,
): (event: BatchOperationsEvent) => Promise<BatchOperationsResponse> {
  const handlers = new Map<string, (event: BatchOperationsEvent) => Promise<BatchOperationsResponse>>();
  const rps = Number(env["REKEY_KMS_RPS"] ?? LAMBDA_DEFAULT_KMS_RPS);
  const custom = env["AWS_ENDPOINT_URL_S3"] ?? env["AWS_ENDPOINT_URL"];
  let clients: { kms: KMSClient; s3: S3Client } | undefined;
  const handlerFor = (settings: BatchJobSettings) => {
    const id = JSON.stringify(settings);
    let h = handlers.get(id);
    if (!h) {
      // The handler retries itself (and S3 Batch Operations retries it): one SDK attempt.
      clients ??= {
        kms: new KMSClient({ maxAttempts: 1 }),
        s3: new S3Client({ maxAttempts: 1, ...(custom ? { forcePathStyle: true } : {}) }),
      };
      h = batchOperationsHandler({
        ...clients,
        ...settings,
        kmsRps: Number.isFinite(rps) && rps > 0 ? rps : Infinity,
        ...(env["REKEY_PROBE_PREFIX"] ? { probePrefix: env["REKEY_PROBE_PREFIX"] } : {}),
      });
      handlers.set(id, h);
    }
    return h;
  };
  return async (event) => {
    let settings: BatchJobSettings;
    try {
      settings = settingsOfUserArguments(event.job?.userArguments ?? {}, defaultsOfEnv(env));
    } catch (e) {
      const reason = `the job's settings: ${describeError(e).reason}`;
      return {
        invocationSchemaVersion: "1.0",
        treatMissingKeysAs: "PermanentFailure",
        invocationId: event.invocationId,
        results: event.tasks.map((t) => ({
          taskId: t.taskId,
          resultCode: "PermanentFailure",
          resultString: reason,
        })),
      };
    }
    return handlerFor(settings)(event);
  };
}
