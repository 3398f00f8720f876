/**
 * A Transform placed after `encryptStream` during a full re-encrypt: it holds the output until
 * the header and wrapped-key section are complete, replaces the `aws-kms` entries' requested key
 * ids with the ones the plan chose (an alias name for an alias target — the section is outside
 * the header tag by design, and the field is informational), checks every entry is under a
 * recipient key, and exposes the final prefix for verification. The body passes through.
 */
import { Transform, type TransformCallback } from "node:stream";
import {
  decodeKmsEntry,
  encodeKmsEntry,
  isKmsEntry,
  parseMessagePrefix,
  serializePrefixWithEntries,
  type FormatLimits,
} from "@rekey/core";
import { JobError } from "../errors.js";
import type { Recipient } from "../model/object-plan.js";

/** The rewriter; `prefix` is set once the header went through. */
export interface PrefixRewriter extends Transform {
  readonly prefix: Uint8Array | undefined;
}

/**
 * Creates the rewriter for a re-encrypt onto `recipients`.
 *
 * @example
 * ```ts
 * const rewriter = prefixRewriter(plan.recipients);
 * await pipeline(source, decrypt, encrypt, rewriter, upload);
 * verifyPrefix(readBack, size, { bytes: rewriter.prefix!, size, keyArns });
 * ```
 */
export function prefixRewriter(
  recipients: readonly Recipient[],
  limits?: Partial<FormatLimits>,
): PrefixRewriter {
  const requested = new Map(recipients.map((r) => [r.keyArn, r.requestedKeyId]));
  let head: Buffer | undefined = Buffer.alloc(0);
  let prefix: Uint8Array | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (!head) {
        cb(null, chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      try {
        const parsed = parseMessagePrefix(head, limits);
        if (parsed.status === "need") {
          cb();
          return;
        }
        const entries = parsed.value.entries.map((e) => {
          if (!isKmsEntry(e)) throw new JobError("ERR_JOB_VERIFY", `re-encrypt wrote a ${e.type} entry`);
          const d = decodeKmsEntry(e);
          const want = requested.get(d.keyArn);
          if (want === undefined)
            throw new JobError(
              "ERR_JOB_VERIFY",
              `re-encrypt wrapped the data key under ${d.keyArn}, not a target`,
            );
          return want === d.requestedKeyId
            ? e
            : encodeKmsEntry(Object.assign({}, d, { requestedKeyId: want }));
        });
        prefix = serializePrefixWithEntries(parsed.value.header, entries, limits);
        const rest = head.subarray(parsed.value.bodyOffset);
        head = undefined;
        this.push(prefix);
        if (rest.length > 0) this.push(rest);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      cb(head ? new JobError("ERR_JOB_VERIFY", "re-encrypt output ended inside its header") : null);
    },
  });
  return Object.defineProperty(t, "prefix", { get: () => prefix }) as PrefixRewriter;
}
