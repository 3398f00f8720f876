/** @rekey/localstack: one KMS and S3 endpoint for tests. */
export { ENDPOINT_PROBE_TIMEOUT_MS, startLocalAws } from "./adapter.js";
export { LOCAL_AWS_ERROR_CODES, LocalAwsError } from "./errors.js";
export type { LocalAwsErrorCode } from "./errors.js";
export { LOCALSTACK_IMAGE } from "./localstack.js";
export { BROKER_VARIABLE, startBackendBroker } from "./shared-backend.js";
export type { BackendBroker, BackendBrokerOptions, SharedChoice } from "./shared-backend.js";
export type {
  LocalAws,
  LocalAwsBackend,
  LocalAwsCapabilities,
  LocalAwsCapability,
  LocalAwsCredentials,
  StartLocalAwsOptions,
} from "./adapter.js";
export { ManualClock } from "./emulator/clock.js";
export type { ClockListener, ManualClockOptions } from "./emulator/clock.js";
export type { EmulatorClock, FaultGate, InjectedFault, ServiceHandler } from "./emulator/contracts.js";
export { FAULT_GROUPS, FaultInjector } from "./emulator/faults.js";
export type { EmulatedService, FaultErrorKind, FaultInjectorOptions, FaultRule } from "./emulator/faults.js";
export type { CiphertextHeader } from "./emulator/kms/ciphertext.js";
export type { KmsInspector } from "./emulator/kms/inspector.js";
export type { S3BucketBehavior, S3EmulatorControl, S3RequestInfo } from "./emulator/s3/index.js";
export { startEmulator } from "./emulator/server.js";
export type { EmulatorOptions, RunningEmulator } from "./emulator/server.js";
