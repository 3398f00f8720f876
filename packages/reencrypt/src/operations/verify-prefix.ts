/**
 * Header verification of a written object: the bytes read back from the new object must be
 * exactly the prefix the job wrote (so every moved entry is the one KMS returned, under the
 * target), the header must be the original's byte for byte, and the size must be the new
 * prefix plus the unchanged body.
 */
import { decodeKmsEntry, isKmsEntry, parseMessagePrefix, type MessagePrefix } from "@rekey/core";
import { JobError } from "../errors.js";
import { sameBytes } from "../support/bytes.js";

/** What the written object must look like. */
export interface ExpectedPrefix {
  /** The prefix bytes written. */
  readonly bytes: Uint8Array;
  /** The object size written. */
  readonly size: number;
  /** Header bytes (authenticated part + tag) the object must keep (rewrap); omit for re-encrypt. */
  readonly header?: MessagePrefix["header"];
  /** Key ARNs every KMS entry must be under (some of them). */
  readonly keyArns: readonly string[];
}

/**
 * Throws `ERR_JOB_VERIFY` unless `readBack` (the first bytes of the written object) and
 * `actualSize` match what was written.
 *
 * @example
 * ```ts
 * verifyPrefix(readBackBytes, sizeFromContentRange, { bytes: newPrefix, size, header, keyArns: [target] });
 * ```
 */
export function verifyPrefix(readBack: Uint8Array, actualSize: number, expected: ExpectedPrefix): void {
  if (actualSize !== expected.size)
    throw new JobError("ERR_JOB_VERIFY", `written object has ${actualSize} bytes, expected ${expected.size}`);
  if (
    readBack.length < expected.bytes.length ||
    !sameBytes(readBack.subarray(0, expected.bytes.length), expected.bytes)
  )
    throw new JobError("ERR_JOB_VERIFY", "written header does not read back as written");
  const parsed = parseMessagePrefix(readBack);
  if (parsed.status !== "ok" || parsed.value.bodyOffset !== expected.bytes.length)
    throw new JobError("ERR_JOB_VERIFY", "written header does not parse to the expected body offset");
  const h = expected.header;
  if (
    h &&
    (!sameBytes(parsed.value.header.authenticatedBytes, h.authenticatedBytes) ||
      !sameBytes(parsed.value.header.headerTag, h.headerTag))
  )
    throw new JobError("ERR_JOB_VERIFY", "written header differs from the original");
  const allowed = new Set(expected.keyArns);
  const kms = parsed.value.entries.filter(isKmsEntry).map(decodeKmsEntry);
  if (kms.length === 0 || !kms.some((e) => allowed.has(e.keyArn)))
    throw new JobError("ERR_JOB_VERIFY", "written object has no entry under the target key");
}
