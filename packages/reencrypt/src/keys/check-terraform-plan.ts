/**
 * `checkTerraformPlan`: seed 003's policy-as-code gate (Checkov `CKV_AWS_7`, the OPA rule) on the
 * JSON of a Terraform plan (`terraform show -json plan.tfplan`). Every `aws_kms_key` the plan
 * creates or updates must have `enable_key_rotation = true` unless it cannot rotate
 * automatically (an asymmetric or HMAC `customer_master_key_spec` / `key_spec`, or a custom key
 * store). Unlike the seed's Rego, a value only known after apply is reported (the plan cannot
 * prove rotation), and `rotation_period_in_days` can be held to a maximum.
 *
 * Resources come from `resource_changes` (addresses include modules: `module.a.aws_kms_key.b`).
 * With `includeUnchanged`, resources the plan leaves as they are (`no-op`) are checked too, and a
 * plan without `resource_changes` is read from `planned_values` and its child modules.
 */
import { KeyToolError } from "./errors.js";

/** Options of {@link checkTerraformPlan}. */
export interface TerraformCheckOptions {
  /** Flag `rotation_period_in_days` above this. @default undefined (no limit) */
  readonly maxPeriodDays?: number;
  /** Also check keys the plan does not change. @default false */
  readonly includeUnchanged?: boolean;
}

/** Why a key fails the check. */
export type TerraformFindingCode =
  "rotation-not-enabled" | "rotation-unknown-at-plan" | "period-exceeds-policy";

/** Why a key is not checked. */
export type TerraformSkipReason = "asymmetric-or-hmac" | "custom-key-store" | "deleted" | "unchanged";

/** One `aws_kms_key` of the plan and the verdict. */
export interface TerraformKeyVerdict {
  /** Resource address, e.g. `module.storage.aws_kms_key.data["logs"]`. */
  readonly address: string;
  /** The plan's actions (`["create"]`, `["delete","create"]`, …); `[]` from `planned_values`. */
  readonly actions: readonly string[];
  readonly status: "ok" | "finding" | "skipped";
  readonly code?: TerraformFindingCode;
  readonly skipReason?: TerraformSkipReason;
  /** One line for people. */
  readonly message: string;
}

