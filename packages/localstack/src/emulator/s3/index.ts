/** The S3 half of the built-in emulator: REST XML, path-style, as the AWS SDK speaks it. */
export { createS3Service } from "./service.js";
export type { S3ServiceOptions } from "./service.js";
export { HONOURING_BUCKET, S3Control } from "./control.js";
export type { S3BucketBehavior, S3EmulatorControl, S3RequestInfo } from "./control.js";
