/** The outcome of one object, as reported, checkpointed and passed to hooks. */
import type { ObjectRef } from "./object-ref.js";
import type { PlanClass } from "./object-plan.js";

/**
 * How an object ended:
 * - `rewrapped` / `reencrypted`: written, verified, on the target;
 * - `current`: already on the target, untouched;
 * - `conflict`: another writer changed or deleted it since it was read; left as they made it;
 * - `esdk`: an AWS Encryption SDK message `rewrap` cannot move (run `reencrypt` to migrate it);
 * - `foreign`: neither a rekey nor an ESDK message; `unreadable`: a corrupt header or a message
 *   that does not decrypt; all three untouched;
 * - `failed`: an error (KMS refused, S3 kept failing, verification failed); the object is
 *   unchanged or, if the failure came after the write, still a valid message;
 * - `skipped`: not selected by the entry filters.
 */
export type ObjectOutcome =
  | "rewrapped"
  | "reencrypted"
  | "current"
  | "conflict"
  | "esdk"
  | "foreign"
  | "unreadable"
  | "failed"
  | "skipped";

/** Every outcome, in report order. */
export const OBJECT_OUTCOMES: readonly ObjectOutcome[] = [
  "rewrapped",
  "reencrypted",
  "current",
  "conflict",
  "esdk",
  "foreign",
  "unreadable",
  "failed",
  "skipped",
];

/** Outcomes that leave the object on the target. */
export const SUCCESS_OUTCOMES: ReadonlySet<ObjectOutcome> = new Set(["rewrapped", "reencrypted", "current"]);

/** The result of one object. */
export interface ObjectResult {
  readonly ref: ObjectRef;
  readonly outcome: ObjectOutcome;
  /** The plan's class (what the object was before); `unplanned` when its header could not be read. */
  readonly planClass: PlanClass | "unplanned";
  /** One line: why this outcome. */
  readonly reason: string;
  /** Stable code of a failure (`ERR_KMS`, `ERR_JOB_CONFLICT`, …). */
  readonly code?: string;
  /** Name of the AWS error behind a failure (`DisabledException`, `SlowDown`, `NoSuchKey`, …). */
  readonly errorName?: string;
  /**
   * A failure a later attempt may get past (throttling, 5xx, network): what the job's own
   * retries ran out on. Absent for failures that will not pass by themselves.
   */
  readonly transient?: boolean;
  /** Object size before. */
  readonly size: number;
  /** ETag (or file fingerprint) of what the job wrote. */
  readonly newEtag?: string;
  /** S3 version the job wrote (versioned buckets). */
  readonly newVersionId?: string;
  readonly sourceKeyArns: readonly string[];
  readonly sourceMaterialIds: readonly (string | undefined)[];
  /** The plan could not prove the object current (no material ids) and moved it. */
  readonly materialUnproven: boolean;
  /**
   * Written to a store that ignores conditional writes (allowed because every writer was said to
   * be stopped): re-read right before the write and read back after it, but not protected by the
   * store against a writer that was not stopped.
   */
  readonly unconditional?: boolean;
  /**
   * Encryption-context keys of a migrated AWS Encryption SDK message that the new message does
   * not carry: the ESDK's reserved `aws-crypto-` keys (its signing key), meaningless to rekey.
   */
  readonly droppedContextKeys?: readonly string[];
  /** KMS entries under keys outside the job's KMS scope, kept as they were. @default 0 */
  readonly keptEntries?: number;
  readonly durationMs: number;
}
