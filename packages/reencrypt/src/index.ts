/**
 * @rekey/reencrypt — the batch job that moves stored rekey data onto the current KMS key
 * material, or onto the key an alias now points at, after a rotation: plan (header reads),
 * rewrap (one KMS ReEncrypt per object, payload untouched, large objects copied server-side) or
 * full re-encrypt, with conditional writes, verification, rate limits, checkpoint and resume.
 */
export { runJob, checkConcurrency, type TargetListener } from "./runner/run-job.js";
export { planJob } from "./runner/plan-job.js";
export type { JobOptions, JobSource } from "./runner/job-options.js";
export {
  createJobContext,
  JOB_DEFAULTS,
  MIN_PART_BYTES,
  type JobContext,
  type JobContextOptions,
  type JobHooks,
  type ObjectSettings,
  type VerifyLevel,
} from "./runner/job-context.js";
export {
  RunReportBuilder,
  EXIT_CODES,
  exitCodeOfStop,
  MAX_LISTED_FAILURES,
  type JobReport,
  type JobStop,
  type KeyStats,
  type ReportedFailure,
  type ServiceRequests,
} from "./runner/job-report.js";
export { PlanReportBuilder, PLAN_CLASSES, type PlanReport, type ClassStats } from "./runner/plan-report.js";
export { summarizeTarget, type TargetSummary } from "./runner/target-summary.js";
export { openSource } from "./runner/open-source.js";

export { planObject } from "./runner/plan-object.js";
export { planHead, type PlanInput } from "./planning/plan-object.js";
export {
  classifyPrefix,
  keysToLookUp,
  type ClassifyInput,
  type Classification,
  type EntryFilters,
} from "./planning/classify-prefix.js";
export type { ObjectPlan, PlanClass, EntryAction, Recipient } from "./model/object-plan.js";
export { completePrefix, DEFAULT_HEADER_READ_BYTES, type PrefixRead } from "./planning/read-prefix.js";

export { processObject, planFailure } from "./runner/process-object.js";
export { runObject } from "./runner/run-object.js";
export {
  OBJECT_OUTCOMES,
  SUCCESS_OUTCOMES,
  type ObjectOutcome,
  type ObjectResult,
} from "./model/object-result.js";
export { rewrapEntries, type RewrappedPrefix } from "./operations/rewrap-entries.js";
export { verifyPrefix, type ExpectedPrefix } from "./operations/verify-prefix.js";
export { sameBytes } from "./support/bytes.js";

export {
  DEFAULT_PROBE_PREFIX,
  describeCapabilities,
  honoursConditionalWrites,
  probeS3Store,
  type StoreCapabilities,
} from "./stores/s3/probe-store.js";
export { StoreGuard, type StoreSafetyOptions, type S3WriteMode } from "./stores/s3/store-guard.js";
export { DEFAULT_MAX_KEY_FAILURES, KEY_WIDE_ERRORS } from "./runner/key-failures.js";
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
export { uploadStream, type UploadStreamOptions, type UploadedObject } from "./stores/s3/stream-upload.js";
export {
  multipartLayout,
  S3_MULTIPART,
  type PlannedPart,
  type MultipartLayoutInput,
} from "./stores/s3/multipart-layout.js";
export { attributesOf, encodeTagging, type S3ObjectAttributes } from "./stores/s3/object-attributes.js";
export {
  s3Send,
  getObjectBytes,
  type S3Runtime,
  type S3SendOptions,
  type ObjectBytes,
} from "./stores/s3/s3-runtime.js";
export { createUpload, abortUpload } from "./stores/s3/multipart-upload.js";
export { SOURCE_VERSION_METADATA } from "./stores/s3/object-attributes.js";
export { DirStore, TEMP_SUFFIX } from "./stores/dir/dir-store.js";

export { s3Source, type S3SourceOptions } from "./sources/s3-source.js";
export { manifestSource, splitCsvLine, type ManifestSourceOptions } from "./sources/manifest-source.js";
export { dirSource } from "./sources/dir-source.js";
export { parseS3Url } from "./sources/source-spec.js";
export {
  refId,
  describeRef,
  type ObjectRef,
  type S3ObjectRef,
  type FileObjectRef,
  type InvalidSourceEntry,
  type SourceEntry,
  type ObjectSource,
} from "./model/object-ref.js";

export { parseTargetSpec, formatTargetSpec, type TargetSpec } from "./kms/target-spec.js";
export { resolveTarget, type ResolvedTarget } from "./kms/resolve-target.js";
export { MaterialCache, type KeyMaterialInfo } from "./kms/material-cache.js";
export {
  clientKmsScope,
  describeKmsScope,
  inKmsScope,
  partitionOfRegion,
  scopedKeyArns,
  scopeOfArn,
  targetScope,
  type KmsScope,
} from "./kms/kms-scope.js";
export type { ResolveTargetOptions } from "./kms/resolve-target.js";

export { createRateLimiter, type RateLimiter, type RateLimiterOptions } from "./support/rate-limiter.js";
export {
  retry,
  isRetryableError,
  isTransientFailure,
  DEFAULT_RETRY,
  type RetryOptions,
  type RetryCallOptions,
  type RetryEvent,
} from "./support/retry.js";
export {
  openCheckpoint,
  type Checkpoint,
  type CheckpointHeader,
  type CheckpointLine,
  type CheckpointOptions,
} from "./runner/checkpoint.js";
export { driveSource, type DriveOptions } from "./runner/drive-source.js";
export { JobCounters, type ByteCounts, type RequestCounts } from "./support/job-counters.js";
export { jobKmsOf, type JobKmsApi, type JobKmsClient } from "./kms/job-kms.js";
export { limitedKms, type LimitedKmsOptions } from "./kms/limited-kms.js";
export { parseShard, inShard, type Shard } from "./runner/shard.js";
export { sleep, abortedError } from "./support/sleep.js";

export {
  batchOperationsHandler,
  resultCodeOf,
  refOfTask,
  BATCH_OPERATIONS_RETRY,
  type BatchOperationsHandlerOptions,
  type BatchOperationsEvent,
  type BatchOperationsTask,
  type BatchOperationsResponse,
  type BatchResultCode,
} from "./lambda/batch-operations-handler.js";

export { JobError, describeError, awsErrorNameOf, type JobErrorCode } from "./errors.js";

export {
  auditKeys,
  type AuditOptions,
  type AuditedKey,
  type AuditReport,
  type AuditSummary,
} from "./keys/audit-keys.js";
export {
  classifyKey,
  keyScope,
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
  parseTerraformPlan,
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
export { comparePolicies, type PolicyComparison, type AccessGap } from "./keys/compare-policies.js";
export {
  createSuccessorKey,
  type SuccessorKey,
  type CreateSuccessorKeyOptions,
} from "./keys/create-successor-key.js";
export {
  cutoverAlias,
  type CutoverOptions,
  type CutoverRecord,
  type CutoverResult,
  type CutoverResume,
  type CutoverRewrapRequest,
} from "./keys/cutover-alias.js";
export { waitForAlias, type WaitForAliasOptions, type AliasReadBack } from "./keys/wait-for-alias.js";
export { kmsAdminOf, type KmsAdminApi, type KmsAdminClient } from "./keys/kms-admin.js";
export { KeyToolError, type KeyToolErrorCode } from "./keys/errors.js";
