/**
 * Everything processing one object needs, built once per job (or once per Lambda container):
 * the rate-limited KMS client, the S3 runtime, the resolved target, the material cache, the
 * settings, the cancellation signal and the hooks. `planObject` and `processObject` take it
 * unchanged from any driver — the local job, a sharded worker, an S3 Batch Operations handler.
 */
import { setMaxListeners } from "node:events";
import type { S3Client } from "@aws-sdk/client-s3";
import type { FormatLimits, Keyring, KmsCallListener } from "@rekey/core";
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { EntryFilters } from "../planning/classify-prefix.js";
import { DEFAULT_HEADER_READ_BYTES } from "../planning/read-prefix.js";
import type { ObjectResult } from "../model/object-result.js";
import { JobCounters } from "../support/job-counters.js";
import { jobKmsOf, type JobKmsApi, type JobKmsClient } from "../kms/job-kms.js";
import { limitedKms } from "../kms/limited-kms.js";
import { createRateLimiter } from "../support/rate-limiter.js";
import type { RetryOptions } from "../support/retry.js";
import type { S3Runtime } from "../stores/s3/s3-runtime.js";
import type { StoreSafetyOptions } from "../stores/s3/store-guard.js";
import type { StoreCapabilities } from "../stores/s3/probe-store.js";
import { S3Store } from "../stores/s3/s3-store.js";
import { DirStore } from "../stores/dir/dir-store.js";
import { PgStore } from "../stores/pg/pg-store.js";
import type { PgTable } from "../stores/pg/pg-table.js";
import type { PgRuntime } from "../stores/pg/pg-query.js";
import type { ObjectRef } from "../model/object-ref.js";
import type { ObjectStore } from "../model/object-store.js";
import type { OperationContext, VerifyLevel } from "../operations/operation-context.js";
import { MaterialCache } from "../kms/material-cache.js";
import { describeKmsScope, inKmsScope, targetScope, type KmsScope } from "../kms/kms-scope.js";
import { resolveTarget, type ResolvedTarget } from "../kms/resolve-target.js";
import { parseTargetSpec, type TargetSpec } from "../kms/target-spec.js";

const MiB = 1024 * 1024;

/** Smallest S3 part (all parts but the last). */
export const MIN_PART_BYTES = 5 * MiB;

/** Job defaults. */
export const JOB_DEFAULTS = {
  /** Objects in flight: enough to hide KMS and S3 latency on 2 cores. */
  concurrency: 16,
  /** KMS requests per second: a tenth of the smallest default shared KMS quota (10,000/s). */
  kmsRps: 1000,
  /** Objects above this size are rewrapped with multipart `UploadPartCopy`. */
  multipartThreshold: 16 * MiB,
  /** Size of each server-side copied part. */
  copyPartBytes: 256 * MiB,
  /** Part size of the streaming upload of a full re-encrypt (memory per object in flight). */
  uploadPartBytes: 8 * MiB,
} as const;

export type { VerifyLevel };

/** Hooks into the life of each object, for metrics, logs and tests. */
export interface JobHooks {
  /** Every KMS call made by rewrap and verification (core's event). */
  readonly onKmsCall?: KmsCallListener;
  /** After an object is planned and before it is processed; awaited. */
  readonly afterPlan?: (plan: ObjectPlan) => void | Promise<void>;
  /** After an object is finished. */
  readonly onResult?: (result: ObjectResult) => void;
  /** A store was probed before the job's first write there (what it honours). */
  readonly onStoreProbed?: (capabilities: StoreCapabilities) => void;
}

/** Per-object settings. */
export interface ObjectSettings {
  readonly mode: "rewrap" | "reencrypt";
  readonly verify: VerifyLevel;
  readonly filters: EntryFilters;
  readonly includeCurrent: boolean;
  readonly multipartThreshold: number;
  readonly copyPartBytes: number;
  readonly uploadPartBytes: number;
  readonly headerReadBytes: number;
  readonly limits?: Partial<FormatLimits>;
}

/** What one object's plan and processing need. */
export interface JobContext extends OperationContext {
  /** Rate-limited, counted, retried KMS. */
  readonly kms: JobKmsApi;
  /** The S3 store, when the job was given an S3 client. */
  readonly s3?: S3Store;
  /** The PostgreSQL store, when the job was given a table. */
  readonly rows?: PgStore;
  /** The store of an object: S3 for `s3` references, the directory store for files, rows' own. */
  storeFor(ref: ObjectRef): ObjectStore;
  readonly target: ResolvedTarget;
  readonly materials: MaterialCache;
  readonly counters: JobCounters;
  readonly settings: ObjectSettings;
  /** Aborts in-flight work (reads, KMS calls, uploads; multipart uploads are aborted). */
  readonly signal?: AbortSignal;
  /** Decrypts entries that are not `aws-kms` (e.g. a `RawAesKeyring`) for a full re-encrypt. */
  readonly decryptKeyring?: Keyring;
  readonly hooks: JobHooks;
}

