/** What an operation needs from the job: KMS, the target, counters, settings, hooks, cancellation. */
import type { FormatLimits, Keyring, KmsCallListener } from "@rekey/core";
import type { JobKmsApi } from "../kms/job-kms.js";
import type { MaterialCache } from "../kms/material-cache.js";
import type { ResolvedTarget } from "../kms/resolve-target.js";
import type { JobCounters } from "../support/job-counters.js";

/**
 * How a written object is verified before it counts as done:
 * - `header`: the new header is read back and must be byte for byte the prefix written, with the
 *   expected size;
 * - `etag`: when the store's answer proves the stored bytes (the ETag of a plain or SSE-S3
 *   single-PUT object is the MD5 of its bytes), no read is needed; else as `header`;
 * - `full`: `header`, then a streaming decrypt of the whole new object whose plaintext SHA-256
 *   must equal the original's — the original is decrypted before it is written, so an object
 *   damaged before the job is found `unreadable` and left alone.
 */
export type VerifyLevel = "etag" | "header" | "full";

/** The part of the job's context the operations use. */
export interface OperationContext {
  /** Rate-limited, counted, retried KMS. */
  readonly kms: JobKmsApi;
  readonly target: ResolvedTarget;
  /** Key material seen in KMS answers is recorded here. */
  readonly materials: MaterialCache;
  readonly counters: JobCounters;
  readonly settings: { readonly verify: VerifyLevel; readonly limits?: Partial<FormatLimits> };
  /** Aborts in-flight work. */
  readonly signal?: AbortSignal;
  /** Decrypts entries that are not `aws-kms` (e.g. a `RawAesKeyring`). */
  readonly decryptKeyring?: Keyring;
  readonly hooks: { readonly onKmsCall?: KmsCallListener };
}
