/**
 * `comparePolicies`: which principals the current key lets in (through its key policy and its
 * grants) that a cutover target would not. A new key inherits neither the policy nor the grants
 * of the key it replaces; the classic outage after a manual rotation is a role that could use the
 * old key and cannot use the new one. This lists every such gap before the alias moves.
 *
 * Rules (documented in KEYS.md):
 * - every Allow statement of the current policy, expanded over the known KMS actions, and every
 *   grant on the current key (its operations) is a need: (principal, action, conditions) — unless
 *   an unconditional Deny of the current policy already refuses that principal that action;
 * - the target meets a need with an Allow statement (or a grant on the target) for that
 *   principal — or `*`, or the role of a role session — that covers the action unconditionally,
 *   or with the same conditions (compared in canonical form: order and `"v"` / `["v"]` do not
 *   matter);
 * - a need met by the current key unconditionally and by the target only under a condition
 *   (`only-conditional`) is a failure: the seed-000 outage when the condition does not hold;
 *   a conditional need met under other conditions is a warning (`conditions-differ`); no match at
 *   all is a failure (`missing`); a target Deny the current policy does not have (`Sid` ignored)
 *   that hits a need is a failure (`denied`), or a warning when it is conditional;
 * - gaps on administration actions (`kms:PutKeyPolicy`, …) and on the grant-management
 *   operations of a grant (`CreateGrant`, `RetireGrant`: grants are not carried over anyway) are
 *   warnings; gaps on usage actions (`kms:Decrypt`, `kms:GenerateDataKey*`, `kms:ReEncrypt*`, …)
 *   are failures.
 * `Resource` is not compared: in a key policy it always means "this key". IAM identity policies
 * are not visible here at all (see the preflight's note).
 */
import {
  ANY_PRINCIPAL,
  KMS_ACTIONS,
  KMS_GRANT_MANAGEMENT_OPERATIONS,
  KMS_USAGE_ACTIONS,
  canonicalJson,
  displayPrincipal,
  expandActions,
  granteePrincipal,
  parseKeyPolicy,
  principalCovers,
  statementAppliesTo,
  statementCoversAction,
  type KeyPolicy,
} from "./key-policy.js";

/** A grant as `ListGrants` returns it (only the fields the comparison reads). */
export interface GrantLike {
  readonly GrantId?: string | undefined;
  readonly Name?: string | undefined;
  readonly GranteePrincipal?: string | undefined;
  readonly Operations?: readonly string[] | undefined;
  readonly Constraints?: unknown;
}

/** Input of {@link comparePolicies}. */
export interface ComparePoliciesInput {
  /** The key the alias points at now. */
  readonly current: { readonly policy: string; readonly grants?: readonly GrantLike[] };
  /** The key the alias would point at. */
  readonly target: { readonly policy: string; readonly grants?: readonly GrantLike[] };
  /** ARN partition, for bare account ids in policies. @default "aws" */
  readonly partition?: string;
  /** Principals (ARNs as written) whose gaps are only warnings. @default [] */
  readonly ignorePrincipals?: readonly string[];
}

/**
 * What kind of gap a principal has on the target:
 * - `missing`: no statement or grant of the target lets it do the action;
 * - `only-conditional`: the current key lets it unconditionally, the target only under a condition;
 * - `conditions-differ`: both only under conditions, and not the same ones;
 * - `denied` / `conditionally-denied`: a Deny of the target that the current key does not have.
 */
export type AccessGapKind =
  "missing" | "only-conditional" | "conditions-differ" | "denied" | "conditionally-denied";

/** Actions one principal can do on the current key and not (or not the same way) on the target. */
export interface AccessGap {
  /** The principal as written (an ARN, `Service:…`, or `*`). */
  readonly principal: string;
  readonly kind: AccessGapKind;
  /** `fail` blocks the cutover; `warn` is printed. */
  readonly severity: "fail" | "warn";
  /** The actions, in a stable order (usage first). */
  readonly actions: readonly string[];
  /** Where the current key lets the principal in: `policy statement "Sid"`, `grant NAME`. */
  readonly via: readonly string[];
}