/** What {@link checkTerraformPlan} returns. */
export interface TerraformCheckResult {
  readonly terraformVersion?: string;
  readonly keys: readonly TerraformKeyVerdict[];
  /** The keys with `status: "finding"`. */
  readonly findings: readonly TerraformKeyVerdict[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses the text of a plan file, with errors that say what the file is instead.
 *
 * @throws KeyToolError `ERR_NOT_A_PLAN`.
 * @example
 * ```ts
 * const plan = parseTerraformPlan(await readFile("plan.json", "utf8"));
 * ```
 */
export function parseTerraformPlan(text: string | Uint8Array, name = "the file"): Obj {
  const bytes = typeof text === "string" ? Buffer.from(text) : Buffer.from(text);
  if (bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    throw new KeyToolError(
      "ERR_NOT_A_PLAN",
      `${name} is a binary Terraform plan: convert it with \`terraform show -json ${name} > plan.json\``,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new KeyToolError(
      "ERR_NOT_A_PLAN",
      `${name} is not JSON: expected the output of \`terraform show -json plan.tfplan\``,
    );
  }
  if (!isObj(doc) || typeof doc["format_version"] !== "string") {
    throw new KeyToolError(
      "ERR_NOT_A_PLAN",
      `${name} is not a Terraform plan (no format_version): expected the output of \`terraform show -json plan.tfplan\``,
    );
  }
  if (doc["resource_changes"] === undefined && doc["planned_values"] === undefined) {
    const what = doc["values"] !== undefined ? "Terraform state, not a plan" : "not a Terraform plan";
    throw new KeyToolError(
      "ERR_NOT_A_PLAN",
      `${name} is ${what} (no resource_changes or planned_values): run \`terraform plan -out plan.tfplan && terraform show -json plan.tfplan\``,
    );
  }
  if (doc["resource_changes"] !== undefined && !Array.isArray(doc["resource_changes"])) {
    throw new KeyToolError("ERR_NOT_A_PLAN", `${name}: resource_changes is not a list`);
  }
  return doc;
}

function judge(
  address: string,
  actions: readonly string[],
  after: Obj,
  afterUnknown: Obj,
  options: TerraformCheckOptions,
): TerraformKeyVerdict {
  const base = { address, actions };
  const spec = after["customer_master_key_spec"] ?? after["key_spec"];
  if (typeof spec === "string" && spec !== "SYMMETRIC_DEFAULT") {
    return {
      ...base,
      status: "skipped",
      skipReason: "asymmetric-or-hmac",
      message: `${spec} keys cannot rotate automatically`,
    };
  }
  const store = after["custom_key_store_id"];
  if (typeof store === "string" && store !== "") {
    return {
      ...base,
      status: "skipped",
      skipReason: "custom-key-store",
      message: "keys in a custom key store cannot rotate automatically",
    };
  }
  if (afterUnknown["enable_key_rotation"] === true) {
    return {
      ...base,
      status: "finding",
      code: "rotation-unknown-at-plan",
      message: "enable_key_rotation is only known after apply; the plan cannot show rotation is on",
    };
  }
  if (after["enable_key_rotation"] !== true) {
    const value = after["enable_key_rotation"];
    return {
      ...base,
      status: "finding",
      code: "rotation-not-enabled",
      message: `enable_key_rotation is ${value === undefined || value === null ? "not set" : JSON.stringify(value)}, must be true`,
    };
  }
  const period = after["rotation_period_in_days"];
  if (options.maxPeriodDays !== undefined && typeof period === "number" && period > options.maxPeriodDays) {
    return {
      ...base,
      status: "finding",
      code: "period-exceeds-policy",
      message: `rotation_period_in_days is ${period}, longer than the policy's ${options.maxPeriodDays}`,
    };
  }
  return { ...base, status: "ok", message: "enable_key_rotation = true" };
}

function* plannedKeys(module: unknown): Generator<{ address: string; values: Obj }> {
  if (!isObj(module)) return;
  for (const r of Array.isArray(module["resources"]) ? module["resources"] : []) {
    if (!isObj(r) || r["type"] !== "aws_kms_key" || r["mode"] === "data") continue;
    yield { address: String(r["address"] ?? "aws_kms_key"), values: isObj(r["values"]) ? r["values"] : {} };
  }
  for (const child of Array.isArray(module["child_modules"]) ? module["child_modules"] : [])
    yield* plannedKeys(child);
}

/**
 * Checks every `aws_kms_key` of a plan.
 *
 * @param plan - The parsed plan (see {@link parseTerraformPlan}).
 * @example
 * ```ts
 * const { findings } = checkTerraformPlan(parseTerraformPlan(text), { maxPeriodDays: 365 });
 * if (findings.length > 0) process.exitCode = 2;
 * ```
 */
export function checkTerraformPlan(plan: Obj, options: TerraformCheckOptions = {}): TerraformCheckResult {
  const keys: TerraformKeyVerdict[] = [];
  const changes = plan["resource_changes"];
  if (Array.isArray(changes)) {
    for (const rc of changes) {
      if (!isObj(rc) || rc["type"] !== "aws_kms_key" || rc["mode"] === "data") continue;
      const address = String(rc["address"] ?? "aws_kms_key");
      const change = isObj(rc["change"]) ? rc["change"] : {};
      const actions = Array.isArray(change["actions"]) ? change["actions"].map(String) : [];
      const after = isObj(change["after"]) ? change["after"] : undefined;
      const afterUnknown = isObj(change["after_unknown"]) ? change["after_unknown"] : {};
      const changing = actions.includes("create") || actions.includes("update");
      if (after === undefined || (actions.includes("delete") && !changing)) {
        keys.push({
          address,
          actions,
          status: "skipped",
          skipReason: "deleted",
          message: "the plan deletes it",
        });
      } else if (changing || (options.includeUnchanged && actions.includes("no-op"))) {
        keys.push(judge(address, actions, after, afterUnknown, options));
      } else {
        keys.push({
          address,
          actions,
          status: "skipped",
          skipReason: "unchanged",
          message: "the plan does not change it",
        });
      }
    }
  } else if (options.includeUnchanged) {
    const planned = isObj(plan["planned_values"]) ? plan["planned_values"] : {};
    for (const { address, values } of plannedKeys(planned["root_module"]))
      keys.push(judge(address, [], values, {}, options));
  }
  const version = plan["terraform_version"];
  return {
    ...(typeof version === "string" ? { terraformVersion: version } : {}),
    keys,
    findings: keys.filter((k) => k.status === "finding"),
  };
}
