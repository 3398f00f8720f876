/**
 * Classifies a parsed rekey header against the target, without I/O: which entries are already
 * on the target, which to move, and whether the object needs a full re-encrypt.
 *
 * Rules:
 * - only entries under keys in the job's KMS scope (the partition and Region its KMS
 *   client reaches: the target key's, or the client's for `current`) are considered; entries
 *   under keys elsewhere — multi-Region or disaster-recovery copies — are kept byte for byte and
 *   their keys are never looked up or sent to KMS (`keptEntries` counts them);
 * - an entry is on the target when it is under the destination key (its own key for
 *   `current`, the target key otherwise) and its recorded `KeyMaterialId` equals the key's
 *   current material; without both ids it cannot be proved current and is moved;
 * - `fromKeys` limits the entries considered to those keys; others are kept as they are;
 * - `olderThanMaterial` leaves alone entries already on their own key's current material;
 * - target `current`: each entry to move is rewrapped onto its own key's current material;
 * - target `alias`/`key`: the considered entries are replaced by one entry under the target key
 *   (the first one already there, or the first one rewrapped; the others are dropped — they wrap
 *   the same data key, so nothing is lost, and one `ReEncrypt` per object is enough);
 * - a full re-encrypt makes a new data key, which the kept entries cannot wrap (their keys are
 *   out of the client's reach): an object with kept entries is `skipped` in that mode.
 */
import { decodeKmsEntry, isKmsEntry, type KmsEntry, type MessagePrefix } from "@rekey/core";
import type { ResolvedTarget } from "../kms/resolve-target.js";
import { describeKmsScope, inKmsScope, targetScope } from "../kms/kms-scope.js";
import type { EntryAction, PlanClass, Recipient } from "../model/object-plan.js";

/** Which entries the job considers. */
export interface EntryFilters {
  /** Only entries under these key ARNs. @default all KMS entries */
  readonly fromKeys?: ReadonlySet<string>;
  /** Only entries whose material differs from their key's current one. @default false */
  readonly olderThanMaterial?: boolean;
}

/** Input of {@link classifyPrefix}. */
export interface ClassifyInput {
  readonly prefix: MessagePrefix;
  readonly target: ResolvedTarget;
  /** Current material per key ARN (`undefined`: not reported / not known). */
  readonly materials: ReadonlyMap<string, string | undefined>;
  readonly filters?: EntryFilters;
  /** @default "rewrap" */
  readonly mode?: "rewrap" | "reencrypt";
  /** Re-encrypt objects that are already on the target (a leaked data key). @default false */
  readonly includeCurrent?: boolean;
}

/** The result of {@link classifyPrefix}. */
export interface Classification {
  readonly class: Exclude<PlanClass, "foreign" | "unreadable">;
  readonly reason: string;
  readonly actions: readonly EntryAction[];
  readonly recipients: readonly Recipient[];
  readonly sourceKeyArns: readonly string[];
  readonly sourceMaterialIds: readonly (string | undefined)[];
  readonly materialUnproven: boolean;
  readonly kmsCalls: number;
  /** KMS entries under keys outside the job's KMS scope, kept as they are. */
  readonly keptEntries: number;
}

/**
 * The key ARNs whose current material the classification needs: the object's KMS keys in the
 * job's KMS scope, and the target key.
 *
 * @example
 * ```ts
 * for (const arn of keysToLookUp(prefix, target)) materials.set(arn, (await cache.lookup(arn)).currentKeyMaterialId);
 * ```
 */
export function keysToLookUp(prefix: MessagePrefix, target: ResolvedTarget): string[] {
  const keys = new Set<string>();
  const scope = targetScope(target);
  for (const e of prefix.entries) {
    if (!isKmsEntry(e)) continue;
    const arn = decodeKmsEntry(e).keyArn;
    if (inKmsScope(arn, scope)) keys.add(arn);
  }
  if (target.kind !== "current") keys.add(target.keyArn);
  return [...keys];
}

/**
 * Classifies one header. Throws `FormatError` on a malformed `aws-kms` entry (the caller
 * classifies the object `unreadable`).
 *
 * @example
 * ```ts
 * const c = classifyPrefix({ prefix, target, materials });
 * if (c.class === "rewrap") console.log(`${c.kmsCalls} ReEncrypt call(s)`);
 * ```
 */
