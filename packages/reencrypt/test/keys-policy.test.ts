import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  actionMatches,
  canonicalCondition,
  expandActions,
  hasAccountRootStatement,
  parseKeyPolicy,
  principalCovers,
  KMS_ACTIONS,
} from "../src/keys/key-policy.js";
import { comparePolicies, type AccessGap, type GrantLike } from "../src/keys/compare-policies.js";
import { KeyToolError } from "../src/keys/errors.js";

const ACCOUNT = "111122223333";
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const APP = `arn:aws:iam::${ACCOUNT}:role/app`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/key-admin`;

const rootStatement = {
  Sid: "Enable IAM User Permissions",
  Effect: "Allow",
  Principal: { AWS: ROOT },
  Action: "kms:*",
  Resource: "*",
};
const appStatement = {
  Sid: "AppUse",
  Effect: "Allow",
  Principal: { AWS: APP },
  Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
  Resource: "*",
};
const adminStatement = {
  Sid: "Admins",
  Effect: "Allow",
  Principal: { AWS: ADMIN },
  Action: ["kms:Put*", "kms:Describe*", "kms:ScheduleKeyDeletion"],
  Resource: "*",
};
const policy = (...statements: object[]): string =>
  JSON.stringify({ Version: "2012-10-17", Statement: statements });

describe("parseKeyPolicy", () => {
  it("normalizes principals: account ids become root ARNs, * is everyone, services keep their type", () => {
    const p = parseKeyPolicy(
      JSON.stringify({
        Statement: {
          Effect: "Allow",
          Principal: { AWS: [ACCOUNT, "*"], Service: "s3.amazonaws.com" },
          Action: "kms:Decrypt",
        },
      }),
    );
    expect(p.statements).toHaveLength(1);
    expect(p.statements[0]?.principals).toEqual([`AWS:${ROOT}`, "*", "Service:s3.amazonaws.com"]);
    expect(p.statements[0]?.condition).toBeUndefined();
  });

  it("keeps conditions as canonical JSON, whatever the key order", () => {
    const a = parseKeyPolicy(
      policy({
        Effect: "Allow",
        Principal: "*",
        Action: "kms:Decrypt",
        Condition: { StringEquals: { b: "1", a: "2" } },
      }),
    );
    const b = parseKeyPolicy(
      policy({
        Effect: "Allow",
        Principal: "*",
        Action: "kms:Decrypt",
        Condition: { StringEquals: { a: "2", b: "1" } },
      }),
    );
    expect(a.statements[0]?.condition).toBe(b.statements[0]?.condition);
    expect(a.statements[0]?.condition).toBeDefined();
  });

  it.each([
    ["not JSON", "{"],
    ["not an object", "[]"],
    ["no Statement", "{}"],
    ["bad Effect", policy({ Effect: "Maybe", Principal: "*", Action: "kms:*" })],
    ["bad Principal", policy({ Effect: "Allow", Principal: 7, Action: "kms:*" })],
  ])("rejects a policy with %s (ERR_INVALID_POLICY)", (_name, text) => {
    expect(() => parseKeyPolicy(text)).toThrow(KeyToolError);
    try {
      parseKeyPolicy(text);
    } catch (e) {
      expect((e as KeyToolError).code).toBe("ERR_INVALID_POLICY");
    }
  });
});

describe("actionMatches", () => {
  it.each([
    ["kms:*", "kms:Decrypt", true],
    ["*", "kms:Decrypt", true],
    ["kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext", true],
    ["kms:GenerateDataKey*", "kms:GenerateDataKey", true],
    ["kms:ReEncrypt*", "kms:ReEncryptFrom", true],
    ["kms:decrypt", "kms:Decrypt", true],
    ["kms:Decrypt", "kms:DecryptX", false],
    ["kms:Encrypt", "kms:ReEncryptTo", false],
    ["kms:?ncrypt", "kms:Encrypt", true],
    ["kms:Describe.Key", "kms:DescribeXKey", false],
  ])("%s matches %s: %s", (pattern, action, expected) => {
    expect(actionMatches(pattern, action)).toBe(expected);
  });

  it("NotAction covers everything except the listed actions", () => {
    const p = parseKeyPolicy(policy({ Effect: "Allow", Principal: { AWS: APP }, NotAction: "kms:Put*" }));
    const covered = expandActions(p.statements[0]!);
    expect(covered).toContain("kms:Decrypt");
    expect(covered).not.toContain("kms:PutKeyPolicy");
  });
});

describe("hasAccountRootStatement", () => {
  it("finds the default statement, by ARN or by bare account id", () => {
    expect(hasAccountRootStatement(parseKeyPolicy(policy(rootStatement)), ACCOUNT)).toBe(true);
    const byId = { ...rootStatement, Principal: { AWS: ACCOUNT } };
    expect(hasAccountRootStatement(parseKeyPolicy(policy(byId)), ACCOUNT)).toBe(true);
  });

  it("does not count a conditional, partial or other-account root statement", () => {
    const conditional = { ...rootStatement, Condition: { Bool: { "aws:SecureTransport": "true" } } };
    const partial = { ...rootStatement, Action: "kms:Decrypt" };
    expect(hasAccountRootStatement(parseKeyPolicy(policy(conditional)), ACCOUNT)).toBe(false);
    expect(hasAccountRootStatement(parseKeyPolicy(policy(partial)), ACCOUNT)).toBe(false);
    expect(hasAccountRootStatement(parseKeyPolicy(policy(rootStatement)), "999999999999")).toBe(false);
    expect(hasAccountRootStatement(parseKeyPolicy(policy(appStatement)), ACCOUNT)).toBe(false);
  });
});

describe("comparePolicies", () => {
  it("finds no gap when the target has the same policy", () => {
    const p = policy(rootStatement, appStatement, adminStatement);
    const r = comparePolicies({ current: { policy: p }, target: { policy: p } });
    expect(r.gaps).toEqual([]);
    expect(r.principals).toEqual([ROOT, ADMIN, APP].sort());
  });

  it("fails on a role the current key lets decrypt and the target does not (the outage)", () => {
    const r = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(rootStatement) },
    });
    expect(r.gaps).toHaveLength(1);
    const gap = r.gaps[0]!;
    expect(gap).toMatchObject({
      principal: APP,
      kind: "missing",
      severity: "fail",
      via: ['policy statement "AppUse"'],
    });
    expect(gap.actions).toEqual([
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:GenerateDataKeyPair",
      "kms:GenerateDataKeyPairWithoutPlaintext",
      "kms:DescribeKey",
    ]);
  });

  it("lists only the actions that are missing", () => {
    const partial = {
      ...appStatement,
      Action: ["kms:Decrypt", "kms:Encrypt", "kms:DescribeKey", "kms:ReEncrypt*"],
    };
    const r = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(rootStatement, partial) },
    });
    expect(r.gaps.map((g) => [g.principal, g.severity, g.actions])).toEqual([
      [
        APP,
        "fail",
        [
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:GenerateDataKeyPair",
          "kms:GenerateDataKeyPairWithoutPlaintext",
        ],
      ],
    ]);
  });

  it("counts the target's own statements however they are split or wildcarded", () => {
    const split = [
      { Effect: "Allow", Principal: { AWS: [APP] }, Action: "kms:*crypt*" },
      { Effect: "Allow", Principal: { AWS: APP }, Action: ["kms:GenerateDataKey*", "kms:DescribeKey"] },
    ];
    const r = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(rootStatement, ...split) },
    });
    expect(r.gaps).toEqual([]);
  });

  it("warns, not fails, on missing administration actions", () => {
    const r = comparePolicies({
      current: { policy: policy(rootStatement, adminStatement) },
      target: { policy: policy(rootStatement) },
    });
    const fail = r.gaps.filter((g) => g.severity === "fail");
    const warn = r.gaps.filter((g) => g.severity === "warn");
    expect(fail.map((g) => [g.principal, g.actions])).toEqual([[ADMIN, ["kms:DescribeKey"]]]);
    expect(warn.map((g) => g.principal)).toEqual([ADMIN]);
    expect(warn[0]?.actions).toEqual(["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]);
  });

  it("fails on grantees of the current key that the target does not let in, and names the grant", () => {
    const grants = [
      {
        GrantId: "g-1",
        Name: "batch",
        GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/batch`,
        Operations: ["Decrypt"],
      },
    ];
    const r = comparePolicies({
      current: { policy: policy(rootStatement), grants },
      target: { policy: policy(rootStatement) },
    });
    expect(r.gaps).toEqual([
      {
        principal: `arn:aws:iam::${ACCOUNT}:role/batch`,
        kind: "missing",
        severity: "fail",
        actions: ["kms:Decrypt"],
        via: ['grant "batch"'],
      },
    ]);
    const covered = comparePolicies({
      current: { policy: policy(rootStatement), grants },
      target: { policy: policy(rootStatement), grants: [{ ...grants[0], GrantId: "g-2" }] },
    });
    expect(covered.gaps).toEqual([]);
  });

  it("accepts the same conditions, warns on other conditions", () => {
    const cond = { StringEquals: { "kms:EncryptionContext:tenant": "a" } };
    const current = policy(rootStatement, { ...appStatement, Condition: cond });
    const same = comparePolicies({
      current: { policy: current },
      target: { policy: policy(rootStatement, { ...appStatement, Sid: "Other", Condition: cond }) },
    });
    expect(same.gaps).toEqual([]);
    const other = comparePolicies({
      current: { policy: current },
      target: {
        policy: policy(rootStatement, {
          ...appStatement,
          Condition: { StringEquals: { "kms:EncryptionContext:tenant": "b" } },
        }),
      },
    });
    expect(other.gaps.map((g) => [g.kind, g.severity])).toEqual([["conditions-differ", "warn"]]);
    const broader = comparePolicies({
      current: { policy: current },
      target: { policy: policy(rootStatement, appStatement) },
    });
    expect(broader.gaps).toEqual([]);
  });

  it("a conditional '*' statement is met only by a '*' statement with those conditions", () => {
    const everyoneViaS3 = {
      Sid: "ViaS3",
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Condition: {
        StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT },
      },
    };
    const r = comparePolicies({
      current: { policy: policy(rootStatement, everyoneViaS3) },
      target: { policy: policy(rootStatement, appStatement) },
    });
    expect(r.gaps.map((g) => [g.principal, g.kind, g.severity])).toEqual([["*", "missing", "fail"]]);
  });

  it("fails on a new unconditional Deny, warns on a new conditional one, ignores a Deny both have", () => {
    const deny = { Sid: "NoDecrypt", Effect: "Deny", Principal: { AWS: APP }, Action: "kms:Decrypt" };
    const r = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(rootStatement, appStatement, deny) },
    });
    expect(r.gaps.map((g) => [g.kind, g.severity, g.actions])).toEqual([["denied", "fail", ["kms:Decrypt"]]]);

    const tls = {
      Effect: "Deny",
      Principal: "*",
      Action: "kms:*",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
    const newTls = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(rootStatement, appStatement, tls) },
    });
    expect(newTls.gaps.every((g) => g.kind === "conditionally-denied" && g.severity === "warn")).toBe(true);
    expect(newTls.gaps.length).toBeGreaterThan(0);
    const both = comparePolicies({
      current: { policy: policy(rootStatement, appStatement, tls) },
      target: { policy: policy(rootStatement, appStatement, tls) },
    });
    expect(both.gaps).toEqual([]);
  });

  it("ignorePrincipals turns that principal's failures into warnings", () => {
    const r = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(rootStatement) },
      ignorePrincipals: [APP],
    });
    expect(r.gaps.map((g) => g.severity)).toEqual(["warn"]);
  });

  it("a missing account root statement is a failure on the root principal", () => {
    const r = comparePolicies({
      current: { policy: policy(rootStatement, appStatement) },
      target: { policy: policy(appStatement) },
    });
    expect(r.gaps.find((g) => g.severity === "fail")?.principal).toBe(ROOT);
  });

  it("property: a policy compared with itself (statements in any order) has no gap", () => {
    const principal = fc.constantFrom(APP, ADMIN, ROOT, ACCOUNT, "*");
    const action = fc.constantFrom(
      "kms:*",
      "kms:Decrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
      "kms:Put*",
      "*",
    );
    const statement = fc.record({
      Effect: fc.constantFrom("Allow", "Deny"),
      Principal: fc.oneof(
        fc.constant("*"),
        fc.record({ AWS: fc.array(principal, { minLength: 1, maxLength: 3 }) }),
      ),
      Action: fc.array(action, { minLength: 1, maxLength: 3 }),
      Condition: fc.option(
        fc.record({ StringEquals: fc.record({ "kms:CallerAccount": fc.constant(ACCOUNT) }) }),
        {
          nil: undefined,
        },
      ),
    });
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 6 }), (statements) => {
        const text = policy(...statements);
        const shuffled = policy(...[...statements].reverse());
        expect(comparePolicies({ current: { policy: text }, target: { policy: shuffled } }).gaps).toEqual([]);
      }),
    );
  });

  it("knows every usage action the brief names", () => {
    for (const a of [
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ])
      expect(KMS_ACTIONS).toContain(a);
  });
});

