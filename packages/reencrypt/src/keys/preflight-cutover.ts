/**
 * `preflightCutover`: everything that must hold before an alias moves to another key, checked
 * without changing anything. A new key inherits neither the policy nor the grants of the key it
 * replaces, so besides the target's state and usability (a `DryRun` `GenerateDataKey`), the
 * preflight compares who the current key lets in with who the target lets in
 * ({@link comparePolicies}), requires the account root statement, and lists the current key's
 * grants, which are not carried over. IAM identity policies cannot be read from the key: the
 * checklist says so (an `info` line), since one naming the old key's ARN is the other half of
 * the seed-000 outage.
 */
import type { GrantListEntry, KeyMetadata } from "@aws-sdk/client-kms";
import { parseKmsArn } from "@rekey/core";
import { comparePolicies, type PolicyComparison } from "./compare-policies.js";
import { KeyToolError, kmsCall } from "./errors.js";
import { errorNameOf } from "../errors.js";
import { displayPrincipal, granteePrincipal, hasAccountRootStatement, parseKeyPolicy } from "./key-policy.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { allKmsItems } from "../support/kms-pages.js";
import { readRotationSettings } from "./read-rotation.js";

/** The key an alias should move to: an existing key, or one created as a copy of the current. */
export type CutoverTarget = { readonly kind: "key"; readonly keyId: string } | { readonly kind: "new" };

/** Options of {@link preflightCutover}. */
export interface PreflightCutoverOptions {
  /** `NAME`, `alias/NAME` or an alias ARN. */
  readonly alias: string;
  readonly target: CutoverTarget;
  /** Principals whose access gaps are only warnings (e.g. a role being retired). @default [] */
  readonly ignorePrincipals?: readonly string[];
}

/**
 * The outcome of one check. `skip`: could not be checked (e.g. the key does not exist yet);
 * `info`: something the preflight cannot check, for the person running it.
 */
export type CheckStatus = "pass" | "fail" | "warn" | "skip" | "info";

/** One line of the checklist. */
export interface PreflightCheck {
  /** Stable id: `alias`, `target-distinct`, `target-enabled`, `principals`, … */
  readonly id: string;
  readonly status: CheckStatus;
  readonly title: string;
  /** Lines under the title (what is missing, which grants). */
  readonly details: readonly string[];
}

/** A key as the preflight reports it. */
export interface CutoverKey {
  readonly keyId: string;
  readonly arn: string;
  readonly state?: string;
  readonly keySpec?: string;
  readonly keyUsage?: string;
  readonly description?: string;
}

/** A grant of the current key, for the report. */
export interface GrantSummary {
  readonly grantId: string;
  readonly name?: string;
  readonly grantee: string;
  readonly operations: readonly string[];
}

/** What {@link preflightCutover} returns. */
export interface CutoverPreflight {
  /** `alias/NAME`. */
  readonly alias: string;
  /** The key the alias points at now (absent when the alias does not resolve). */
  readonly current?: CutoverKey;
  /** The target key (absent for a key still to be created, or one that does not resolve). */
  readonly target?: CutoverKey;
  readonly checks: readonly PreflightCheck[];
  /** Grants on the current key (not carried over). */
  readonly grants: readonly GrantSummary[];
  readonly comparison?: PolicyComparison;
  /** True when no check failed. */
  readonly passed: boolean;
}

/**
 * `alias/NAME` from `NAME`, `alias/NAME` or an alias ARN.
 *
 * @throws KeyToolError `ERR_INVALID_ARGUMENT` for a name KMS would refuse or an AWS alias.
 * @example
 * ```ts
 * normalizeAliasName("app-data"); // "alias/app-data"
 * ```
 */
export function normalizeAliasName(value: string): string {
  const arn = parseKmsArn(value);
  const name =
    arn?.resourceType === "alias"
      ? `alias/${arn.resourceId}`
      : value.startsWith("alias/")
        ? value
        : `alias/${value}`;
  if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name)) {
    throw new KeyToolError("ERR_INVALID_ARGUMENT", `"${value}" is not an alias name (alias/[a-zA-Z0-9/_-]+)`);
  }
  if (name.startsWith("alias/aws/")) {
    throw new KeyToolError("ERR_INVALID_ARGUMENT", `${name} is an AWS-managed alias; it cannot be moved`);
  }
  return name;
}

