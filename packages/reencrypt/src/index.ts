/**
 * @rekey/reencrypt — the batch job that moves stored rekey data onto the current KMS key
 * material, or onto the key an alias now points at, after a rotation: plan (header reads),
 * rewrap (one KMS ReEncrypt per object, payload untouched, large objects copied server-side) or
 * full re-encrypt, with conditional writes, verification, rate limits, checkpoint and resume;
 * the stores it runs over (S3, a local directory) behind one interface; the S3 Batch Operations
 * handler; and the key tooling (rotation audit, on-demand rotation, alias cutover).
 *
 * Everything else in the package is internal and may change.
 */

// The job: run or plan it, or drive one object at a time
export { runJob, type TargetListener } from "./runner/run-job.js";
export { planJob } from "./runner/plan-job.js";
export type { JobOptions, JobSource } from "./runner/job-options.js";
export {
  createJobContext,
  JOB_DEFAULTS,
  type JobContext,
  type JobContextOptions,
  type JobHooks,
  type ObjectSettings,
  type VerifyLevel,
} from "./runner/job-context.js";
export {
  EXIT_CODES,
  type JobReport,
  type JobStop,
  type KeyStats,
  type ReportedFailure,
  type ServiceRequests,
} from "./runner/job-report.js";
export { PLAN_CLASSES, type PlanReport, type ClassStats } from "./runner/plan-report.js";
export type { TargetSummary } from "./runner/target-summary.js";
export type { ObjectPlan, PlanClass, EntryAction, Recipient } from "./model/object-plan.js";
export { runObject } from "./runner/run-object.js";
export { OBJECT_OUTCOMES, type ObjectOutcome, type ObjectResult } from "./model/object-result.js";
export type { CheckpointOptions } from "./runner/checkpoint.js";
export type { Shard } from "./runner/shard.js";

// Stores and the operations written against them
export type { PrefixRead } from "./planning/read-prefix.js";
export { DEFAULT_PROBE_PREFIX, probeS3Store, type StoreCapabilities } from "./stores/s3/probe-store.js";
export type { StoreSafetyOptions } from "./stores/s3/store-guard.js";
export { S3Store, type S3StoreOptions } from "./stores/s3/s3-store.js";
export { rewrapObject } from "./operations/rewrap.js";
export { reencryptObject } from "./operations/reencrypt.js";
export type {
  ObjectStore,
  StoredHead,
  WrittenVersion,
  StoreWriteMode,
  HeadBytes,
  HeadReadSettings,
} from "./model/object-store.js";
export type { S3ObjectAttributes } from "./stores/s3/object-attributes.js";
export type { S3Runtime } from "./stores/s3/s3-runtime.js";
export { DirStore } from "./stores/dir/dir-store.js";
export { PgStore } from "./stores/pg/pg-store.js";
export type { PgRuntime } from "./stores/pg/pg-query.js";
export type { RowBatchSettings } from "./stores/pg/row-batcher.js";
export {
  openPgTable,
  type OpenPgTableOptions,
  type PgTable,
  type PgTableSpec,
  type PgValueEncoding,
} from "./stores/pg/pg-table.js";

// Sources
export { s3Source, type S3SourceOptions } from "./sources/s3-source.js";
export { manifestSource, type ManifestSourceOptions } from "./sources/manifest-source.js";
export type { SourceFilterOptions } from "./sources/source-filter.js";
export { dirSource } from "./sources/dir-source.js";
export { pgRowSource, type PgRowSourceOptions } from "./sources/pg-source.js";
export type {
  ObjectRef,
  S3ObjectRef,
  FileObjectRef,
  RowObjectRef,
  InvalidSourceEntry,
  SourceEntry,
  ObjectSource,
} from "./model/object-ref.js";

// Targets and KMS
export { JobCounters, type ByteCounts, type RequestCounts } from "./support/job-counters.js";
export type { TargetSpec } from "./kms/target-spec.js";
export type { ResolvedTarget } from "./kms/resolve-target.js";
export type { KmsScope } from "./kms/kms-scope.js";
export type { RetryOptions } from "./support/retry.js";
export type { JobKmsApi, JobKmsClient } from "./kms/job-kms.js";

// S3 Batch Operations
export {
  batchOperationsHandler,
  resultCodeOf,
  type BatchOperationsHandlerOptions,
  type BatchOperationsEvent,
  type BatchOperationsTask,
  type BatchOperationsResponse,
  type BatchResultCode,
} from "./lambda/batch-operations-handler.js";

// Errors
export {
  JobError,
  type CliErrorCode,
  type ErrorCode,
  type FileErrorCode,
  type JobErrorCode,
} from "./errors.js";

// Key tooling
export {
  auditKeys,
  type AuditOptions,
  type AuditedKey,
  type AuditReport,
  type AuditSummary,
} from "./keys/audit-keys.js";
export {
  DEFAULT_ROTATION_PERIOD_DAYS,
  type KeyFacts,
  type KeyScope,
  type Finding,
  type FindingCode,
  type AuditPolicy,
  type KeyClassification,
  type OutOfScopeReason,
} from "./keys/classify-key.js";
export {
  planRotationFix,
  type RotationFixOptions,
  type RotationFixPlan,
  type RotationFixChange,
} from "./keys/plan-rotation-fix.js";
export {
  applyRotationFix,
  type ApplyRotationFixOptions,
  type RotationFixResult,
} from "./keys/apply-rotation-fix.js";
export {
  checkTerraformPlan,
  type TerraformCheckOptions,
  type TerraformCheckResult,
  type TerraformKeyVerdict,
  type TerraformFindingCode,
} from "./keys/check-terraform-plan.js";
export { rotateAndWait, type RotateAndWaitOptions, type RotationOutcome } from "./keys/rotate-and-wait.js";
export { keyRotationStatus, type KeyRotationStatus } from "./keys/key-rotation-status.js";
export {
  preflightCutover,
  type PreflightCutoverOptions,
  type CutoverPreflight,
  type PreflightCheck,
  type CheckStatus,
  type CutoverTarget,
} from "./keys/preflight-cutover.js";
export type { PolicyComparison, AccessGap } from "./keys/compare-policies.js";
export {
  createSuccessorKey,
  type SuccessorKey,
  type CreateSuccessorKeyOptions,
} from "./keys/create-successor-key.js";
export {
  cutoverAlias,
  type CutoverChange,
  type CutoverOptions,
  type CutoverRecord,
  type CutoverResult,
  type CutoverResume,
  type CutoverRewrapRequest,
} from "./keys/cutover-alias.js";
export { waitForAlias, type WaitForAliasOptions, type AliasReadBack } from "./keys/wait-for-alias.js";
export { kmsAdminOf, type KmsAdminApi, type KmsAdminClient, type KmsAdminOptions } from "./keys/kms-admin.js";
export { KeyToolError, type KeyToolErrorCode } from "./keys/errors.js";