export function classifyPrefix(input: ClassifyInput): Classification {
  const { prefix, target, materials } = input;
  const mode = input.mode ?? "rewrap";
  const fromKeys = input.filters?.fromKeys;
  const olderThan = input.filters?.olderThanMaterial ?? false;
  const decoded: (KmsEntry | undefined)[] = prefix.entries.map((e) =>
    isKmsEntry(e) ? decodeKmsEntry(e) : undefined,
  );
  const kms = decoded.flatMap((d, index) => (d ? [{ d, index }] : []));
  const scope = targetScope(target);
  const local = kms.filter((k) => inKmsScope(k.d.keyArn, scope));
  const kept = kms.length - local.length;
  const base = {
    sourceKeyArns: kms.map((k) => k.d.keyArn),
    sourceMaterialIds: kms.map((k) => k.d.keyMaterialId),
    keptEntries: kept,
  };
  const keepAll: EntryAction[] = prefix.entries.map(() => ({ kind: "keep" }));
  const result = (
    cls: Classification["class"],
    reason: string,
    extra: Partial<Pick<Classification, "actions" | "recipients" | "materialUnproven" | "kmsCalls">> = {},
  ): Classification => ({
    class: cls,
    reason,
    actions: extra.actions ?? keepAll,
    recipients: extra.recipients ?? [],
    ...base,
    materialUnproven: extra.materialUnproven ?? false,
    kmsCalls: extra.kmsCalls ?? 0,
  });

  if (kms.length === 0) {
    if (fromKeys && fromKeys.size > 0) return result("skipped", "no KMS entry under the selected keys");
    if (target.kind === "current")
      return result("skipped", "no KMS entry: target current does not apply to other entry types");
    const recipients = [{ keyArn: target.keyArn, requestedKeyId: target.requestedKeyId }];
    return result("reencrypt", "no KMS entry to rewrap: needs a full re-encrypt", {
      recipients,
      kmsCalls: 1 + recipients.length,
    });
  }

  const current = (arn: string): string | undefined => materials.get(arn);
  const destination = (d: KmsEntry): string => (target.kind === "current" ? d.keyArn : target.keyArn);
  const onTarget = (d: KmsEntry): boolean =>
    d.keyArn === destination(d) && d.keyMaterialId !== undefined && d.keyMaterialId === current(d.keyArn);
  const unproven = (d: KmsEntry): boolean =>
    d.keyArn === destination(d) && (d.keyMaterialId === undefined || current(d.keyArn) === undefined);

  if (local.length === 0 && scope)
    return result(
      "skipped",
      `no KMS entry under a key in ${describeKmsScope(scope)}; ${entries(kept)} under keys elsewhere kept`,
    );
  const considered = local.filter((k) => !fromKeys || fromKeys.size === 0 || fromKeys.has(k.d.keyArn));
  if (considered.length === 0) return result("skipped", "no entry under the selected keys (--from-key)");
  const pending = considered.filter((k) => !onTarget(k.d));
  // A new data key would leave the kept entries wrapping the old one: the message would lose
  // its copies in other Regions.
  const cannotReencrypt = (): Classification =>
    result(
      "skipped",
      `a full re-encrypt cannot keep the ${entries(kept)} under keys outside ${scope ? describeKmsScope(scope) : "the job's KMS scope"} ` +
        "(multi-Region or DR copies): not re-encrypted",
    );

  const recipients = reencryptRecipients(local, considered, target);
  const reencryptCalls = 1 + recipients.length;
  if (pending.length === 0) {
    if (mode === "reencrypt" && input.includeCurrent) {
      if (kept > 0) return cannotReencrypt();
      return result("reencrypt", "on the target; re-encrypting anyway (includeCurrent)", {
        recipients,
        kmsCalls: reencryptCalls,
      });
    }
    return result("current", "already on the target's current material");
  }
  const toMove = olderThan
    ? pending.filter((k) => k.d.keyMaterialId === undefined || k.d.keyMaterialId !== current(k.d.keyArn))
    : pending;
  if (toMove.length === 0)
    return result("skipped", "entries are on their own key's current material (--older-than-material)");
  const materialUnproven = toMove.some((k) => unproven(k.d));
  const why = materialUnproven
    ? "material ids not reported: cannot prove the entry current, so it is moved"
    : undefined;

  if (mode === "reencrypt") {
    if (kept > 0) return cannotReencrypt();
    return result("reencrypt", why ?? "full re-encrypt requested", {
      recipients,
      materialUnproven,
      kmsCalls: reencryptCalls,
    });
  }

  const actions: EntryAction[] = [...keepAll];
  if (target.kind === "current") {
    for (const k of toMove)
      actions[k.index] = { kind: "rewrap", destinationKeyId: k.d.keyArn, requestedKeyId: k.d.requestedKeyId };
    return result("rewrap", why ?? `${entries(toMove.length)} on older material`, {
      actions,
      materialUnproven,
      kmsCalls: toMove.length,
    });
  }
  const keeper = considered.find((k) => onTarget(k.d));
  let calls = 0;
  for (const [i, k] of toMove.entries()) {
    if (keeper || i > 0) actions[k.index] = { kind: "drop" };
    else {
      actions[k.index] = {
        kind: "rewrap",
        destinationKeyId: target.keyArn,
        requestedKeyId: target.requestedKeyId,
      };
      calls++;
    }
  }
  return result(
    "rewrap",
    why ??
      (keeper
        ? "duplicate entries to drop; one is on the target already"
        : "not under the target key's current material"),
    { actions, materialUnproven, kmsCalls: calls },
  );
}

function entries(n: number): string {
  return `${n} entr${n === 1 ? "y" : "ies"}`;
}

/**
 * Who a full re-encrypt wraps the new data key for: every KMS key of the object (in the job's
 * scope) for target `current`; for `alias`/`key`, the target first, then the keys not
 * considered (kept recipients).
 */
function reencryptRecipients(
  kms: readonly { d: KmsEntry }[],
  considered: readonly { d: KmsEntry }[],
  target: ResolvedTarget,
): Recipient[] {
  const out: Recipient[] = [];
  const add = (keyArn: string, requestedKeyId: string): void => {
    if (!out.some((r) => r.keyArn === keyArn)) out.push({ keyArn, requestedKeyId });
  };
  if (target.kind === "current") {
    for (const k of kms) add(k.d.keyArn, k.d.requestedKeyId);
    return out;
  }
  add(target.keyArn, target.requestedKeyId);
  const consideredSet = new Set(considered.map((k) => k.d));
  for (const k of kms) if (!consideredSet.has(k.d)) add(k.d.keyArn, k.d.requestedKeyId);
  return out;
}
