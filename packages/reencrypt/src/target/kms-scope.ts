/**
 * Where the job's KMS client reaches: one partition, one Region and (when known) one account.
 * KMS is regional and a key belongs to one account, so an entry under a key elsewhere — a
 * multi-Region replica or a disaster-recovery copy in another account — is not this job's to
 * move: it is kept byte for byte, and its key is never named in a request to the job's client
 * (which could only fail, and would fail the whole object). A job in that Region moves it.
 *
 * For `alias:`/`key:` targets the scope is the target key's (the job's client described it, so
 * that is where it reaches). For `current` it is the client's Region, and the account of the
 * client's aliases (`ListAliases` answers alias ARNs of the caller's account); when no alias
 * tells the account, entries are matched on partition and Region only.
 */
import type { KMSClient } from "@aws-sdk/client-kms";
import { parseKmsArn } from "@rekey/core";
import type { JobKmsApi, JobKmsClient } from "../run/job-kms.js";

/** A partition, Region and account of KMS keys. */
export interface KmsScope {
  /** `aws`, `aws-cn`, `aws-us-gov`, … */
  readonly partition: string;
  readonly region: string;
  /** Absent when it could not be learned: then partition and Region decide alone. */
  readonly accountId?: string;
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
 * scopeOfArn("arn:aws:kms:eu-west-1:111122223333:key/k1"); // { partition: "aws", region: "eu-west-1", accountId: "111122223333" }
 * ```
 */
export function scopeOfArn(arn: string): KmsScope | undefined {
  const p = parseKmsArn(arn);
  return p ? { partition: p.partition, region: p.region, accountId: p.accountId } : undefined;
}

/**
 * True when the key `arn` is in `scope` (always true without a scope). An entry whose key id is
 * not an ARN is out of every scope: it cannot be placed, so it is never sent.
 *
 * @example
 * ```ts
 * inKmsScope(entry.keyArn, { partition: "aws", region: "us-east-1", accountId: "111122223333" });
 * ```
 */
export function inKmsScope(arn: string, scope: KmsScope | undefined): boolean {
  if (!scope) return true;
  const s = scopeOfArn(arn);
  if (!s) return false;
  return (
    s.partition === scope.partition &&
    s.region === scope.region &&
    (scope.accountId === undefined || s.accountId === scope.accountId)
  );
}

/**
 * The scope for people: `us-east-1 (aws, account 111122223333)`.
 *
 * @example
 * ```ts
 * describeKmsScope({ partition: "aws", region: "eu-west-1" }); // "eu-west-1 (aws, any account)"
 * ```
 */
export function describeKmsScope(scope: KmsScope): string {
  return `${scope.region} (${scope.partition}, ${scope.accountId ? `account ${scope.accountId}` : "any account"})`;
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
 * The scope of the job's KMS client for target `current`: `given` fields first, then the
 * Region of a `KMSClient`, then the alias ARNs of one `ListAliases` page (best effort: a refused
 * or failed listing leaves the account open). `undefined` when not even the Region is known (a
 * custom {@link JobKmsApi} without aliases): then every entry is considered.
 *
 * @example
 * ```ts
 * const scope = await clientKmsScope(new KMSClient({ region: "eu-west-1" }), kms, undefined);
 * ```
 */
export async function clientKmsScope(
  client: JobKmsClient,
  kms: JobKmsApi,
  given: Partial<KmsScope> | undefined,
  signal?: AbortSignal,
): Promise<KmsScope | undefined> {
  let region = given?.region ?? (await regionOfClient(client));
  let accountId = given?.accountId;
  let partition = given?.partition;
  if (region === undefined || accountId === undefined) {
    const alias = await anyAliasScope(kms, signal);
    if (alias && (region === undefined || alias.region === region)) {
      region ??= alias.region;
      accountId ??= alias.accountId;
      partition ??= alias.partition;
    }
  }
  if (region === undefined) return undefined;
  return {
    partition: partition ?? partitionOfRegion(region),
    region,
    ...(accountId !== undefined ? { accountId } : {}),
  };
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

async function anyAliasScope(kms: JobKmsApi, signal?: AbortSignal): Promise<KmsScope | undefined> {
  try {
    const page = await kms.listAliases({ Limit: 100 }, signal ? { abortSignal: signal } : {});
    for (const a of page.Aliases ?? []) {
      const p = a.AliasArn ? parseKmsArn(a.AliasArn) : undefined;
      if (p) return { partition: p.partition, region: p.region, accountId: p.accountId };
    }
  } catch {
    // Not allowed to list aliases, or KMS failed: the account stays open (partition + Region).
  }
  return undefined;
}
