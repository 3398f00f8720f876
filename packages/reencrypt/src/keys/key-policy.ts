/**
 * Key policy documents as data: statements with normalized principals, actions and conditions,
 * and IAM's wildcard matching. No evaluation engine — just enough to ask "does this policy let
 * principal P do action A, and under which conditions", which is what a cutover preflight needs.
 *
 * Principals are normalized to `TYPE:value` strings (`AWS:arn:aws:iam::111122223333:role/app`,
 * `Service:s3.amazonaws.com`); a bare account id becomes its root ARN, and `"*"` / `{"AWS": "*"}`
 * become `*` (everyone). A role also stands for its sessions: a grantee
 * `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` is matched by the role principal
 * `arn:aws:iam::ACCOUNT:role/[PATH/]ROLE` (a session ARN carries no path; role names are unique
 * in an account). Conditions are kept in a canonical form (see {@link canonicalCondition}), so
 * two statements' conditions compare as strings.
 */
import { KeyToolError } from "./errors.js";

/** Everyone: `"Principal": "*"` or `{"AWS": "*"}`. */
export const ANY_PRINCIPAL = "*";

/**
 * KMS actions a symmetric encryption key's users need. Missing one of these on a cutover target
 * breaks an application (the seed-000 outage: decrypt works on the old key and not the new one).
 */
export const KMS_USAGE_ACTIONS: readonly string[] = [
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncryptFrom",
  "kms:ReEncryptTo",
  "kms:GenerateDataKey",
  "kms:GenerateDataKeyWithoutPlaintext",
  "kms:GenerateDataKeyPair",
  "kms:GenerateDataKeyPairWithoutPlaintext",
  "kms:DescribeKey",
  // AWS services (EBS, RDS, S3 Bucket Keys …) use a key through grants they create themselves.
  "kms:CreateGrant",
  "kms:ListGrants",
  "kms:RevokeGrant",
];

/** KMS actions of key administrators: missing ones are worth a warning, not an outage. */
export const KMS_ADMIN_ACTIONS: readonly string[] = [
  "kms:CancelKeyDeletion",
  "kms:RetireGrant",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListAliases",
  "kms:ListKeyPolicies",
  "kms:ListKeyRotations",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:RotateKeyOnDemand",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateAlias",
  "kms:UpdateKeyDescription",
];

/** Every action the comparison knows: usage first, then administration. */
export const KMS_ACTIONS: readonly string[] = [...KMS_USAGE_ACTIONS, ...KMS_ADMIN_ACTIONS];

/**
 * Grant operations that manage grants rather than use the key. In a grant they let the grantee
 * create sub-grants or retire grants of *this* key; grants are never carried over to another key,
 * so a target without them is a warning, not an outage. (In a key policy, `kms:CreateGrant` is
 * still usage: AWS services attach resources through grants they create.)
 */
export const KMS_GRANT_MANAGEMENT_OPERATIONS: readonly string[] = ["kms:CreateGrant", "kms:RetireGrant"];

/** One statement of a key policy, normalized. */
export interface PolicyStatement {
  /** `Sid`, when the statement has one. */
  readonly sid: string | undefined;
  readonly effect: "Allow" | "Deny";
  /** Normalized principals (see module doc); `["*"]` for everyone. */
  readonly principals: readonly string[];
  /** True for `NotPrincipal`: the statement applies to everyone except `principals`. */
  readonly notPrincipal: boolean;
  /** Action patterns as written (`kms:GenerateDataKey*`, `kms:*`, `*`). */
  readonly actions: readonly string[];
  /** True for `NotAction`: the statement covers every action except `actions`. */
  readonly notAction: boolean;
  /** `Condition` in canonical form ({@link canonicalCondition}), or `undefined` when unconditional. */
  readonly condition: string | undefined;
  /**
   * What the statement means, as one string: effect, principals, actions and condition, each
   * normalized and sorted. `Sid` (a label) and `Resource` (always this key) are left out, so the
   * same statement is recognized in two policies however it is written.
   */
  readonly canonical: string;
}

/** A parsed key policy. */
export interface KeyPolicy {
  readonly statements: readonly PolicyStatement[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys sorted and single-item arrays kept as arrays, for string comparison. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): Json => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      const out: { [key: string]: Json } = {};
      for (const k of Object.keys(v).sort()) out[k] = sort((v as Record<string, unknown>)[k]);
      return out;
    }
    return v as Json;
  };
  return JSON.stringify(sort(value));
}

/**
 * A policy `Condition` block in canonical form: operators and condition keys sorted (keys are
 * case-insensitive in IAM, so lowercased), each value a sorted list of distinct strings — so
 * `"v"` and `["v"]` are equal, and the order of keys or values does not matter.
 *
 * @example
 * ```ts
 * canonicalCondition({ StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } }) ===
 *   canonicalCondition({ StringEquals: { "KMS:ViaService": ["s3.us-east-1.amazonaws.com"] } }); // true
 * ```
 */
