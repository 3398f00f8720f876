/**
 * Carries out a plan's entry actions: one KMS `ReEncrypt` per moved entry (the plaintext data
 * key never leaves KMS), with the header's encryption context as source and destination
 * context. Returns the new prefix: the header bytes unchanged, then the new wrapped-key section.
 */
import {
  decodeKmsEntry,
  encodeKmsEntry,
  rewrapKmsEntry,
  serializePrefixWithEntries,
  type WrappedKeyEntry,
} from "@rekey/core";
import { JobError } from "../errors.js";
import type { ObjectPlan } from "../model/object-plan.js";
import type { OperationContext } from "./operation-context.js";

/** The prefix that replaces an object's header + wrapped-key section. */
export interface RewrappedPrefix {
  /** Header bytes (unchanged) followed by the new wrapped-key section. */
  readonly bytes: Uint8Array;
  readonly entries: readonly WrappedKeyEntry[];
}

/**
 * Rewraps the entries a plan moves and serializes the new prefix.
 *
 * @example
 * ```ts
 * const next = await rewrapEntries(plan, ctx);
 * const body = Buffer.concat([next.bytes, original.subarray(plan.prefix.bodyOffset)]);
 * ```
 */
export async function rewrapEntries(plan: ObjectPlan, ctx: OperationContext): Promise<RewrappedPrefix> {
  const prefix = plan.prefix;
  if (!prefix) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no header to rewrap");
  const entries: WrappedKeyEntry[] = [];
  for (const [i, entry] of prefix.entries.entries()) {
    const action = plan.actions[i] ?? { kind: "keep" };
    if (action.kind === "keep") entries.push(entry);
    else if (action.kind === "rewrap") {
      const moved = await rewrapKmsEntry(entry, {
        client: ctx.kms,
        destinationKeyId: action.destinationKeyId,
        encryptionContext: prefix.header.encryptionContext,
        ...(ctx.hooks.onKmsCall ? { onKmsCall: ctx.hooks.onKmsCall } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      const decoded = decodeKmsEntry(moved);
      if (decoded.keyArn !== action.destinationKeyId)
        throw new JobError(
          "ERR_JOB_VERIFY",
          `KMS rewrapped onto ${decoded.keyArn}, not the target ${action.destinationKeyId}`,
        );
      ctx.materials.observe(decoded.keyArn, decoded.keyMaterialId);
      // The requested key id is informational (not authenticated); recording the alias name
      // keeps keyrings configured with the alias matching the moved entry.
      entries.push(
        decoded.requestedKeyId === action.requestedKeyId
          ? moved
          : encodeKmsEntry(Object.assign({}, decoded, { requestedKeyId: action.requestedKeyId })),
      );
    }
  }
  return { bytes: serializePrefixWithEntries(prefix.header, entries, ctx.settings.limits), entries };
}
