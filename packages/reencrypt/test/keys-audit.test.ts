import { describe, expect, it } from "vitest";
import { classifyKey, keyScope, type KeyFacts } from "../src/keys/classify-key.js";
import { auditKeys } from "../src/keys/audit-keys.js";
import { planRotationFix } from "../src/keys/plan-rotation-fix.js";
import { applyRotationFix } from "../src/keys/apply-rotation-fix.js";
import { KeyToolError } from "../src/keys/errors.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

const NOW = new Date("2026-06-01T00:00:00Z");
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

function facts(over: Partial<KeyFacts> = {}): KeyFacts {
  return {
    keyId: "k",
    arn: "arn:aws:kms:us-east-1:111122223333:key/k",
    aliases: [],
    state: "Enabled",
    keySpec: "SYMMETRIC_DEFAULT",
    keyUsage: "ENCRYPT_DECRYPT",
    origin: "AWS_KMS",
    manager: "CUSTOMER",
    creationDate: ago(30),
    rotation: { enabled: true, periodDays: 365 },
    history: { materials: 1, records: [] },
    ...over,
  };
}

describe("keyScope", () => {
  it.each([
    [{ manager: "AWS" }, "aws-managed"],
    [{ keySpec: "RSA_2048", keyUsage: "SIGN_VERIFY" }, "asymmetric"],
    [{ keySpec: "ECC_NIST_P256" }, "asymmetric"],
    [{ keySpec: "HMAC_256", keyUsage: "GENERATE_VERIFY_MAC" }, "hmac"],
    [{ origin: "EXTERNAL" }, "imported-material"],
    [{ origin: "AWS_CLOUDHSM", customKeyStoreId: "cks-1" }, "custom-key-store"],
    [{ origin: "EXTERNAL_KEY_STORE" }, "custom-key-store"],
    [{ multiRegionKeyType: "REPLICA" }, "multi-region-replica"],
    [{ state: "PendingDeletion" }, "pending-deletion"],
    [{ state: "Disabled" }, "disabled"],
    [{ state: "PendingImport" }, "not-enabled"],
  ] as [Partial<KeyFacts>, string][])("%o is out of scope: %s", (over, reason) => {
    const s = keyScope(facts(over));
    expect(s.inScope).toBe(false);
    if (!s.inScope) {
      expect(s.reason).toBe(reason);
      expect(s.explanation.length).toBeGreaterThan(10);
    }
  });

  it("a customer-managed symmetric AWS_KMS enabled key (or primary) is in scope", () => {
    expect(keyScope(facts()).inScope).toBe(true);
    expect(keyScope(facts({ multiRegionKeyType: "PRIMARY" })).inScope).toBe(true);
  });

  it("an out-of-scope key gets no finding, even with rotation off", () => {
    const r = classifyKey(facts({ state: "Disabled", rotation: { enabled: false } }), { graceDays: 7 }, NOW);
    expect(r.findings).toEqual([]);
  });
});