function keyOf(m: KeyMetadata): CutoverKey {
  const spec = m.KeySpec ?? m.CustomerMasterKeySpec;
  return {
    keyId: m.KeyId ?? "",
    arn: m.Arn ?? m.KeyId ?? "",
    ...(m.KeyState ? { state: m.KeyState } : {}),
    ...(spec ? { keySpec: spec } : {}),
    ...(m.KeyUsage ? { keyUsage: m.KeyUsage } : {}),
    ...(m.Description ? { description: m.Description } : {}),
  };
}

/** Every grant on a key (paged). */
export async function listAllGrants(kms: KmsAdminApi, keyArn: string): Promise<GrantListEntry[]> {
  return kmsCall("ListGrants", keyArn, () =>
    allKmsItems(
      (m) => kms.listGrants({ KeyId: keyArn, ...m }),
      (r) => r.Grants,
    ),
  );
}

/** The key's policy text (`default` policy). */
export async function readKeyPolicy(kms: KmsAdminApi, keyArn: string): Promise<string> {
  const r = await kmsCall("GetKeyPolicy", keyArn, () =>
    kms.getKeyPolicy({ KeyId: keyArn, PolicyName: "default" }),
  );
  if (!r.Policy) throw new KeyToolError("ERR_KMS", `GetKeyPolicy returned no policy for ${keyArn}`);
  return r.Policy;
}

/**
 * Proves the key can make data keys: `GenerateDataKey` with `DryRun` (KMS answers
 * `DryRunOperationException` when the call would succeed). An endpoint that ignores `DryRun`
 * answers a real data key, which is dropped; one that rejects the parameter gets a real call.
 *
 * @returns How usability was shown.
 * @throws the KMS error when the key is not usable.
 */
export async function probeDataKey(kms: KmsAdminApi, keyArn: string): Promise<string> {
  const real = async (how: string): Promise<string> => {
    const r = await kms.generateDataKey({ KeyId: keyArn, KeySpec: "AES_256" });
    r.Plaintext?.fill(0);
    return how;
  };
  try {
    const r = await kms.generateDataKey({ KeyId: keyArn, KeySpec: "AES_256", DryRun: true });
    r.Plaintext?.fill(0);
    return "GenerateDataKey succeeded (the endpoint ignored DryRun)";
  } catch (e) {
    const name = errorNameOf(e);
    if (name === "DryRunOperationException") return "GenerateDataKey DryRun: the call would succeed";
    if (
      name === "ValidationException" ||
      name === "UnknownOperationException" ||
      name === "SerializationException"
    )
      return real("GenerateDataKey succeeded (DryRun not supported by the endpoint)");
    throw e;
  }
}

function grantSummary(g: GrantListEntry): GrantSummary {
  return {
    grantId: g.GrantId ?? "",
    ...(g.Name ? { name: g.Name } : {}),
    grantee: g.GranteePrincipal ? displayPrincipal(granteePrincipal(g.GranteePrincipal)) : "?",
    operations: g.Operations ?? [],
  };
}

/**
 * Runs every check of an alias cutover. Never changes anything.
 *
 * @example
 * ```ts
 * const p = await preflightCutover(kms, { alias: "app-data", target: { kind: "key", keyId: newKeyArn } });
 * for (const c of p.checks) console.log(c.status, c.title);
 * if (!p.passed) process.exitCode = 1;
 * ```
 */