/** One comparison case: the current key's policy and grants, the target's, and the gaps expected. */
interface Case {
  readonly current: readonly object[];
  readonly target: readonly object[];
  readonly currentGrants?: readonly GrantLike[];
  readonly targetGrants?: readonly GrantLike[];
  /** [principal, kind, severity, actions] of every gap, in the comparison's order. */
  readonly gaps: readonly (readonly [string, AccessGap["kind"], AccessGap["severity"], readonly string[]])[];
}

function gapsOf(c: Case) {
  return comparePolicies({
    current: { policy: policy(...c.current), grants: c.currentGrants ?? [] },
    target: { policy: policy(...c.target), grants: c.targetGrants ?? [] },
  }).gaps.map((g) => [g.principal, g.kind, g.severity, g.actions]);
}

const decryptOnly = { Sid: "AppDecrypt", Effect: "Allow", Principal: { AWS: APP }, Action: "kms:Decrypt" };
const viaS3 = { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } };

describe("comparePolicies: unconditional on the current key, conditional on the target", () => {
  it.each<[string, Case]>([
    [
      "a condition added on the target is a failure (the seed-000 outage when it does not hold)",
      {
        current: [rootStatement, decryptOnly],
        target: [rootStatement, { ...decryptOnly, Condition: viaS3 }],
        gaps: [[APP, "only-conditional", "fail", ["kms:Decrypt"]]],
      },
    ],
    [
      "a grant with constraints on the target does not meet an unconditional statement",
      {
        current: [rootStatement, decryptOnly],
        target: [rootStatement],
        targetGrants: [
          {
            GrantId: "t-1",
            GranteePrincipal: APP,
            Operations: ["Decrypt"],
            Constraints: { EncryptionContextEquals: { tenant: "a" } },
          },
        ],
        gaps: [[APP, "only-conditional", "fail", ["kms:Decrypt"]]],
      },
    ],
    [
      "the same condition on both is no gap",
      {
        current: [rootStatement, { ...decryptOnly, Condition: viaS3 }],
        target: [rootStatement, { ...decryptOnly, Condition: viaS3 }],
        gaps: [],
      },
    ],
    [
      "conditional on both, other conditions: a warning",
      {
        current: [rootStatement, { ...decryptOnly, Condition: viaS3 }],
        target: [
          rootStatement,
          {
            ...decryptOnly,
            Condition: { StringEquals: { "kms:ViaService": "ec2.us-east-1.amazonaws.com" } },
          },
        ],
        gaps: [[APP, "conditions-differ", "warn", ["kms:Decrypt"]]],
      },
    ],
    [
      "an administration action only under a condition is a warning",
      {
        current: [rootStatement, { ...adminStatement, Action: "kms:PutKeyPolicy" }],
        target: [rootStatement, { ...adminStatement, Action: "kms:PutKeyPolicy", Condition: viaS3 }],
        gaps: [[ADMIN, "only-conditional", "warn", ["kms:PutKeyPolicy"]]],
      },
    ],
  ])("%s", (_name, c) => expect(gapsOf(c)).toEqual(c.gaps));
});