/** Options of {@link createJobContext}. */
export interface JobContextOptions extends StoreSafetyOptions {
  /** A `KMSClient` or a {@link JobKmsApi}. The job retries itself: give SDK clients `maxAttempts: 1`. */
  readonly kms: JobKmsClient;
  /** An `S3Client` (with `forcePathStyle` when it talks to an emulator). Required for S3 objects. */
  readonly s3?: S3Client;
  /** An opened, checked table (`openPgTable`). Required for `row` objects; closed by its opener. */
  readonly postgres?: PgTable;
  /** `current`, `alias:NAME`, `key:ARN`, or a parsed spec. */
  readonly target: string | TargetSpec;
  /**
   * The partition and Region the KMS client reaches. Only entries under keys there are
   * moved; entries under keys elsewhere (multi-Region or DR copies) are kept as they are and
   * never sent to KMS. For `alias:`/`key:` targets it must match the target key (which sets it).
   * @default the target key's; for `current`, the `KMSClient`'s Region
   */
  readonly kmsScope?: Partial<KmsScope>;
  /** `rewrap` moves wrapped keys only; `reencrypt` makes a new data key. @default "rewrap" */
  readonly mode?: "rewrap" | "reencrypt";
  /** Only move entries under these key ARNs. @default all */
  readonly fromKeys?: readonly string[];
  /** Only move entries whose material differs from their key's current one. @default false */
  readonly olderThanMaterial?: boolean;
  /** With `mode: "reencrypt"`, also re-encrypt objects already on the target. @default false */
  readonly includeCurrent?: boolean;
  /** See {@link VerifyLevel}. @default "etag" */
  readonly verify?: VerifyLevel;
  /** KMS requests per second for the whole job; `Infinity` for no cap. @default 1000 */
  readonly kmsRps?: number;
  /** Token-bucket burst. @default ceil(kmsRps / 10) */
  readonly kmsBurst?: number;
  /** Backoff of KMS, S3 and PostgreSQL retries. @default DEFAULT_RETRY (10 attempts, 50 ms base, 5 s cap) */
  readonly retry?: RetryOptions;
  /** Multipart threshold in bytes; must be above 5 MiB. @default 16 MiB */
  readonly multipartThreshold?: number;
  /** Server-side copy part size (5 MiB – 5 GiB). @default 256 MiB */
  readonly copyPartBytes?: number;
  /** Upload part size of a full re-encrypt (≥ 5 MiB). @default 8 MiB */
  readonly uploadPartBytes?: number;
  /** First header read. @default 4096 */
  readonly headerReadBytes?: number;
  /** Format limits for reading headers. @default core's DEFAULT_LIMITS */
  readonly limits?: Partial<FormatLimits>;
  readonly decryptKeyring?: Keyring;
  readonly hooks?: JobHooks;
  readonly signal?: AbortSignal;
  /** Shared counters (a driver that reports across contexts). @default new counters */
  readonly counters?: JobCounters;
}

/**
 * Builds a {@link JobContext}: validates options and resolves the target (one `DescribeKey`,
 * plus `ListAliases` for an alias).
 *
 * @example
 * ```ts
 * const ctx = await createJobContext({ kms, s3, target: "alias:app-data" });
 * const plan = await planObject({ kind: "s3", bucket, key }, ctx);
 * const result = await processObject(plan, ctx);
 * ```
 */
