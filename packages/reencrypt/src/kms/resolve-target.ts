/**
 * Resolves the target once, when the job starts: the key ARN an alias points at now (so a
 * later alias change cannot split the data between two keys mid-run), and the key's current
 * material. Every rewrap names that ARN; verification checks it.
 */
import type { AliasListEntry } from "@aws-sdk/client-kms";
import { JobError, describeError } from "../errors.js";
import { kmsItems } from "../support/kms-pages.js";
import type { JobKmsApi, JobKmsClient } from "./job-kms.js";
import { clientKmsScope, describeKmsScope, scopeOfArn, type KmsScope } from "./kms-scope.js";
import type { TargetSpec } from "./target-spec.js";

/** The target as resolved at start. */
export type ResolvedTarget =
  | {
      readonly kind: "current";
      /**
       * Where the job's KMS client reaches; entries under keys elsewhere are kept as they are.
       * Absent: not known, every entry is considered.
       */
      readonly scope?: KmsScope;
    }
  | {
      readonly kind: "alias" | "key";
      /** The target key's partition and Region. @default from `keyArn` */
      readonly scope?: KmsScope;
      /** The key every selected entry is moved onto. */
      readonly keyArn: string;
      /** `alias/NAME` for an alias target. */
      readonly aliasName?: string;
      /** The key's current material when KMS reports it. */
      readonly currentKeyMaterialId: string | undefined;
      /**
       * The key id written into rewrapped entries as "requested": the alias name for an alias
       * target, so keyrings configured with the alias keep matching them; the ARN otherwise.
       */
      readonly requestedKeyId: string;
    };

/** Options of {@link resolveTarget}. */
export interface ResolveTargetOptions {
  /** The client behind `kms`, whose Region is the scope of target `current`. */
  readonly client?: JobKmsClient;
  /** The scope as the caller knows it; see {@link KmsScope}. @default learned */
  readonly scope?: Partial<KmsScope>;
}

/**
 * Looks up the target: `ListAliases` to find the alias's key, `DescribeKey` for its ARN, state
 * and `CurrentKeyMaterialId`. The key must be an enabled symmetric encryption key. Also fixes
 * the {@link KmsScope} of the job: the target key's, or for `current` the client's.
 *
 * @example
 * ```ts
 * const target = await resolveTarget({ kind: "alias", name: "alias/app" }, kms);
 * console.log(target.kind === "current" ? "current material" : target.keyArn);
 * ```
 */
export async function resolveTarget(
  spec: TargetSpec,
  kms: JobKmsApi,
  signal?: AbortSignal,
  options: ResolveTargetOptions = {},
): Promise<ResolvedTarget> {
  if (spec.kind === "current") {
    const scope = await clientKmsScope(options.client ?? kms, options.scope);
    return { kind: "current", ...(scope ? { scope } : {}) };
  }
  const o = signal ? { abortSignal: signal } : {};
  let keyId: string;
  if (spec.kind === "alias") {
    keyId = await aliasTarget(spec.name, kms, o);
  } else {
    keyId = spec.keyArn;
  }
  let meta;
  try {
    meta = (await kms.describeKey({ KeyId: keyId }, o)).KeyMetadata;
  } catch (e) {
    throw new JobError("ERR_JOB_TARGET", `cannot describe target key ${keyId}: ${describeError(e).reason}`, {
      cause: e,
    });
  }
  if (!meta?.Arn) throw new JobError("ERR_JOB_TARGET", `DescribeKey answered no ARN for ${keyId}`);
  if (meta.KeyState !== undefined && meta.KeyState !== "Enabled")
    throw new JobError("ERR_JOB_TARGET", `target key ${meta.Arn} is ${meta.KeyState}, not Enabled`);
  if (meta.KeyUsage !== undefined && meta.KeyUsage !== "ENCRYPT_DECRYPT")
    throw new JobError("ERR_JOB_TARGET", `target key ${meta.Arn} is not an encryption key`);
  if (meta.KeySpec !== undefined && meta.KeySpec !== "SYMMETRIC_DEFAULT")
    throw new JobError("ERR_JOB_TARGET", `target key ${meta.Arn} is not a symmetric key`);
  const scope = scopeOfArn(meta.Arn);
  if (!scope) throw new JobError("ERR_JOB_TARGET", `DescribeKey answered "${meta.Arn}", not a key ARN`);
  const given = options.scope;
  if (
    (given?.region !== undefined && given.region !== scope.region) ||
    (given?.partition !== undefined && given.partition !== scope.partition)
  )
    throw new JobError(
      "ERR_JOB_TARGET",
      `target key ${meta.Arn} is in ${describeKmsScope(scope)}, not in the KMS scope given to the job`,
    );
  return {
    kind: spec.kind,
    keyArn: meta.Arn,
    scope,
    ...(spec.kind === "alias" ? { aliasName: spec.name } : {}),
    currentKeyMaterialId: meta.CurrentKeyMaterialId,
    requestedKeyId: spec.kind === "alias" ? spec.name : meta.Arn,
  };
}

async function aliasTarget(name: string, kms: JobKmsApi, o: { abortSignal?: AbortSignal }): Promise<string> {
  const aliases = kmsItems(
    (m) => kms.listAliases({ Limit: 100, ...m }, o),
    (r) => r.Aliases,
  );
  let hit: AliasListEntry | undefined;
  try {
    for await (const alias of aliases) {
      if (alias.AliasName !== name) continue;
      hit = alias;
      break;
    }
  } catch (e) {
    throw new JobError("ERR_JOB_TARGET", `cannot list aliases: ${describeError(e).reason}`, { cause: e });
  }
  if (!hit) throw new JobError("ERR_JOB_TARGET", `alias ${name} does not exist`);
  if (!hit.TargetKeyId) throw new JobError("ERR_JOB_TARGET", `alias ${name} points at no key`);
  return hit.TargetKeyId;
}
