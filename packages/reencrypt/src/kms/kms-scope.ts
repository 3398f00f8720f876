/**
 * Where the job's KMS client reaches: one partition and one Region. KMS is regional, so an entry
 * under a key in another Region — a multi-Region replica, a disaster-recovery copy — is not this
 * job's to move: it is kept byte for byte, and its key is never named in a request to the job's
 * client (which could only fail, and would fail the whole object). A job in that Region moves it.
 * Accounts do not bound the scope: KMS serves another account's key in the same Region when its
 * policy allows (a central key account), so such entries are the job's like any other; to keep a
 * same-Region copy under a backup account's key, name the keys to move with `--from-key`.
 *
 * For `alias:`/`key:` targets the scope is the target key's Region (the job's client described
 * it, so that is where it reaches); for `current`, the client's Region.
 */
import type { KMSClient } from "@aws-sdk/client-kms";
import { parseKmsArn } from "@rekey/core";
import type { JobKmsClient } from "./job-kms.js";

/** A partition and Region of KMS keys. */
export interface KmsScope {
  /** `aws`, `aws-cn`, `aws-us-gov`, … */
  readonly partition: string;
  readonly region: string;
}

/**
 * The scope of a resolved target: its own, or for an `alias:`/`key:` target built by hand, the
 * target key's.
 *
 * @example
 * ```ts
 * const scope = targetScope(ctx.target);
 * ```
 */
export function targetScope(target: {
  readonly kind: string;
  readonly scope?: KmsScope;
  readonly keyArn?: string;
}): KmsScope | undefined {
  if (target.scope) return target.scope;
  return target.keyArn !== undefined ? scopeOfArn(target.keyArn) : undefined;
}

/**
 * The key ARNs of `arns` in the target's scope, each once: the keys the job may name to KMS.
 *
 * @example
 * ```ts
 * const keyring = new KmsKeyring({ client, allowedKeyArns: scopedKeyArns(plan.sourceKeyArns, ctx.target) });
 * ```
 */
export function scopedKeyArns(arns: readonly string[], target: Parameters<typeof targetScope>[0]): string[] {
  const scope = targetScope(target);
  return [...new Set(arns)].filter((a) => inKmsScope(a, scope));
}

/**
 * The scope a key ARN belongs to; `undefined` for anything that is not a KMS ARN.
 *
 * @example
 * ```ts
 * scopeOfArn("arn:aws:kms:eu-west-1:111122223333:key/k1"); // { partition: "aws", region: "eu-west-1" }
 * ```
 */
export function scopeOfArn(arn: string): KmsScope | undefined {
  const p = parseKmsArn(arn);
  return p ? { partition: p.partition, region: p.region } : undefined;
}

/**
 * True when the key `arn` is in `scope` (always true without a scope). An entry whose key id is
 * not an ARN is out of every scope: it cannot be placed, so it is never sent.
 *
 * @example
 * ```ts
 * inKmsScope(entry.keyArn, { partition: "aws", region: "us-east-1" });
 * ```
 */
export function inKmsScope(arn: string, scope: KmsScope | undefined): boolean {
  if (!scope) return true;
  const s = scopeOfArn(arn);
  return s !== undefined && s.partition === scope.partition && s.region === scope.region;
}

/**
 * The scope for people: `us-east-1 (aws)`.
 *
 * @example
 * ```ts
 * describeKmsScope({ partition: "aws", region: "eu-west-1" }); // "eu-west-1 (aws)"
 * ```
 */
export function describeKmsScope(scope: KmsScope): string {
  return `${scope.region} (${scope.partition})`;
}

/**
 * The partition of a Region name.
 *
 * @example
 * ```ts
 * partitionOfRegion("cn-north-1"); // "aws-cn"
 * ```
 */
export function partitionOfRegion(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("eu-isoe-")) return "aws-iso-e";
  return "aws";
}

/**
 * The scope of the job's KMS client for target `current`: `given` fields first, then the Region
 * of a `KMSClient`. `undefined` when the Region is not known (a custom KMS client): then
 * every entry is considered.
 *
 * @example
 * ```ts
 * const scope = await clientKmsScope(new KMSClient({ region: "eu-west-1" }), undefined);
 * ```
 */
export async function clientKmsScope(
  client: JobKmsClient,
  given: Partial<KmsScope> | undefined,
): Promise<KmsScope | undefined> {
  const region = given?.region ?? (await regionOfClient(client));
  if (region === undefined) return undefined;
  return { partition: given?.partition ?? partitionOfRegion(region), region };
}

async function regionOfClient(client: JobKmsClient): Promise<string | undefined> {
  const config = (client as Partial<KMSClient>).config;
  if (!config || typeof config.region !== "function") return undefined;
  try {
    const region = await config.region();
    return typeof region === "string" && region !== "" ? region : undefined;
  } catch {
    // No Region configured: the SDK would fail every call anyway; the scope stays unknown.
    return undefined;
  }
}