describe("comparePolicies: Deny statements", () => {
  const deny = { Sid: "NoDecrypt", Effect: "Deny", Principal: { AWS: APP }, Action: "kms:Decrypt" };
  it.each<[string, Case]>([
    [
      "a Deny both keys have, under another Sid, is not new",
      {
        current: [rootStatement, appStatement, deny],
        target: [rootStatement, appStatement, { ...deny, Sid: "DenyDecryptForApp" }],
        gaps: [],
      },
    ],
    [
      "a Deny both keys have, written differently (no Sid, arrays, Resource), is not new",
      {
        current: [rootStatement, appStatement, deny],
        target: [
          rootStatement,
          appStatement,
          { Effect: "Deny", Principal: { AWS: [APP] }, Action: ["kms:decrypt"], Resource: "*" },
        ],
        gaps: [],
      },
    ],
    [
      "a new Deny under a reused Sid is still new",
      {
        current: [rootStatement, appStatement, { ...deny, Action: "kms:ScheduleKeyDeletion" }],
        target: [rootStatement, appStatement, deny],
        gaps: [[APP, "denied", "fail", ["kms:Decrypt"]]],
      },
    ],
    [
      "what the current key denies unconditionally is not required of the target",
      {
        current: [rootStatement, appStatement, deny],
        target: [
          rootStatement,
          { ...appStatement, Action: appStatement.Action.filter((a) => a !== "kms:Decrypt") },
        ],
        gaps: [],
      },
    ],
    [
      "a Deny to everyone on the current key removes that action from every need",
      {
        current: [
          rootStatement,
          { ...adminStatement, Action: ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"] },
          { Effect: "Deny", Principal: "*", Action: "kms:ScheduleKeyDeletion" },
        ],
        target: [
          { ...rootStatement, NotAction: "kms:ScheduleKeyDeletion", Action: undefined },
          { ...adminStatement, Action: "kms:PutKeyPolicy" },
        ],
        gaps: [],
      },
    ],
    [
      "a conditional Deny on the current key keeps the need (the principal can when it does not hold)",
      {
        current: [rootStatement, decryptOnly, { ...deny, Condition: viaS3 }],
        target: [rootStatement],
        gaps: [[APP, "missing", "fail", ["kms:Decrypt"]]],
      },
    ],
  ])("%s", (_name, c) => expect(gapsOf(c)).toEqual(c.gaps));
});

describe("comparePolicies: grant-management operations of grants", () => {
  const batch = `arn:aws:iam::${ACCOUNT}:role/batch`;
  const batchDecrypt = { Effect: "Allow", Principal: { AWS: batch }, Action: "kms:Decrypt" };
  it.each<[string, Case]>([
    [
      "RetireGrant of a grant is a warning, its Decrypt a failure",
      {
        current: [rootStatement],
        currentGrants: [{ GrantId: "g-1", GranteePrincipal: batch, Operations: ["Decrypt", "RetireGrant"] }],
        target: [rootStatement],
        gaps: [
          [batch, "missing", "fail", ["kms:Decrypt"]],
          [batch, "missing", "warn", ["kms:RetireGrant"]],
        ],
      },
    ],
    [
      "RetireGrant and CreateGrant of a grant met by nothing: warnings only once Decrypt is met",
      {
        current: [rootStatement],
        currentGrants: [
          { GrantId: "g-1", GranteePrincipal: batch, Operations: ["Decrypt", "CreateGrant", "RetireGrant"] },
        ],
        target: [rootStatement, batchDecrypt],
        gaps: [[batch, "missing", "warn", ["kms:CreateGrant", "kms:RetireGrant"]]],
      },
    ],
    [
      "CreateGrant in a key policy stays usage (AWS services attach resources through grants)",
      {
        current: [rootStatement, { Effect: "Allow", Principal: { AWS: APP }, Action: "kms:CreateGrant" }],
        target: [rootStatement],
        gaps: [[APP, "missing", "fail", ["kms:CreateGrant"]]],
      },
    ],
    [
      "kms:RetireGrant in a key policy is administration",
      {
        current: [rootStatement, { Effect: "Allow", Principal: { AWS: ADMIN }, Action: "kms:RetireGrant" }],
        target: [rootStatement],
        gaps: [[ADMIN, "missing", "warn", ["kms:RetireGrant"]]],
      },
    ],
  ])("%s", (_name, c) => expect(gapsOf(c)).toEqual(c.gaps));
});

describe("principalCovers and role sessions", () => {
  const session = (role: string, s = "i-0abc") => `AWS:arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${s}`;
  const role = (path: string) => `AWS:arn:aws:iam::${ACCOUNT}:role/${path}`;
  it.each([
    ["a role covers its sessions", role("app"), session("app"), true],
    ["a path-qualified role covers its sessions", role("service-role/app"), session("app"), true],
    ["a role covers itself written with its path", role("team/x/app"), role("team/x/app"), true],
    ["another role's sessions are not covered", role("app"), session("application"), false],
    ["a session does not cover its role (other sessions)", session("app"), role("app"), false],
    ["a session covers itself", session("app"), session("app"), true],
    [
      "another account's role does not cover",
      `AWS:arn:aws:iam::999999999999:role/app`,
      session("app"),
      false,
    ],
    ["everyone covers a session", "*", session("app"), true],
    [
      "a user named like the role does not cover",
      `AWS:arn:aws:iam::${ACCOUNT}:user/app`,
      session("app"),
      false,
    ],
  ])("%s", (_name, granted, principal, expected) => {
    expect(principalCovers(granted, principal)).toBe(expected);
  });

  it.each<[string, Case]>([
    [
      "a grant to a role session is met by the role principal of the target",
      {
        current: [rootStatement],
        currentGrants: [
          {
            GrantId: "g-1",
            GranteePrincipal: `arn:aws:sts::${ACCOUNT}:assumed-role/app/i-0abc`,
            Operations: ["Decrypt"],
          },
        ],
        target: [
          rootStatement,
          { ...decryptOnly, Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/service-role/app` } },
        ],
        gaps: [],
      },
    ],
    [
      "a grant to a role session is not met by another role",
      {
        current: [rootStatement],
        currentGrants: [
          {
            GrantId: "g-1",
            GranteePrincipal: `arn:aws:sts::${ACCOUNT}:assumed-role/app/i-0abc`,
            Operations: ["Decrypt"],
          },
        ],
        target: [rootStatement, { ...decryptOnly, Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/other` } }],
        gaps: [[`arn:aws:sts::${ACCOUNT}:assumed-role/app/i-0abc`, "missing", "fail", ["kms:Decrypt"]]],
      },
    ],
    [
      "a role's grant on the target meets the role's need on the current key, whatever the path",
      {
        current: [
          rootStatement,
          { ...decryptOnly, Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/svc/app` } },
        ],
        target: [rootStatement],
        targetGrants: [
          {
            GrantId: "t-1",
            GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/svc/app`,
            Operations: ["Decrypt"],
          },
        ],
        gaps: [],
      },
    ],
    [
      "a new Deny on the role reaches a grant to its session",
      {
        current: [rootStatement],
        currentGrants: [
          {
            GrantId: "g-1",
            GranteePrincipal: `arn:aws:sts::${ACCOUNT}:assumed-role/app/i-0abc`,
            Operations: ["Decrypt"],
          },
        ],
        target: [rootStatement, { Effect: "Deny", Principal: { AWS: APP }, Action: "kms:Decrypt" }],
        targetGrants: [
          {
            GrantId: "t-1",
            GranteePrincipal: `arn:aws:sts::${ACCOUNT}:assumed-role/app/i-0abc`,
            Operations: ["Decrypt"],
          },
        ],
        gaps: [[`arn:aws:sts::${ACCOUNT}:assumed-role/app/i-0abc`, "denied", "fail", ["kms:Decrypt"]]],
      },
    ],
  ])("%s", (_name, c) => expect(gapsOf(c)).toEqual(c.gaps));
});

