import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  actionMatches,
  expandActions,
  hasAccountRootStatement,
  parseKeyPolicy,
  KMS_ACTIONS,
} from "../src/keys/key-policy.js";
import { comparePolicies } from "../src/keys/compare-policies.js";
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
