import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { checkTerraformPlan, parseTerraformPlan } from "../src/keys/check-terraform-plan.js";
import { KeyToolError } from "../src/keys/errors.js";

const fixture = (name: string) =>
  readFileSync(fileURLToPath(new URL(`./fixtures/terraform/${name}`, import.meta.url)));

function notAPlan(text: string | Uint8Array): string {
  try {
    parseTerraformPlan(text, "x.json");
  } catch (e) {
    expect(e).toBeInstanceOf(KeyToolError);
    expect((e as KeyToolError).code).toBe("ERR_NOT_A_PLAN");
    return (e as Error).message;
  }
  throw new Error("parsed");
}

describe("checkTerraformPlan", () => {
  it("flags every created or updated symmetric key without enable_key_rotation = true", () => {
    const r = checkTerraformPlan(parseTerraformPlan(fixture("plan-findings.json")));
    expect(r.terraformVersion).toBe("1.9.8");
    expect(r.findings.map((f) => [f.address, f.code])).toEqual([
      ["aws_kms_key.no_rotation", "rotation-not-enabled"],
      ['module.storage.aws_kms_key.data["logs"]', "rotation-not-enabled"],
      ["aws_kms_key.replaced", "rotation-not-enabled"],
      ["aws_kms_key.from_variable", "rotation-unknown-at-plan"],
    ]);
    const status = Object.fromEntries(r.keys.map((k) => [k.address, k.skipReason ?? k.status]));
    expect(status).toEqual({
      "aws_kms_key.no_rotation": "finding",
      "aws_kms_key.good": "ok",
      "aws_kms_key.signing": "asymmetric-or-hmac",
      "aws_kms_key.mac": "asymmetric-or-hmac",
      'module.storage.aws_kms_key.data["logs"]': "finding",
      "aws_kms_key.replaced": "finding",
      "aws_kms_key.unchanged": "unchanged",
      "aws_kms_key.from_variable": "finding",
      "aws_kms_key.long_period": "ok",
      "aws_kms_key.hsm": "custom-key-store",
      "aws_kms_key.retired": "deleted",
    });
    // data sources and other resource types are not keys to check
    expect(r.keys.some((k) => k.address.startsWith("data.") || k.address.startsWith("aws_s3"))).toBe(false);
  });

  it("messages say what the value is", () => {
    const r = checkTerraformPlan(parseTerraformPlan(fixture("plan-findings.json")));
    const msg = (a: string) => r.keys.find((k) => k.address === a)?.message;
    expect(msg("aws_kms_key.no_rotation")).toBe("enable_key_rotation is false, must be true");
    expect(msg("aws_kms_key.replaced")).toBe("enable_key_rotation is not set, must be true");
  });

  it("holds rotation_period_in_days to a maximum when asked", () => {
    const r = checkTerraformPlan(parseTerraformPlan(fixture("plan-findings.json")), { maxPeriodDays: 365 });
    expect(r.findings.map((f) => f.address)).toContain("aws_kms_key.long_period");
    expect(r.findings.find((f) => f.address === "aws_kms_key.long_period")?.code).toBe(
      "period-exceeds-policy",
    );
  });

  it("checks unchanged keys with includeUnchanged", () => {
    const r = checkTerraformPlan(parseTerraformPlan(fixture("plan-findings.json")), {
      includeUnchanged: true,
    });
    expect(r.findings.map((f) => f.address)).toContain("aws_kms_key.unchanged");
  });

  it("a clean plan has no finding", () => {
    const r = checkTerraformPlan(parseTerraformPlan(fixture("plan-clean.json")));
    expect(r.findings).toEqual([]);
    expect(r.keys.map((k) => k.status)).toEqual(["ok", "ok", "skipped"]);
  });

  it("a plan without changes: nothing to check, unless unchanged keys are asked for (planned_values, child modules)", () => {
    const plan = parseTerraformPlan(fixture("plan-no-changes.json"));
    expect(checkTerraformPlan(plan).keys).toEqual([]);
    const all = checkTerraformPlan(plan, { includeUnchanged: true });
    expect(all.findings.map((f) => f.address)).toEqual(["module.legacy.aws_kms_key.legacy"]);
    expect(all.keys).toHaveLength(2);
  });

  it("property: a key is flagged exactly when it is created or updated, symmetric, and rotation is not true", () => {
    const arb = fc.record({
      actions: fc.constantFrom<string[]>(
        ["create"],
        ["update"],
        ["delete", "create"],
        ["no-op"],
        ["delete"],
        ["read"],
      ),
      rotation: fc.constantFrom(true, false, null, undefined, "true"),
      spec: fc.constantFrom(undefined, "SYMMETRIC_DEFAULT", "RSA_4096", "HMAC_512"),
    });
    fc.assert(
      fc.property(arb, ({ actions, rotation, spec }) => {
        const after: Record<string, unknown> = {};
        if (rotation !== undefined) after["enable_key_rotation"] = rotation;
        if (spec !== undefined) after["customer_master_key_spec"] = spec;
        const deleting = actions.length === 1 && actions[0] === "delete";
        const plan = {
          format_version: "1.2",
          resource_changes: [
            {
              address: "aws_kms_key.k",
              mode: "managed",
              type: "aws_kms_key",
              change: { actions, after: deleting ? null : after },
            },
          ],
        };
        const changing = actions.includes("create") || actions.includes("update");
        const symmetric = spec === undefined || spec === "SYMMETRIC_DEFAULT";
        const expected = changing && symmetric && rotation !== true;
        expect(checkTerraformPlan(parseTerraformPlan(JSON.stringify(plan))).findings.length).toBe(
          expected ? 1 : 0,
        );
      }),
    );
  });
});

describe("parseTerraformPlan", () => {
  it("says a state file is state, not a plan", () => {
    expect(notAPlan(fixture("state.json"))).toMatch(/Terraform state, not a plan/);
  });
  it("says a .tf file is not JSON", () => {
    expect(notAPlan(fixture("main.tf"))).toMatch(/not JSON/);
  });
  it("says a binary plan must be converted with terraform show -json", () => {
    expect(notAPlan(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 1, 2]))).toMatch(
      /binary Terraform plan.*terraform show -json/,
    );
  });
  it("rejects JSON that is not a plan", () => {
    expect(notAPlan('{"Statement": []}')).toMatch(/no format_version/);
    expect(notAPlan("[1,2]")).toMatch(/no format_version/);
    expect(notAPlan('{"format_version": "1.2", "resource_changes": {}}')).toMatch(/not a list/);
  });
});