describe("condition comparison", () => {
  it.each([
    ["a value and a one-item list", { StringEquals: { k: "v" } }, { StringEquals: { k: ["v"] } }, true],
    ["list order", { StringEquals: { k: ["a", "b"] } }, { StringEquals: { k: ["b", "a"] } }, true],
    ["duplicate values", { StringEquals: { k: ["a", "a"] } }, { StringEquals: { k: "a" } }, true],
    [
      "operator and key order",
      { StringEquals: { a: "1", b: "2" }, Bool: { "aws:SecureTransport": "true" } },
      { Bool: { "aws:SecureTransport": "true" }, StringEquals: { b: "2", a: "1" } },
      true,
    ],
    [
      "key names are case-insensitive",
      { StringEquals: { "kms:ViaService": "s" } },
      { StringEquals: { "KMS:viaservice": "s" } },
      true,
    ],
    [
      "a boolean and its string",
      { Bool: { "aws:SecureTransport": true } },
      { Bool: { "aws:SecureTransport": "true" } },
      true,
    ],
    ["values differ", { StringEquals: { k: "a" } }, { StringEquals: { k: "b" } }, false],
    ["values are case-sensitive", { StringEquals: { k: "a" } }, { StringEquals: { k: "A" } }, false],
    ["operators differ", { StringEquals: { k: "a" } }, { StringLike: { k: "a" } }, false],
    ["one more value", { StringEquals: { k: "a" } }, { StringEquals: { k: ["a", "b"] } }, false],
  ])("%s: equal %s", (_name, a, b, equal) => {
    expect(canonicalCondition(a) === canonicalCondition(b)).toBe(equal);
    const gaps = gapsOf({
      current: [rootStatement, { ...decryptOnly, Condition: a }],
      target: [rootStatement, { ...decryptOnly, Condition: b }],
      gaps: [],
    });
    expect(gaps).toEqual(equal ? [] : [[APP, "conditions-differ", "warn", ["kms:Decrypt"]]]);
  });
});