export function canonicalCondition(condition: unknown): string {
  if (condition === null || typeof condition !== "object" || Array.isArray(condition))
    return canonicalJson(condition);
  const out: Record<string, Record<string, string[]>> = {};
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    if (block === null || typeof block !== "object" || Array.isArray(block)) {
      out[operator] = { "": [canonicalJson(block)] };
      continue;
    }
    const keys: Record<string, string[]> = (out[operator] ??= {});
    for (const [key, value] of Object.entries(block as Record<string, unknown>)) {
      const values = list(value).map((v) => (typeof v === "string" ? v : canonicalJson(v)));
      const name = key.toLowerCase();
      keys[name] = [...new Set([...(keys[name] ?? []), ...values])].sort();
    }
  }
  return canonicalJson(out);
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Normalizes one principal value of a given type (`AWS`, `Service`, …).
 *
 * @example
 * ```ts
 * normalizePrincipal("AWS", "111122223333"); // "AWS:arn:aws:iam::111122223333:root"
 * normalizePrincipal("Service", "s3.amazonaws.com"); // "Service:s3.amazonaws.com"
 * ```
 */
export function normalizePrincipal(type: string, value: string, partition = "aws"): string {
  const v = value.trim();
  if (v === "*" && type === "AWS") return ANY_PRINCIPAL;
  if (type === "AWS" && /^\d{12}$/.test(v)) return `AWS:arn:${partition}:iam::${v}:root`;
  return `${type}:${v}`;
}

/**
 * Normalizes a grant's grantee: an ARN is an `AWS` principal, `*.amazonaws.com` a service.
 *
 * @example
 * ```ts
 * granteePrincipal("arn:aws:iam::111122223333:role/app"); // "AWS:arn:aws:iam::111122223333:role/app"
 * ```
 */
export function granteePrincipal(grantee: string, partition = "aws"): string {
  const g = grantee.trim();
  if (/^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/.test(g)) return `Service:${g}`;
  return normalizePrincipal("AWS", g, partition);
}

/** The principal as people write it: the ARN without the `AWS:` prefix. */
export function displayPrincipal(principal: string): string {
  return principal.startsWith("AWS:") ? principal.slice(4) : principal;
}

function principals(value: unknown, partition: string, where: string): string[] {
  if (value === "*") return [ANY_PRINCIPAL];
  if (typeof value === "string") return [normalizePrincipal("AWS", value, partition)];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new KeyToolError("ERR_INVALID_POLICY", `${where}: Principal must be "*" or an object`);
  }
  const out: string[] = [];
  for (const [type, values] of Object.entries(value as Record<string, unknown>)) {
    for (const v of list(values)) {
      if (typeof v !== "string")
        throw new KeyToolError("ERR_INVALID_POLICY", `${where}: bad ${type} principal`);
      out.push(normalizePrincipal(type, v, partition));
    }
  }
  return out;
}

function strings(value: unknown, field: string, where: string): string[] {
  const out: string[] = [];
  for (const v of list(value)) {
    if (typeof v !== "string")
      throw new KeyToolError("ERR_INVALID_POLICY", `${where}: ${field} must be strings`);
    out.push(v);
  }
  return out;
}

/**
 * Parses a key policy document (the `Policy` string of `GetKeyPolicy`).
 *
 * @param partition - Used to turn bare account ids into root ARNs. @default "aws"
 * @throws KeyToolError `ERR_INVALID_POLICY` when the text is not a policy document.
 * @example
 * ```ts
 * const { statements } = parseKeyPolicy((await kms.getKeyPolicy({ KeyId })).Policy ?? "");
 * ```
 */
