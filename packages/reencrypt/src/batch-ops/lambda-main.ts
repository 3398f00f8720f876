/**
 * The entry point bundled into the Lambda zip (`pnpm bundle:lambda`): the function's handler
 * is `index.handler`.
 */
import { batchOperationsEntry } from "./lambda-entry.js";

/** The Lambda handler, configured from the function's environment. */
export const handler = batchOperationsEntry(process.env);
