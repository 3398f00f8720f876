/**
 * Racing the job from inside its KMS client: a writer that acts while the job waits on one
 * object's `ReEncrypt`, so the object changes between the job's reads and its write.
 */
import type { KMSClient } from "@aws-sdk/client-kms";

/**
 * Adds a middleware to `kms` that awaits `race` after the `ReEncrypt` of the object `objectKey`
 * (recognised by its encryption context's `key`, as the test helpers write it), and only then
 * hands the answer back to the job.
 *
 * @example
 * ```ts
 * raceAfterReEncryptOf(jobKms, "raced.rkey", () => putEncrypted(s3, kms, bucket, "raced.rkey", o));
 * ```
 */
export function raceAfterReEncryptOf(kms: KMSClient, objectKey: string, race: () => Promise<unknown>): void {
  kms.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const input = args.input as { SourceEncryptionContext?: Record<string, string> };
      if (context.commandName === "ReEncryptCommand" && input.SourceEncryptionContext?.["key"] === objectKey)
        await race();
      return out;
    },
    { step: "initialize", name: "raceAfterReEncrypt" },
  );
}
