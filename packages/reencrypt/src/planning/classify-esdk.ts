/**
 * Classifies an AWS Encryption SDK header against the target, without I/O. The ESDK's header tag
 * covers its encrypted data keys, so a message cannot be rewrapped in place: migration is a full
 * re-encrypt into a rekey message (mode `reencrypt`); `rewrap` reports the message and leaves it.
 *
 * Rules (mode `reencrypt`):
 * - only messages with key commitment (the suites of message format 2, the ESDK's default since
 *   2.0) are migrated; older ones are `skipped` with the reason;
 * - KMS data keys under keys outside the job's KMS scope are never sent to its client; a message
 *   that has any is `skipped` (the new message could not keep those copies), as for rekey
 *   messages;
 * - `fromKeys` selects messages with a KMS data key under one of those keys;
 * - target `alias`/`key`: the new data key is wrapped for the target key; target `current`: for
 *   the message's own KMS keys (a message without one is `skipped`).
 */
import { ESDK_RESERVED_CONTEXT_PREFIX, type EsdkHeader, type EsdkSuite } from "@rekey/core";
import { describeKmsScope, inKmsScope, targetScope } from "../kms/kms-scope.js";
import type { ResolvedTarget } from "../kms/resolve-target.js";
import type { Recipient } from "../model/object-plan.js";
import type { EntryFilters } from "./classify-prefix.js";

/** Input of {@link classifyEsdk}. */
export interface EsdkClassifyInput {
  readonly header: EsdkHeader;
  readonly target: ResolvedTarget;
  readonly filters?: EntryFilters;
  /** @default "rewrap" */
  readonly mode?: "rewrap" | "reencrypt";
}

/** The result of {@link classifyEsdk}. */
export interface EsdkClassification {
  readonly class: "esdk" | "skipped";
  readonly reason: string;
  /** Who the new data key is wrapped for (mode `reencrypt`, class `esdk`). */
  readonly recipients: readonly Recipient[];
  /** Key ARNs of the message's KMS data keys. */
  readonly sourceKeyArns: readonly string[];
  /** One `undefined` per KMS data key: ESDK messages record no key material. */
  readonly sourceMaterialIds: readonly undefined[];
  readonly kmsCalls: number;
  /** KMS data keys under keys outside the job's KMS scope. */
  readonly keptEntries: number;
}

/**
 * A suite for reports: `0x0578 AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`.
 *
 * @example
 * ```ts
 * esdkSuiteLabel(plan.esdk.suite); // "0x0478 AES256_GCM_HKDF_SHA512_COMMIT_KEY"
 * ```
 */
export function esdkSuiteLabel(suite: EsdkSuite): string {
  return `0x${suite.id.toString(16).padStart(4, "0")} ${suite.name}`;
}

/**
 * The encryption-context keys a migration drops: the ESDK's reserved `aws-crypto-` keys.
 *
 * @example
 * ```ts
 * reservedContextKeys({ app: "a", "aws-crypto-public-key": "…" }); // ["aws-crypto-public-key"]
 * ```
 */
export function reservedContextKeys(context: Readonly<Record<string, string>>): string[] {
  return Object.keys(context)
    .filter((k) => k.startsWith(ESDK_RESERVED_CONTEXT_PREFIX))
    .sort();
}

/**
 * Classifies one ESDK header (see the module comment).
 *
 * @example
 * ```ts
 * const c = classifyEsdk({ header, target, mode: "reencrypt" });
 * if (c.class === "esdk") console.log(c.recipients[0]?.keyArn);
 * ```
 */
export function classifyEsdk(input: EsdkClassifyInput): EsdkClassification {
  const { header, target } = input;
  const arns = header.dataKeys.flatMap((k) => (k.keyArn !== undefined ? [k.keyArn] : []));
  const scope = targetScope(target);
  const local = arns.filter((a) => inKmsScope(a, scope));
  const kept = arns.length - local.length;
  const suite = `${esdkSuiteLabel(header.suite)}, ${header.suite.signed ? "signed" : "unsigned"}`;
  const result = (
    cls: EsdkClassification["class"],
    reason: string,
    recipients: readonly Recipient[] = [],
  ): EsdkClassification => ({
    class: cls,
    reason,
    recipients,
    sourceKeyArns: arns,
    sourceMaterialIds: arns.map(() => undefined),
    kmsCalls: cls === "esdk" && recipients.length > 0 ? (local.length > 0 ? 1 : 0) + recipients.length : 0,
    keptEntries: kept,
  });
  const fromKeys = input.filters?.fromKeys;
  if (fromKeys && fromKeys.size > 0 && !local.some((a) => fromKeys.has(a)))
    return result(
      "skipped",
      `AWS Encryption SDK message (${suite}) with no data key under the selected keys`,
    );
  if ((input.mode ?? "rewrap") === "rewrap")
    return result(
      "esdk",
      `AWS Encryption SDK message (${suite}): rewrap cannot move it (its header tag covers its data keys); ` +
        "run `rekey reencrypt` to migrate it",
    );
  if (!header.suite.committing)
    return result(
      "skipped",
      `AWS Encryption SDK message without key commitment (${suite}, written by ESDK 1.x): not migrated`,
    );
  if (kept > 0)
    return result(
      "skipped",
      `AWS Encryption SDK message with ${kept} data key(s) under keys outside ` +
        `${scope ? describeKmsScope(scope) : "the job's KMS scope"}: a migration could not keep them`,
    );
  const recipients: Recipient[] =
    target.kind === "current"
      ? [...new Set(local)].map((keyArn) => ({ keyArn, requestedKeyId: keyArn }))
      : [{ keyArn: target.keyArn, requestedKeyId: target.requestedKeyId }];
  if (recipients.length === 0)
    return result(
      "skipped",
      `AWS Encryption SDK message (${suite}) without a KMS data key: target current does not apply`,
    );
  return result("esdk", `AWS Encryption SDK message (${suite}): migrated by a full re-encrypt`, recipients);
}