describe("classifyKey", () => {
  const policy = { graceDays: 7 };

  it("flags rotation off", () => {
    const r = classifyKey(facts({ rotation: { enabled: false } }), policy, NOW);
    expect(r.findings.map((f) => f.code)).toEqual(["rotation-disabled"]);
  });

  it("flags a period longer than the policy, not one equal to it", () => {
    const long = classifyKey(
      facts({ rotation: { enabled: true, periodDays: 730 } }),
      { ...policy, maxPeriodDays: 365 },
      NOW,
    );
    expect(long.findings.map((f) => f.code)).toEqual(["period-exceeds-policy"]);
    expect(long.findings[0]?.message).toContain("730");
    const equal = classifyKey(
      facts({ rotation: { enabled: true, periodDays: 365 } }),
      { ...policy, maxPeriodDays: 365 },
      NOW,
    );
    expect(equal.findings).toEqual([]);
    const noPolicy = classifyKey(facts({ rotation: { enabled: true, periodDays: 2560 } }), policy, NOW);
    expect(noPolicy.findings).toEqual([]);
  });

  it("flags material older than the period + grace: never rotated since creation", () => {
    const old = facts({ creationDate: ago(400), rotation: { enabled: true, periodDays: 365 } });
    const r = classifyKey(old, policy, NOW);
    expect(r.findings.map((f) => f.code)).toEqual(["rotation-overdue"]);
    expect(r.findings[0]?.message).toMatch(/400 days old .*never rotated/);
    // within the grace
    expect(classifyKey(facts({ creationDate: ago(370) }), policy, NOW).findings).toEqual([]);
  });

  it("judges age from the last rotation when there is one", () => {
    const rotated = facts({
      creationDate: ago(1000),
      history: { materials: 3, records: [], lastRotationDate: ago(100), lastRotationType: "AUTOMATIC" },
    });
    expect(classifyKey(rotated, policy, NOW).findings).toEqual([]);
    const stale = facts({
      creationDate: ago(1000),
      history: { materials: 2, records: [], lastRotationDate: ago(500) },
    });
    expect(classifyKey(stale, policy, NOW).findings.map((f) => f.message)).toEqual([
      expect.stringContaining("last rotated"),
    ]);
  });

  it("uses the policy as the cryptoperiod: capped key period, or the policy when rotation is off", () => {
    const capped = facts({ creationDate: ago(200), rotation: { enabled: true, periodDays: 730 } });
    const r = classifyKey(capped, { graceDays: 7, maxPeriodDays: 180 }, NOW);
    expect(r.findings.map((f) => f.code)).toEqual(["period-exceeds-policy", "rotation-overdue"]);
    const off = facts({ creationDate: ago(500), rotation: { enabled: false } });
    expect(classifyKey(off, policy, NOW).findings.map((f) => f.code)).toEqual([
      "rotation-disabled",
      "rotation-overdue",
    ]);
  });

  it("without a history: young keys are fine, old keys get a note and no guess", () => {
    const young = classifyKey(facts({ history: "unknown", creationDate: ago(10) }), policy, NOW);
    expect(young.findings).toEqual([]);
    expect(young.notes).toEqual([]);
    const old = classifyKey(facts({ history: "unknown", creationDate: ago(900) }), policy, NOW);
    expect(old.findings).toEqual([]);
    expect(old.notes.join()).toMatch(/history unavailable/);
  });
});