export async function createJobContext(options: JobContextOptions): Promise<JobContext> {
  const spec = typeof options.target === "string" ? parseTargetSpec(options.target) : options.target;
  const threshold = options.multipartThreshold ?? JOB_DEFAULTS.multipartThreshold;
  if (!(threshold > MIN_PART_BYTES))
    throw new JobError("ERR_JOB_INVALID_OPTION", `multipartThreshold must be above 5 MiB, got ${threshold}`);
  const copyPart = options.copyPartBytes ?? JOB_DEFAULTS.copyPartBytes;
  if (!(copyPart >= MIN_PART_BYTES && copyPart <= 5 * 1024 * MiB))
    throw new JobError(
      "ERR_JOB_INVALID_OPTION",
      `copyPartBytes must be within 5 MiB – 5 GiB, got ${copyPart}`,
    );
  const uploadPart = options.uploadPartBytes ?? JOB_DEFAULTS.uploadPartBytes;
  if (!(uploadPart >= MIN_PART_BYTES))
    throw new JobError("ERR_JOB_INVALID_OPTION", `uploadPartBytes must be at least 5 MiB, got ${uploadPart}`);
  const rps = options.kmsRps ?? JOB_DEFAULTS.kmsRps;
  if (!(rps > 0)) throw new JobError("ERR_JOB_INVALID_OPTION", `kmsRps must be > 0, got ${rps}`);
  const headerRead = options.headerReadBytes ?? DEFAULT_HEADER_READ_BYTES;
  if (!(Number.isInteger(headerRead) && headerRead >= 64))
    throw new JobError(
      "ERR_JOB_INVALID_OPTION",
      `headerReadBytes must be an integer ≥ 64, got ${headerRead}`,
    );
  for (const arn of options.fromKeys ?? [])
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(arn))
      throw new JobError("ERR_JOB_INVALID_OPTION", `--from-key takes key ARNs, got "${arn}"`);

  // Every in-flight request listens on the job's signal; with a bounded queue that is bounded
  // too, but above Node's default warning threshold of 10.
  if (options.signal) setMaxListeners(0, options.signal);
  const counters = options.counters ?? new JobCounters();
  const kms = limitedKms(jobKmsOf(options.kms), {
    limiter: createRateLimiter({
      ratePerSecond: rps,
      ...(options.kmsBurst !== undefined ? { burst: options.kmsBurst } : {}),
    }),
    counters,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.hooks?.onKmsCall ? { onKmsCall: options.hooks.onKmsCall } : {}),
  });
  const target = await resolveTarget(spec, kms, options.signal, {
    client: options.kms,
    ...(options.kmsScope ? { scope: options.kmsScope } : {}),
  });
  const scope = targetScope(target);
  for (const arn of options.fromKeys ?? [])
    if (scope && !inKmsScope(arn, scope))
      throw new JobError(
        "ERR_JOB_INVALID_OPTION",
        `--from-key ${arn} is outside ${describeKmsScope(scope)}, where this job's KMS client reaches: run the job in that Region`,
      );
  const materials = new MaterialCache(kms, options.signal);
  if (target.kind !== "current")
    materials.seed(target.keyArn, { currentKeyMaterialId: target.currentKeyMaterialId, keyState: "Enabled" });
  const settings: ObjectSettings = {
    mode: options.mode ?? "rewrap",
    verify: options.verify ?? "etag",
    filters: {
      olderThanMaterial: options.olderThanMaterial ?? false,
      ...(options.fromKeys?.length ? { fromKeys: new Set(options.fromKeys) } : {}),
    },
    includeCurrent: options.includeCurrent ?? false,
    multipartThreshold: threshold,
    copyPartBytes: copyPart,
    uploadPartBytes: uploadPart,
    headerReadBytes: headerRead,
    ...(options.limits ? { limits: options.limits } : {}),
  };
  const s3 = options.s3
    ? new S3Store(
        {
          client: options.s3,
          counters,
          ...(options.retry ? { retry: options.retry } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        } satisfies S3Runtime,
        Object.assign(
          {},
          settings,
          options.writersStopped !== undefined ? { writersStopped: options.writersStopped } : undefined,
          options.probePrefix !== undefined ? { probePrefix: options.probePrefix } : undefined,
          options.hooks?.onStoreProbed ? { onProbed: options.hooks.onStoreProbed } : undefined,
        ),
      )
    : undefined;
  const dir = new DirStore(counters, settings);
  const rows = options.postgres
    ? new PgStore(
        {
          table: options.postgres,
          counters,
          ...(options.retry ? { retry: options.retry } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        } satisfies PgRuntime,
        settings,
      )
    : undefined;
  return {
    kms,
    ...(s3 ? { s3 } : {}),
    ...(rows ? { rows } : {}),
    storeFor(ref: ObjectRef): ObjectStore {
      if (ref.kind === "file") return dir;
      if (ref.kind === "row") {
        if (!rows)
          throw new JobError("ERR_JOB_INVALID_OPTION", "a row needs a PostgreSQL table in the job options");
        return rows;
      }
      if (!s3)
        throw new JobError("ERR_JOB_INVALID_OPTION", "an S3 object needs an S3 client in the job options");
      return s3;
    },
    target,
    materials,
    counters,
    settings,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.decryptKeyring ? { decryptKeyring: options.decryptKeyring } : {}),
    hooks: options.hooks ?? {},
  };
}