/** The result of {@link comparePolicies}. */
export interface PolicyComparison {
  /** Every gap, failures first. Empty when the target lets in everyone the current key does. */
  readonly gaps: readonly AccessGap[];
  /** Every principal the current key lets in (as written), sorted. */
  readonly principals: readonly string[];
  /** What the comparison could not judge. */
  readonly notes: readonly string[];
}

interface Need {
  unconditional: boolean;
  /** Conditions under which the current key allows it (canonical form). */
  conditions: Set<string>;
  via: Set<string>;
  /** Some policy statement (not only a grant) allows it. */
  fromPolicy: boolean;
}

/** Gaps of these kinds block the cutover when the action is usage. */
const HARD_KINDS: ReadonlySet<AccessGapKind> = new Set(["missing", "only-conditional", "denied"]);

/** Whether missing this action breaks the principal's use of the key (else: a warning). */
function isUsage(action: string, need: Need): boolean {
  if (!need.fromPolicy && KMS_GRANT_MANAGEMENT_OPERATIONS.includes(action)) return false;
  return KMS_USAGE_ACTIONS.includes(action) || !KMS_ACTIONS.includes(action);
}

function grantLabel(g: GrantLike): string {
  return g.Name ? `grant "${g.Name}"` : `grant ${(g.GrantId ?? "?").slice(0, 12)}`;
}

function grantCondition(g: GrantLike): string | undefined {
  const c = g.Constraints;
  if (c === undefined || c === null || (typeof c === "object" && Object.keys(c).length === 0))
    return undefined;
  return `grant-constraints:${canonicalJson(c)}`;
}

/**
 * Compares what the current key's policy and grants allow with what the target's allow.
 *
 * @example
 * ```ts
 * const { gaps } = comparePolicies({
 *   current: { policy: oldPolicy, grants: oldGrants },
 *   target: { policy: newPolicy },
 * });
 * for (const g of gaps) console.log(g.severity, g.principal, g.actions.join(","));
 * ```
 */
