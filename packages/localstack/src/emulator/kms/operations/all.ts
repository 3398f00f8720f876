/**
 * Every KMS operation the emulator implements, by name (the part of `X-Amz-Target` after
 * `TrentService.`). The HTTP handler and the in-process fake dispatch through this one table,
 * so both answer with the same model of KMS.
 */
import { accessOperations } from "./access.js";
import { aliasOperations } from "./aliases.js";
import { cryptoOperations } from "./crypto.js";
import { keyOperations } from "./keys.js";
import { rotationOperations } from "./rotation.js";
import type { Operation } from "./types.js";

/** The operations by name. */
export const KMS_OPERATIONS: ReadonlyMap<string, Operation> = new Map(
  Object.entries({
    ...keyOperations,
    ...aliasOperations,
    ...cryptoOperations,
    ...rotationOperations,
    ...accessOperations,
  }),
);