export function parseKeyPolicy(text: string, partition = "aws"): KeyPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KeyToolError("ERR_INVALID_POLICY", "key policy is not valid JSON", { cause: e });
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new KeyToolError("ERR_INVALID_POLICY", "key policy is not a JSON object");
  }
  const raw = (doc as Record<string, unknown>)["Statement"];
  if (raw === undefined) throw new KeyToolError("ERR_INVALID_POLICY", "key policy has no Statement");
  const statements = list(raw).map((s, i): PolicyStatement => {
    const where = `statement ${i + 1}`;
    if (s === null || typeof s !== "object" || Array.isArray(s)) {
      throw new KeyToolError("ERR_INVALID_POLICY", `${where} is not an object`);
    }
    const st = s as Record<string, unknown>;
    const effect = st["Effect"];
    if (effect !== "Allow" && effect !== "Deny") {
      throw new KeyToolError("ERR_INVALID_POLICY", `${where}: Effect must be Allow or Deny`);
    }
    const notPrincipal = st["NotPrincipal"] !== undefined;
    const notAction = st["NotAction"] !== undefined;
    const condition = st["Condition"];
    const hasCondition =
      condition !== undefined &&
      condition !== null &&
      !(typeof condition === "object" && Object.keys(condition).length === 0);
    const who = principals(notPrincipal ? st["NotPrincipal"] : st["Principal"], partition, where);
    const actions = strings(notAction ? st["NotAction"] : st["Action"], "Action", where);
    const canonicalCond = hasCondition ? canonicalCondition(condition) : undefined;
    return {
      sid: typeof st["Sid"] === "string" ? st["Sid"] : undefined,
      effect,
      principals: who,
      notPrincipal,
      actions,
      notAction,
      condition: canonicalCond,
      canonical: canonicalJson({
        effect,
        [notPrincipal ? "notPrincipal" : "principal"]: [...new Set(who)].sort(),
        [notAction ? "notAction" : "action"]: [...new Set(actions.map((a) => a.toLowerCase()))].sort(),
        condition: canonicalCond ?? null,
      }),
    };
  });
  return { statements };
}

/**
 * IAM action matching: case-insensitive, `*` any run of characters, `?` one character.
 *
 * @example
 * ```ts
 * actionMatches("kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext"); // true
 * actionMatches("kms:*", "kms:Decrypt"); // true
 * ```
 */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    "^" +
      pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("") +
      "$",
    "i",
  );
  return re.test(action);
}

/** True when the statement's action clause covers `action`. */
export function statementCoversAction(statement: PolicyStatement, action: string): boolean {
  const listed = statement.actions.some((p) => actionMatches(p, action));
  return statement.notAction ? !listed : listed;
}

const ROLE = /^AWS:arn:([^:]+):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/;
const SESSION = /^AWS:arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;

/** `partition:account:name` of a role principal or of a role session; `undefined` otherwise. */
function roleOf(principal: string, pattern: RegExp): string | undefined {
  const m = pattern.exec(principal);
  return m ? `${m[1]}:${m[2]}:${m[3]}` : undefined;
}

/**
 * True when access granted to `granted` (a normalized principal) reaches `principal`: the same
 * principal, everyone (`*`), or a role reaching its own sessions. A role is named by its ARN
 * with any path (`role/service-role/app`); a session ARN (`assumed-role/app/SESSION`) has none,
 * so role and session are matched by account and role name — unique within an account.
 *
 * @example
 * ```ts
 * principalCovers(
 *   "AWS:arn:aws:iam::111122223333:role/service-role/app",
 *   "AWS:arn:aws:sts::111122223333:assumed-role/app/i-0abc",
 * ); // true
 * ```
 */
export function principalCovers(granted: string, principal: string): boolean {
  if (granted === ANY_PRINCIPAL || granted === principal) return true;
  const role = roleOf(granted, ROLE);
  return role !== undefined && (roleOf(principal, ROLE) ?? roleOf(principal, SESSION)) === role;
}

/**
 * True when the statement applies to `principal` (`*` statements apply to everyone). A
 * `NotPrincipal` exempts exactly the principals it lists — as in IAM, exempting a role does not
 * exempt its sessions.
 */
export function statementAppliesTo(statement: PolicyStatement, principal: string): boolean {
  if (statement.notPrincipal)
    return !statement.principals.some((p) => p === ANY_PRINCIPAL || p === principal);
  return statement.principals.some((p) => principalCovers(p, principal));
}

/**
 * The KMS actions (from {@link KMS_ACTIONS}) a statement covers. `kms:*` and `*` expand to all.
 *
 * @example
 * ```ts
 * expandActions(stmt); // ["kms:Encrypt", "kms:Decrypt", ...]
 * ```
 */
export function expandActions(statement: PolicyStatement, known: readonly string[] = KMS_ACTIONS): string[] {
  return known.filter((a) => statementCoversAction(statement, a));
}

/**
 * True when the policy has the statement that lets IAM policies of the account work: an
 * unconditional Allow of `kms:*` to `arn:PARTITION:iam::ACCOUNT:root`.
 *
 * @example
 * ```ts
 * hasAccountRootStatement(parseKeyPolicy(text), "111122223333"); // true for the default policy
 * ```
 */
export function hasAccountRootStatement(policy: KeyPolicy, accountId: string, partition = "aws"): boolean {
  const root = `AWS:arn:${partition}:iam::${accountId}:root`;
  return policy.statements.some(
    (s) =>
      s.effect === "Allow" &&
      !s.notPrincipal &&
      !s.notAction &&
      s.condition === undefined &&
      s.principals.includes(root) &&
      s.actions.some((a) => a === "*" || a.toLowerCase() === "kms:*"),
  );
}