describe("auditKeys", () => {
  function account() {
    const kms = new FakeKms({ pageSize: 2 });
    const ok = kms.addKey({ rotation: 365, alias: "alias/ok" });
    const off = kms.addKey({ rotation: false, alias: "alias/off" });
    const long = kms.addKey({ rotation: 1000, alias: "alias/long" });
    const disabled = kms.addKey({ rotation: false, state: "Disabled", alias: "alias/disabled" });
    const pending = kms.addKey({ rotation: false, state: "PendingDeletion" });
    const aws = kms.addKey({ manager: "AWS", alias: "alias/aws/s3" });
    const rsa = kms.addKey({ spec: "RSA_2048", usage: "SIGN_VERIFY" });
    const imported = kms.addKey({ origin: "EXTERNAL" });
    const overdue = kms.addKey({ rotation: 365, createdDaysAgo: 800, alias: "alias/old" });
    return { kms, ok, off, long, disabled, pending, aws, rsa, imported, overdue };
  }

  it("reads every page of keys and aliases and classifies each key", async () => {
    const { kms, ok, off, long, overdue, aws, rsa, imported, disabled, pending } = account();
    const report = await auditKeys(kms, { maxPeriodDays: 365, now: NOW });
    expect(report.keys).toHaveLength(9);
    expect(kms.count("ListKeys")).toBe(5); // 9 keys, pages of 2
    const byId = new Map(report.keys.map((k) => [k.keyId, k]));
    expect(byId.get(ok.id)?.findings).toEqual([]);
    expect(byId.get(ok.id)?.aliases).toEqual(["alias/ok"]);
    expect(byId.get(off.id)?.findings.map((f) => f.code)).toEqual(["rotation-disabled"]);
    expect(byId.get(long.id)?.findings.map((f) => f.code)).toEqual(["period-exceeds-policy"]);
    expect(byId.get(overdue.id)?.findings.map((f) => f.code)).toEqual(["rotation-overdue"]);
    const reasons = [aws, rsa, imported, disabled, pending].map((k) => {
      const s = byId.get(k.id)!.scope;
      return s.inScope ? "in" : s.reason;
    });
    expect(reasons).toEqual([
      "aws-managed",
      "asymmetric",
      "imported-material",
      "disabled",
      "pending-deletion",
    ]);
    expect(report.summary).toMatchObject({
      keys: 9,
      inScope: 4,
      outOfScope: 5,
      keysWithFindings: 3,
      errors: 0,
      findings: { "rotation-disabled": 1, "period-exceeds-policy": 1, "rotation-overdue": 1 },
    });
    // Keys with findings come first.
    expect(report.keys.slice(0, 3).every((k) => k.findings.length > 0)).toBe(true);
    // Rotation of AWS-managed and asymmetric keys is not even asked.
    expect(kms.calls).not.toContainEqual({ op: "GetKeyRotationStatus", keyId: aws.arn });
    expect(kms.calls).not.toContainEqual({ op: "GetKeyRotationStatus", keyId: rsa.arn });
  });

  it("reports materials and last rotation from ListKeyRotations", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const k = kms.addKey({ rotation: 365, createdDaysAgo: 800, lastRotationDaysAgo: 50 });
    const report = await auditKeys(kms, { now: NOW });
    const h = report.keys[0]!.history;
    expect(h).not.toBe("unknown");
    if (h !== "unknown") {
      expect(h.materials).toBe(2);
      expect(h.lastRotationType).toBe("AUTOMATIC");
      expect(h.lastRotationDate).toBe(k.materials[1]!.createdAt.toISOString());
    }
    expect(report.keys[0]!.findings).toEqual([]);
  });

  it("shows history 'unknown' where ListKeyRotations is not implemented (LocalStack's 501)", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.noListKeyRotations = true;
    kms.addKey({ rotation: 365, createdDaysAgo: 800 });
    const report = await auditKeys(kms, { now: NOW });
    const k = report.keys[0]!;
    expect(k.history).toBe("unknown");
    expect(k.error).toBeUndefined();
    expect(k.findings).toEqual([]);
    expect(k.notes.join(" ")).toMatch(/ListKeyRotations is not supported/);
    expect(k.notes.join(" ")).toMatch(/history unavailable/);
    expect(report.summary.errors).toBe(0);
  });

  it("one unreadable key is an error on that key; the others are still audited", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const bad = kms.addKey({ rotation: false });
    const good = kms.addKey({ rotation: false });
    kms.fail({
      operation: "GetKeyRotationStatus",
      keyId: bad.arn,
      error: "AccessDeniedException",
      message: "no",
    });
    const report = await auditKeys(kms, { now: NOW });
    const b = report.keys.find((k) => k.keyId === bad.id)!;
    const g = report.keys.find((k) => k.keyId === good.id)!;
    expect(b.error).toMatch(/AccessDeniedException/);
    expect(g.findings.map((f) => f.code)).toEqual(["rotation-disabled"]);
    expect(report.summary.errors).toBe(1);
  });

  it("a key that cannot be described is reported as unreadable with its error", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const bad = kms.addKey({ rotation: 365 });
    kms.fail({
      operation: "DescribeKey",
      keyId: bad.id,
      error: "AccessDeniedException",
      message: "not allowed",
    });
    const report = await auditKeys(kms, { now: NOW });
    expect(report.keys[0]).toMatchObject({
      keyId: bad.id,
      scope: { inScope: false, reason: "unreadable" },
      error: expect.stringMatching(/DescribeKey failed.*AccessDeniedException/),
    });
    expect(report.summary.errors).toBe(1);
  });

  it("fails as a whole when the keys cannot be listed", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.fail({ operation: "ListKeys", error: "AccessDeniedException", message: "not allowed" });
    await expect(auditKeys(kms)).rejects.toMatchObject({
      code: "ERR_KMS",
      message: expect.stringMatching(/ListKeys/),
    });
  });

  it("rejects a policy period outside 90–2560 days", async () => {
    await expect(auditKeys(new FakeKms({ pageSize: 2 }), { maxPeriodDays: 30 })).rejects.toBeInstanceOf(
      KeyToolError,
    );
  });
});

