/** @rekey/localstack: one KMS and S3 endpoint for tests. */
export type { EmulatorClock, FaultGate, InjectedFault } from "./emulator/contracts.js";
