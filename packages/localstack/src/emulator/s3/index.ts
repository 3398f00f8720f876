/** The S3 half of the built-in emulator: REST XML, path-style, as the AWS SDK speaks it. */
export { createS3Service } from "./service.js";
export type { S3ServiceOptions } from "./service.js";