describe("planRotationFix / applyRotationFix", () => {
  async function setup() {
    const kms = new FakeKms({ pageSize: 2 });
    const off = kms.addKey({ rotation: false, alias: "alias/off" });
    const long = kms.addKey({ rotation: 1000 });
    const ok = kms.addKey({ rotation: 365 });
    const overdue = kms.addKey({ rotation: 365, createdDaysAgo: 800 });
    const disabled = kms.addKey({ rotation: false, state: "Disabled" });
    const report = await auditKeys(kms, { maxPeriodDays: 365, now: NOW });
    return { kms, off, long, ok, overdue, disabled, report };
  }

  it("plans exactly the keys with fixable findings, and lists overdue ones as manual", async () => {
    const { report, off, long, overdue } = await setup();
    const plan = planRotationFix(report);
    expect(plan.rotationPeriodDays).toBe(365);
    expect(plan.changes.map((c) => [c.arn, c.change, c.fromPeriodDays, c.toPeriodDays])).toEqual(
      expect.arrayContaining([
        [off.arn, "enable-rotation", undefined, 365],
        [long.arn, "set-period", 1000, 365],
      ]),
    );
    expect(plan.changes).toHaveLength(2);
    expect(plan.manual.map((m) => m.arn)).toEqual([overdue.arn]);
    expect(plan.manual[0]?.action).toContain("rekey keys rotate");
  });

  it("validates the period: range, and not longer than the audit's maximum", async () => {
    const { report } = await setup();
    expect(() => planRotationFix(report, { rotationPeriodDays: 30 })).toThrow(/90 to 2560/);
    expect(() => planRotationFix(report, { rotationPeriodDays: 400 })).toThrow(/longer than the maximum/);
    expect(
      planRotationFix(report, { rotationPeriodDays: 120 }).changes.every((c) => c.toPeriodDays === 120),
    ).toBe(true);
  });

  it("applies exactly the planned keys, verifies each, and goes on past a failing key", async () => {
    const { kms, report, off, long } = await setup();
    const plan = planRotationFix(report, { rotationPeriodDays: 180 });
    kms.fail({
      operation: "EnableKeyRotation",
      keyId: off.arn,
      error: "AccessDeniedException",
      message: "denied",
    });
    const results = await applyRotationFix(kms, plan);
    const enableCalls = kms.calls.filter((c) => c.op === "EnableKeyRotation").map((c) => c.keyId);
    expect(enableCalls.sort()).toEqual([off.arn, long.arn].sort());
    const byArn = new Map(results.map((r) => [r.change.arn, r]));
    expect(byArn.get(off.arn)).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/AccessDenied/),
    });
    expect(byArn.get(long.arn)).toMatchObject({
      status: "applied",
      after: { enabled: true, periodDays: 180 },
    });
    expect(long.rotationPeriodDays).toBe(180);
  });

  it("reports a change the re-read does not confirm as failed", async () => {
    const { kms, report } = await setup();
    kms.enableRotationNoop = true;
    const results = await applyRotationFix(kms, planRotationFix(report));
    expect(results.map((r) => r.status)).toEqual(["failed", "failed"]);
  });
});