export async function preflightCutover(
  kms: KmsAdminApi,
  options: PreflightCutoverOptions,
): Promise<CutoverPreflight> {
  const alias = normalizeAliasName(options.alias);
  const checks: PreflightCheck[] = [];
  const add = (id: string, status: CheckStatus, title: string, details: readonly string[] = []): void => {
    checks.push({ id, status, title, details });
  };
  const done = (rest: Partial<CutoverPreflight> = {}): CutoverPreflight => ({
    alias,
    checks,
    grants: [],
    ...rest,
    passed: checks.every((c) => c.status !== "fail"),
  });

  // The current key, through the alias.
  let currentMeta: KeyMetadata;
  try {
    const m = (await kmsCall("DescribeKey", alias, () => kms.describeKey({ KeyId: alias }))).KeyMetadata;
    if (!m?.Arn) throw new KeyToolError("ERR_KMS", `DescribeKey returned no metadata for ${alias}`);
    currentMeta = m;
  } catch (e) {
    add("alias", "fail", `${alias} resolves to a key`, [(e as Error).message]);
    return done();
  }
  const current = keyOf(currentMeta);
  add("alias", "pass", `${alias} points at ${current.arn}`);
  const currentArn = parseKmsArn(current.arn);

  let currentPolicy: string | undefined;
  let grants: GrantListEntry[] = [];
  try {
    currentPolicy = await readKeyPolicy(kms, current.arn);
    parseKeyPolicy(currentPolicy);
    grants = await listAllGrants(kms, current.arn);
    add("current-access", "pass", "the current key's policy and grants are readable");
  } catch (e) {
    add("current-access", "fail", "the current key's policy and grants are readable", [(e as Error).message]);
  }
  const grantSummaries = grants.map(grantSummary);

  // The target.
  let target: CutoverKey | undefined;
  let targetPolicy: string | undefined;
  let targetGrants: GrantListEntry[] = [];
  if (options.target.kind === "new") {
    const symmetric = (current.keySpec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT";
    add(
      "target-new",
      symmetric ? "pass" : "fail",
      "a new symmetric key will be created with the current key's description, tags and policy, rotation on",
      symmetric ? [] : [`the current key is ${current.keySpec}; rekey cuts over symmetric keys only`],
    );
    targetPolicy = currentPolicy;
    add("target-usable", "skip", "the new key can generate data keys", ["checked after it is created"]);
  } else {
    const ref = options.target.keyId;
    let targetMeta: KeyMetadata | undefined;
    try {
      targetMeta = (await kmsCall("DescribeKey", ref, () => kms.describeKey({ KeyId: ref }))).KeyMetadata;
      if (!targetMeta?.Arn) throw new KeyToolError("ERR_KMS", `DescribeKey returned no metadata for ${ref}`);
    } catch (e) {
      add("target", "fail", `the target key ${ref} exists`, [(e as Error).message]);
      return done({ current, grants: grantSummaries });
    }
    target = keyOf(targetMeta);
    const t = target;
    add(
      "target-distinct",
      t.arn !== current.arn ? "pass" : "fail",
      t.arn !== current.arn ? `target ${t.arn} is another key` : `${alias} already points at ${t.arn}`,
    );
    const targetArn = parseKmsArn(t.arn);
    const sameHome =
      targetArn !== undefined &&
      currentArn !== undefined &&
      targetArn.accountId === currentArn.accountId &&
      targetArn.region === currentArn.region;
    add(
      "target-same-account-region",
      sameHome ? "pass" : "fail",
      "the target is in the alias's account and Region (UpdateAlias requires it)",
      sameHome
        ? []
        : [
            `alias: ${currentArn?.accountId}/${currentArn?.region}, target: ${targetArn?.accountId}/${targetArn?.region}`,
          ],
    );
    add(
      "target-enabled",
      t.state === "Enabled" ? "pass" : "fail",
      `the target key is Enabled (${t.state ?? "state unknown"})`,
    );
    const spec = t.keySpec ?? "SYMMETRIC_DEFAULT";
    add(
      "target-symmetric",
      spec === "SYMMETRIC_DEFAULT" ? "pass" : "fail",
      `the target key is symmetric (${spec})`,
    );
    const usage = t.keyUsage ?? "ENCRYPT_DECRYPT";
    add(
      "target-usage",
      usage === "ENCRYPT_DECRYPT" ? "pass" : "fail",
      `the target key is for ENCRYPT_DECRYPT (${usage})`,
    );
    try {
      add("target-usable", "pass", "the target key can generate data keys", [await probeDataKey(kms, t.arn)]);
    } catch (e) {
      const name = errorNameOf(e);
      add("target-usable", "fail", "the target key can generate data keys", [
        `GenerateDataKey failed: ${name ? `${name}: ` : ""}${(e as Error).message}`,
      ]);
    }
    try {
      const r = await readRotationSettings(kms, t.arn);
      add(
        "target-rotation",
        r.enabled ? "pass" : "warn",
        r.enabled
          ? `the target key rotates every ${r.periodDays ?? 365} days`
          : "the target key has automatic rotation off",
      );
    } catch (e) {
      add("target-rotation", "warn", "the target key's rotation status is readable", [(e as Error).message]);
    }
    try {
      targetPolicy = await readKeyPolicy(kms, t.arn);
      targetGrants = await listAllGrants(kms, t.arn);
    } catch (e) {
      add("target-access", "fail", "the target key's policy and grants are readable", [(e as Error).message]);
    }
  }

  // Access: the root statement, then every principal of the current key.
  let comparison: PolicyComparison | undefined;
  if (targetPolicy !== undefined) {
    const arn = parseKmsArn(target?.arn ?? current.arn);
    const account = arn?.accountId ?? "";
    const partition = arn?.partition ?? "aws";
    try {
      const parsed = parseKeyPolicy(targetPolicy, partition);
      const root = hasAccountRootStatement(parsed, account, partition);
      add(
        "root-statement",
        root ? "pass" : "fail",
        `the target's key policy allows arn:${partition}:iam::${account}:root kms:* (so IAM policies apply)`,
        root
          ? []
          : [
              options.target.kind === "new"
                ? "the current key's policy lacks it too, and the new key copies that policy: add the statement first"
                : "without it, IAM policies granting this key are ignored",
            ],
      );
      if (currentPolicy !== undefined) {
        comparison = comparePolicies({
          current: { policy: currentPolicy, grants },
          target: { policy: targetPolicy, grants: targetGrants },
          partition,
          ...(options.ignorePrincipals ? { ignorePrincipals: options.ignorePrincipals } : {}),
        });
        const fails = comparison.gaps.filter((g) => g.severity === "fail");
        const status: CheckStatus = fails.length > 0 ? "fail" : comparison.gaps.length > 0 ? "warn" : "pass";
        add(
          "principals",
          status,
          `the target lets in every principal the current key's policy and grants let in (${comparison.principals.length} principal${comparison.principals.length === 1 ? "" : "s"})`,
          [
            ...comparison.gaps.map(
              (g) =>
                `${g.severity === "fail" ? "missing" : "warning"}: ${g.principal} — ${g.kind}: ${g.actions.join(", ")} (via ${g.via.join(", ")})`,
            ),
            ...comparison.notes,
          ],
        );
      }
    } catch (e) {
      add("target-policy", "fail", "the target's key policy is a readable policy document", [
        (e as Error).message,
      ]);
    }
  }

  add(
    "grants",
    grantSummaries.length === 0 ? "pass" : "warn",
    grantSummaries.length === 0
      ? "the current key has no grants"
      : `${grantSummaries.length} grant(s) on the current key are not carried over to the target`,
    grantSummaries.map(
      (g) =>
        `${g.name ? `"${g.name}" ` : ""}${g.grantee}: ${g.operations.join(", ")} (grant ${g.grantId.slice(0, 12)})`,
    ),
  );
  add(
    "iam-policies",
    "info",
    "IAM identity policies are not checked: a role whose IAM policy names the old key's ARN (not the alias) loses access after the cutover",
    [
      `look for ${current.arn} (or its key id) in IAM policies and code; point them at the new key, or match the alias with the condition kms:ResourceAliases`,
    ],
  );
  return done({
    current,
    ...(target ? { target } : {}),
    grants: grantSummaries,
    ...(comparison ? { comparison } : {}),
  });
}