export function comparePolicies(input: ComparePoliciesInput): PolicyComparison {
  const partition = input.partition ?? "aws";
  const current = parseKeyPolicy(input.current.policy, partition);
  const target = parseKeyPolicy(input.target.policy, partition);
  const notes: string[] = [];
  const needs = new Map<string, Map<string, Need>>();

  // An unconditional Deny of the current policy means the principal cannot do it today.
  const currentDenies = current.statements.filter((s) => s.effect === "Deny");
  const refusedToday = (principal: string, action: string): boolean =>
    currentDenies.some(
      (d) =>
        d.condition === undefined && statementAppliesTo(d, principal) && statementCoversAction(d, action),
    );
  const addNeed = (
    principal: string,
    action: string,
    condition: string | undefined,
    via: string,
    fromPolicy: boolean,
  ): void => {
    if (refusedToday(principal, action)) return;
    let byAction = needs.get(principal);
    if (!byAction) needs.set(principal, (byAction = new Map()));
    let need = byAction.get(action);
    if (!need)
      byAction.set(
        action,
        (need = { unconditional: false, conditions: new Set(), via: new Set(), fromPolicy: false }),
      );
    if (condition === undefined) need.unconditional = true;
    else need.conditions.add(condition);
    need.via.add(via);
    need.fromPolicy ||= fromPolicy;
  };

  current.statements.forEach((s, i) => {
    if (s.effect !== "Allow") return;
    const label = s.sid ? `policy statement "${s.sid}"` : `policy statement ${i + 1}`;
    if (s.notPrincipal) {
      notes.push(`${label} uses NotPrincipal with Allow; it is not compared`);
      return;
    }
    for (const p of s.principals) for (const a of expandActions(s)) addNeed(p, a, s.condition, label, true);
  });
  for (const g of input.current.grants ?? []) {
    if (!g.GranteePrincipal) continue;
    const p = granteePrincipal(g.GranteePrincipal, partition);
    for (const op of g.Operations ?? []) addNeed(p, `kms:${op}`, grantCondition(g), grantLabel(g), false);
  }

  const ignored = (input.ignorePrincipals ?? []).map((p) => granteePrincipal(p, partition));
  const isIgnored = (principal: string): boolean => ignored.some((i) => principalCovers(i, principal));
  const knownDenies = new Set(currentDenies.map((s) => s.canonical));
  const newDenies = target.statements.filter((s) => s.effect === "Deny" && !knownDenies.has(s.canonical));
  const targetGrants = input.target.grants ?? [];

  const gaps = new Map<
    string,
    { gap: Omit<AccessGap, "actions" | "via">; actions: Set<string>; via: Set<string> }
  >();
  const addGap = (principal: string, kind: AccessGapKind, action: string, need: Need): void => {
    const hard = HARD_KINDS.has(kind) && isUsage(action, need) && !isIgnored(principal);
    const severity = hard ? "fail" : "warn";
    const key = `${severity}|${kind}|${principal}`;
    let entry = gaps.get(key);
    if (!entry) {
      entry = {
        gap: { principal: displayPrincipal(principal), kind, severity },
        actions: new Set(),
        via: new Set(),
      };
      gaps.set(key, entry);
    }
    entry.actions.add(action);
    for (const v of need.via) entry.via.add(v);
  };

  for (const [principal, byAction] of needs) {
    for (const [action, need] of byAction) {
      const coverage = coverageOf(target, targetGrants, principal, action, partition);
      if (coverage.unconditional) {
        // covered as broadly as possible
      } else if (!need.unconditional && [...need.conditions].every((c) => coverage.conditions.has(c))) {
        // covered under the very same conditions
      } else if (coverage.conditions.size === 0) addGap(principal, "missing", action, need);
      else addGap(principal, need.unconditional ? "only-conditional" : "conditions-differ", action, need);

      for (const d of newDenies) {
        if (!statementAppliesTo(d, principal) || !statementCoversAction(d, action)) continue;
        addGap(principal, d.condition === undefined ? "denied" : "conditionally-denied", action, need);
      }
    }
  }

  const order = (a: string): number => {
    const i = KMS_ACTIONS.indexOf(a);
    return i < 0 ? KMS_ACTIONS.length : i;
  };
  const result = [...gaps.values()]
    .map((e): AccessGap => ({
      ...e.gap,
      actions: [...e.actions].sort((a, b) => order(a) - order(b) || a.localeCompare(b)),
      via: [...e.via].sort(),
    }))
    .sort(
      (a, b) =>
        (a.severity === b.severity ? 0 : a.severity === "fail" ? -1 : 1) ||
        a.principal.localeCompare(b.principal) ||
        a.kind.localeCompare(b.kind),
    );
  if (target.statements.some((s) => s.effect === "Allow" && s.notPrincipal))
    notes.push("the target policy uses NotPrincipal with Allow; such statements are not counted as access");
  return {
    gaps: result,
    principals: [...needs.keys()].map(displayPrincipal).sort(),
    notes,
  };
}

interface Coverage {
  unconditional: boolean;
  conditions: Set<string>;
}

function coverageOf(
  policy: KeyPolicy,
  grants: readonly GrantLike[],
  principal: string,
  action: string,
  partition: string,
): Coverage {
  const out: Coverage = { unconditional: false, conditions: new Set() };
  for (const s of policy.statements) {
    // A NotPrincipal Allow is unusual (and not allowed for most principals); counting it could
    // hide a real gap, so it is never taken as access.
    if (s.effect !== "Allow" || s.notPrincipal) continue;
    if (!statementAppliesTo(s, principal) || !statementCoversAction(s, action)) continue;
    if (s.condition === undefined) out.unconditional = true;
    else out.conditions.add(s.condition);
  }
  if (principal !== ANY_PRINCIPAL) {
    for (const g of grants) {
      if (!g.GranteePrincipal || !principalCovers(granteePrincipal(g.GranteePrincipal, partition), principal))
        continue;
      if (!(g.Operations ?? []).some((op) => `kms:${op}`.toLowerCase() === action.toLowerCase())) continue;
      const c = grantCondition(g);
      if (c === undefined) out.unconditional = true;
      else out.conditions.add(c);
    }
  }
  return out;
}
