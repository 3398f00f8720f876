/**
 * `cutoverAlias`: a manual rotation done safely. Preflight first (nothing changes if a check
 * fails), then — for `--to new` — the successor key is created and checked again, then
 * `UpdateAlias`, read back, then the data under the old key is moved by the re-encrypt job
 * (given as `rewrap`, so this module does not depend on the job). The old key is never disabled
 * or scheduled for deletion: data the job did not reach still needs it.
 */
import { KeyToolError, kmsCall } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { createSuccessorKey, type SuccessorKey } from "./create-successor-key.js";
import { normalizeAliasName, preflightCutover, type CutoverPreflight } from "./preflight-cutover.js";

/** What the rewrap step is asked to do. */
export interface CutoverRewrapRequest {
  /** `alias/NAME`. */
  readonly alias: string;
  /** The key the alias pointed at before. */
  readonly previousKeyArn: string;
  /** The key the alias points at after (absent in a dry run of `--to new`: not created yet). */
  readonly newKeyArn?: string;
  /** Plan only: the alias has not moved. */
  readonly dryRun: boolean;
}

/** Options of {@link cutoverAlias}. */
export interface CutoverOptions<R> {
  /** `NAME`, `alias/NAME` or an alias ARN. */
  readonly alias: string;
  /** A key id, key ARN or alias of an existing key, or `new`. */
  readonly to: string;
  /** Preflight (and the rewrap plan) only. @default false */
  readonly dryRun?: boolean;
  /** Rotation period of a new key. @default the current key's, else 365 */
  readonly rotationPeriodDays?: number;
  /** Principals whose access gaps are only warnings. @default [] */
  readonly ignorePrincipals?: readonly string[];
  /** Called with each preflight before anything changes (`final` is the one that gates the alias). */
  readonly onPreflight?: (preflight: CutoverPreflight, phase: "before-create" | "final") => void;
  /** Called once a new key exists. */
  readonly onKeyCreated?: (key: SuccessorKey) => void;
  /** Called once the alias points at the target. */
  readonly onAliasUpdated?: (alias: string, keyArn: string) => void;
  /** Moves the data (the re-encrypt job). @default undefined (no rewrap) */
  readonly rewrap?: (request: CutoverRewrapRequest) => Promise<R>;
}

/** What {@link cutoverAlias} did. */
export interface CutoverResult<R> {
  /** The preflight that gated the change. */
  readonly preflight: CutoverPreflight;
  readonly alias: string;
  readonly previousKeyArn: string;
  /** The target key (absent in a dry run of `--to new`). */
  readonly newKeyArn?: string;
  readonly createdKey?: SuccessorKey;
  readonly aliasUpdated: boolean;
  readonly rewrap?: R;
}

function failedChecks(p: CutoverPreflight): string {
  return p.checks
    .filter((c) => c.status === "fail")
    .map((c) => c.id)
    .join(", ");
}

/**
 * Moves an alias to another key after a preflight, then rewraps the data under the old key.
 *
 * @throws KeyToolError `ERR_PREFLIGHT_FAILED` (the alias did not move; a key created for
 *   `--to new` is named in the message), or any KMS failure.
 * @example
 * ```ts
 * const r = await cutoverAlias(kms, { alias: "app-data", to: "new", onPreflight: print });
 * console.log(`${r.alias}: ${r.previousKeyArn} -> ${r.newKeyArn}`);
 * ```
 */
export async function cutoverAlias<R = undefined>(
  kms: KmsAdminApi,
  options: CutoverOptions<R>,
): Promise<CutoverResult<R>> {
  const alias = normalizeAliasName(options.alias);
  const dryRun = options.dryRun ?? false;
  const base = { alias, ...(options.ignorePrincipals ? { ignorePrincipals: options.ignorePrincipals } : {}) };
  const toNew = options.to === "new";

  let preflight = await preflightCutover(kms, {
    ...base,
    target: toNew ? { kind: "new" } : { kind: "key", keyId: options.to },
  });
  options.onPreflight?.(preflight, toNew ? "before-create" : "final");
  if (!preflight.passed || !preflight.current) {
    throw new KeyToolError(
      "ERR_PREFLIGHT_FAILED",
      `preflight failed (${failedChecks(preflight)}); nothing was changed`,
    );
  }
  const previousKeyArn = preflight.current.arn;

  if (dryRun) {
    const newKeyArn = preflight.target?.arn;
    const rewrap = options.rewrap
      ? await options.rewrap({ alias, previousKeyArn, ...(newKeyArn ? { newKeyArn } : {}), dryRun: true })
      : undefined;
    return {
      preflight,
      alias,
      previousKeyArn,
      ...(newKeyArn ? { newKeyArn } : {}),
      aliasUpdated: false,
      ...(rewrap === undefined ? {} : { rewrap }),
    };
  }

  let createdKey: SuccessorKey | undefined;
  if (toNew) {
    createdKey = await createSuccessorKey(kms, previousKeyArn, {
      ...(options.rotationPeriodDays === undefined ? {} : { rotationPeriodDays: options.rotationPeriodDays }),
    });
    options.onKeyCreated?.(createdKey);
    preflight = await preflightCutover(kms, { ...base, target: { kind: "key", keyId: createdKey.arn } });
    options.onPreflight?.(preflight, "final");
    if (!preflight.passed) {
      throw new KeyToolError(
        "ERR_PREFLIGHT_FAILED",
        `preflight of the new key ${createdKey.arn} failed (${failedChecks(preflight)}); the alias was not moved and the new key was left as is`,
      );
    }
  }
  const newKeyArn = preflight.target?.arn;
  if (!newKeyArn)
    throw new KeyToolError("ERR_PREFLIGHT_FAILED", "the preflight did not resolve the target key");

  await kmsCall("UpdateAlias", alias, () => kms.updateAlias({ AliasName: alias, TargetKeyId: newKeyArn }));
  const now = (await kmsCall("DescribeKey", alias, () => kms.describeKey({ KeyId: alias }))).KeyMetadata;
  if (now?.Arn !== newKeyArn) {
    throw new KeyToolError(
      "ERR_KMS",
      `UpdateAlias returned but ${alias} points at ${now?.Arn ?? "nothing"}, not ${newKeyArn}`,
    );
  }
  options.onAliasUpdated?.(alias, newKeyArn);

  const rewrap = options.rewrap
    ? await options.rewrap({ alias, previousKeyArn, newKeyArn, dryRun: false })
    : undefined;
  return {
    preflight,
    alias,
    previousKeyArn,
    newKeyArn,
    ...(createdKey ? { createdKey } : {}),
    aliasUpdated: true,
    ...(rewrap === undefined ? {} : { rewrap }),
  };
}
