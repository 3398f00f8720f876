/**
 * The plan of one object: what it is (class), what to do with each of its wrapped keys, and what
 * was read to decide (version token, size, attributes, the header itself). `processObject`
 * carries the plan out without reading the header again.
 */
import type { EsdkHeader, MessagePrefix } from "@rekey/core";
import type { ObjectRef } from "./object-ref.js";

/**
 * The classes of the plan:
 * - `current`: already on the target (every selected KMS entry is under the target key, on the
 *   material KMS reports as current); nothing to do, no KMS call;
 * - `rewrap`: one KMS `ReEncrypt` per entry to move; the payload stays byte for byte;
 * - `reencrypt`: a full re-encrypt (requested with `mode: "reencrypt"`, or no KMS entry to rewrap);
 * - `esdk`: an AWS Encryption SDK message: a full re-encrypt (mode `reencrypt`) migrates it to a
 *   rekey message under the target; `rewrap` cannot move it and leaves it alone;
 * - `foreign`: neither a rekey nor an ESDK message, left alone;
 * - `unreadable`: starts like a rekey message but its header does not parse, left alone;
 * - `skipped`: not selected by `fromKeys` / `olderThanMaterial`.
 */
export type PlanClass = "current" | "rewrap" | "reencrypt" | "esdk" | "foreign" | "unreadable" | "skipped";

/** What happens to one wrapped-key entry. */
export type EntryAction =
  /** Kept byte for byte. */
  | { readonly kind: "keep" }
  /** Removed: another entry of the same data key stays under the target. */
  | { readonly kind: "drop" }
  /** Moved with one KMS `ReEncrypt` onto `destinationKeyId` (a key ARN). */
  | { readonly kind: "rewrap"; readonly destinationKeyId: string; readonly requestedKeyId: string };

/** A key a full re-encrypt wraps the new data key for. */
export interface Recipient {
  readonly keyArn: string;
  /** Recorded as the entry's requested key id (an alias name keeps alias keyrings matching). */
  readonly requestedKeyId: string;
}

/** The plan of one object. */
export interface ObjectPlan {
  readonly ref: ObjectRef;
  readonly class: PlanClass;
  /** One line on why. */
  readonly reason: string;
  /** Stable error code when the class is `unreadable`. */
  readonly code?: string;
  /** Object size in bytes (0 when unknown). */
  readonly size: number;
  /** Version token the write is conditional on: the S3 ETag, or a file fingerprint. */
  readonly etag?: string;
  /** The S3 version read, when the bucket is versioned. */
  readonly versionId?: string;
  /** Header and wrapped keys (rekey objects only). */
  readonly prefix?: MessagePrefix;
  /**
   * The AWS Encryption SDK header (class `esdk`): suite, encrypted data keys and their key ARNs,
   * encryption context, frame length.
   */
  readonly esdk?: EsdkHeader;
  /**
   * The bytes `prefix` (or `esdk`) was parsed from, the whole header: every later read of the
   * object is compared with them before it is used.
   */
  readonly headBytes?: Uint8Array;
  /** Per entry of `prefix.entries`, in order (class `rewrap`). */
  readonly actions: readonly EntryAction[];
  /** Who the new data key is wrapped for, primary first (class `reencrypt`; `esdk` in mode `reencrypt`). */
  readonly recipients: readonly Recipient[];
  /** Key ARNs of the object's KMS entries. */
  readonly sourceKeyArns: readonly string[];
  /** Key material ids of the object's KMS entries (`undefined` when not recorded), same order. */
  readonly sourceMaterialIds: readonly (string | undefined)[];
  /**
   * True when an entry is under the target key but its material cannot be compared (the backend
   * reports no material ids): it is rewrapped because it cannot be proved current.
   */
  readonly materialUnproven: boolean;
  /** KMS calls processing will make (ReEncrypt per moved entry; for re-encrypt, decrypt + wraps). */
  readonly kmsCalls: number;
  /**
   * KMS entries under keys outside the job's KMS scope (another Region or account: multi-Region
   * or DR copies), kept byte for byte and never sent to the job's KMS client.
   */
  readonly keptEntries: number;
  /** The whole object, when the header read already covered it (saves a GET for small objects). */
  readonly whole?: Uint8Array;
  /** What the store keeps with the object (S3 metadata and tags, a file's mode): the store's own. */
  readonly attributes?: unknown;
}
