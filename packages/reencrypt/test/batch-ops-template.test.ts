/**
 * The CloudFormation template of `deploy/batch-operations`, checked offline: parsed with the
 * CloudFormation tags, every resource type, IAM action, principal and resource pattern compared
 * with the lists below, and every S3 and KMS operation the job's code sends mapped to an action
 * the function's role allows. The checker is run on broken copies too, so each rule is shown to
 * catch what it targets.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, type YAMLSeq } from "yaml";

const TEMPLATE = fileURLToPath(new URL("../../../deploy/batch-operations/template.yaml", import.meta.url));
const SRC = fileURLToPath(new URL("../src/", import.meta.url));

const INTRINSICS = ["If", "Equals", "Or", "And", "Not", "Select", "Split", "Join"];
const TAGS = [
  { tag: "!Ref", resolve: (s: string) => ({ Ref: s }) },
  { tag: "!Sub", resolve: (s: string) => ({ "Fn::Sub": s }) },
  { tag: "!GetAtt", resolve: (s: string) => ({ "Fn::GetAtt": s.split(".") }) },
  ...INTRINSICS.map((f) => ({
    tag: `!${f}`,
    collection: "seq" as const,
    resolve: (s: YAMLSeq) => ({ [`Fn::${f}`]: s.toJSON() }),
  })),
];

type Json = Record<string, unknown>;

const RESOURCE_TYPES = new Set(["AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Logs::LogGroup"]);

/** Role → its service principal. */
const PRINCIPALS: Record<string, string> = {
  FunctionRole: "lambda.amazonaws.com",
  BatchOperationsRole: "batchoperations.s3.amazonaws.com",
};

/** Every statement a role may have: its actions, resources and the condition it is under. */
const STATEMENTS: Record<string, { actions: string[]; resources: string[]; condition?: string }> = {
  "FunctionRole/Objects": {
    actions: [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:GetObjectTagging",
      "s3:GetObjectVersionTagging",
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:AbortMultipartUpload",
    ],
    resources: ["arn:${AWS::Partition}:s3:::${DataBucket}/*"],
  },
  "FunctionRole/StoreProbe": {
    actions: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
    resources: ["arn:${AWS::Partition}:s3:::${DataBucket}/.rekey-probe/*"],
  },
  "FunctionRole/Rewrap": {
    actions: ["kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey"],
    resources: ["${KeyArns}"],
  },
  "FunctionRole/Decrypt": { actions: ["kms:Decrypt"], resources: ["${KeyArns}"], condition: "NeedsDecrypt" },
  "FunctionRole/NewDataKeys": {
    actions: ["kms:GenerateDataKey", "kms:Encrypt"],
    resources: ["${KeyArns}"],
    condition: "NeedsDataKeys",
  },
  "FunctionRole/ResolveAlias": { actions: ["kms:ListAliases"], resources: ["*"], condition: "TargetIsAlias" },
  "FunctionRole/Logs": {
    actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
    resources: ["${FunctionLogGroup.Arn}"],
  },
  "BatchOperationsRole/Invoke": { actions: ["lambda:InvokeFunction"], resources: ["${Function.Arn}"] },
  "BatchOperationsRole/ReadManifests": {
    actions: ["s3:GetObject", "s3:GetObjectVersion"],
    resources: ["arn:${AWS::Partition}:s3:::${JobFilesBucket}/${ManifestPrefix}*"],
  },
  "BatchOperationsRole/WriteReports": {
    actions: ["s3:PutObject"],
    resources: ["arn:${AWS::Partition}:s3:::${JobFilesBucket}/${ReportPrefix}*"],
  },
  "BatchOperationsRole/JobFilesBucket": {
    actions: ["s3:GetBucketLocation"],
    resources: ["arn:${AWS::Partition}:s3:::${JobFilesBucket}"],
  },
};

/**
 * The IAM actions each S3 or KMS operation of the job needs (an operation on a pinned version
 * needs the `…Version` action too). An operation the job's code sends that is not here fails
 * the test: add it to the template and to this table.
 */
const OPERATION_ACTIONS: Record<string, string[]> = {
  GetObject: ["s3:GetObject", "s3:GetObjectVersion"],
  PutObject: ["s3:PutObject"],
  CreateMultipartUpload: ["s3:PutObject"],
  UploadPart: ["s3:PutObject"],
  CompleteMultipartUpload: ["s3:PutObject"],
  UploadPartCopy: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
  AbortMultipartUpload: ["s3:AbortMultipartUpload"],
  GetObjectTagging: ["s3:GetObjectTagging", "s3:GetObjectVersionTagging"],
  PutObjectTagging: ["s3:PutObjectTagging"],
  DeleteObject: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
  DescribeKey: ["kms:DescribeKey"],
  ListAliases: ["kms:ListAliases"],
  // @rekey/core's KMS calls (kmsApiOf): rewrap, and decrypt / new data keys of a re-encrypt.
  ReEncrypt: ["kms:ReEncryptFrom", "kms:ReEncryptTo"],
  Decrypt: ["kms:Decrypt"],
  GenerateDataKey: ["kms:GenerateDataKey"],
  Encrypt: ["kms:Encrypt"],
};

/** Folders whose code runs in the Lambda function. */
const FUNCTION_FOLDERS = ["model", "support", "kms", "planning", "stores", "operations", "runner", "lambda"];

function loadTemplate(): Json {
  return parse(readFileSync(TEMPLATE, "utf8"), { customTags: TAGS }) as Json;
}

/** A resource expression as one string: `${Param}`, `${Res.Attr}`, a Sub's text, a literal. */
function render(v: unknown): string {
  if (typeof v === "string") return v;
  const o = v as Json;
  if (typeof o["Ref"] === "string") return `\${${o["Ref"]}}`;
  if (typeof o["Fn::Sub"] === "string") return o["Fn::Sub"];
  if (Array.isArray(o["Fn::GetAtt"])) return `\${${(o["Fn::GetAtt"] as string[]).join(".")}}`;
  return `(unsupported ${JSON.stringify(v)})`;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/** Problems of a template; empty when it keeps to the lists. */
function checkTemplate(t: Json): string[] {
  const problems: string[] = [];
  const resources = t["Resources"] as Record<string, { Type: string; Properties: Json }>;
  const seen = new Set<string>();
  for (const [name, r] of Object.entries(resources)) {
    if (!RESOURCE_TYPES.has(r.Type)) problems.push(`${name}: resource type ${r.Type} is not in the list`);
    if (r.Type !== "AWS::IAM::Role") continue;
    const principal = PRINCIPALS[name];
    if (!principal) {
      problems.push(`${name}: a role not in the list`);
      continue;
    }
    const trust = (r.Properties["AssumeRolePolicyDocument"] as { Statement: Json[] }).Statement;
    for (const s of trust) {
      const service = list((s["Principal"] as Json | undefined)?.["Service"]);
      if (s["Effect"] !== "Allow" || s["Action"] !== "sts:AssumeRole" || service.join() !== principal)
        problems.push(`${name}: trust ${JSON.stringify(s)} is not ${principal} only`);
    }
    if (r.Properties["ManagedPolicyArns"]) problems.push(`${name}: managed policies are not least privilege`);
    for (const p of (r.Properties["Policies"] ?? []) as { PolicyDocument: { Statement: unknown[] } }[]) {
      for (const raw of p.PolicyDocument.Statement) {
        let s = raw as Json;
        let condition: string | undefined;
        const cond = s["Fn::If"] as [string, Json, unknown] | undefined;
        if (cond) {
          condition = cond[0];
          s = cond[1];
          if (render(cond[2]) !== "${AWS::NoValue}")
            problems.push(`${name}: an If whose else grants something`);
        }
        const id = `${name}/${String(s["Sid"])}`;
        seen.add(id);
        const allowed = STATEMENTS[id];
        if (!allowed) {
          problems.push(`${id}: a statement not in the list`);
          continue;
        }
        if (s["Effect"] !== "Allow") problems.push(`${id}: Effect ${String(s["Effect"])}`);
        if (s["NotAction"] || s["NotResource"]) problems.push(`${id}: NotAction / NotResource`);
        if (condition !== allowed.condition)
          problems.push(
            `${id}: under condition ${condition ?? "none"}, expected ${allowed.condition ?? "none"}`,
          );
        for (const a of list(s["Action"]) as string[])
          if (!allowed.actions.includes(a)) problems.push(`${id}: action ${a} is not in the list`);
        for (const res of list(s["Resource"]).map(render))
          if (!allowed.resources.includes(res)) problems.push(`${id}: resource ${res} is not in the list`);
      }
    }
  }
  for (const id of Object.keys(STATEMENTS)) if (!seen.has(id)) problems.push(`${id}: missing`);
  return problems;
}

/** Actions the function's role grants (any condition). */
function functionActions(t: Json): Set<string> {
  const out = new Set<string>();
  const role = (t["Resources"] as Record<string, { Properties: Json }>)["FunctionRole"];
  for (const p of (role?.Properties["Policies"] ?? []) as { PolicyDocument: { Statement: Json[] } }[])
    for (const raw of p.PolicyDocument.Statement) {
      const s = (raw["Fn::If"] as [string, Json] | undefined)?.[1] ?? raw;
      for (const a of list(s["Action"]) as string[]) out.add(a);
    }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("deploy/batch-operations/template.yaml", () => {
  it("keeps to the lists: resource types, principals, actions, resources and conditions", () => {
    expect(checkTemplate(loadTemplate())).toEqual([]);
  });

  it("the function runs the bundled handler under its own role and log group", () => {
    const t = loadTemplate();
    const fn = (t["Resources"] as Record<string, { Properties: Json }>)["Function"]!.Properties;
    // `pnpm bundle:lambda` writes index.mjs exporting handler.
    expect(fn["Handler"]).toBe("index.handler");
    expect(String(fn["Runtime"])).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(render(fn["Role"])).toBe("${FunctionRole.Arn}");
    expect(fn["ReservedConcurrentExecutions"]).toEqual({ Ref: "ReservedConcurrency" });
    expect((fn["LoggingConfig"] as Json)["LogGroup"]).toEqual({ Ref: "FunctionLogGroup" });
    const outputs = t["Outputs"] as Record<string, { Value: unknown }>;
    expect(render(outputs["FunctionArn"]?.Value)).toBe("${Function.Arn}");
    expect(render(outputs["BatchOperationsRoleArn"]?.Value)).toBe("${BatchOperationsRole.Arn}");
  });

  it("every S3 and KMS operation the function's code sends is allowed by its role", () => {
    const granted = functionActions(loadTemplate());
    const used = new Set<string>();
    for (const folder of FUNCTION_FOLDERS)
      for (const file of sourceFiles(join(SRC, folder)))
        for (const m of readFileSync(file, "utf8").matchAll(/new (\w+)Command\(/g)) used.add(m[1] as string);
    for (const op of ["ReEncrypt", "Decrypt", "GenerateDataKey", "Encrypt"]) used.add(op);
    expect(used.size).toBeGreaterThan(10);
    for (const op of used) {
      const actions = OPERATION_ACTIONS[op];
      expect(
        actions,
        `the job sends ${op}: add its IAM actions to the template and OPERATION_ACTIONS`,
      ).toBeDefined();
      for (const a of actions ?? []) expect(granted, `${op} needs ${a}`).toContain(a);
    }
  });

  it.each<[string, (t: Json) => void, RegExp]>([
    [
      "a wildcard action",
      (t) => (statement(t, "FunctionRole", 0, 0)["Action"] = "s3:*"),
      /action s3:\* is not in the list/,
    ],
    [
      "a resource of every bucket",
      (t) => (statement(t, "FunctionRole", 0, 0)["Resource"] = "*"),
      /resource \* is not in the list/,
    ],
    [
      "a key resource of every key",
      (t) => (statement(t, "FunctionRole", 1, 0)["Resource"] = "arn:aws:kms:*:*:key/*"),
      /resource arn:aws:kms/,
    ],
    [
      "a delete outside the probe prefix",
      (t) =>
        (statement(t, "FunctionRole", 0, 1)["Resource"] = {
          "Fn::Sub": "arn:${AWS::Partition}:s3:::${DataBucket}/*",
        }),
      /StoreProbe: resource/,
    ],
    [
      "Decrypt without its condition",
      (t) => {
        const p = policy(t, "FunctionRole", 1);
        p[1] = (p[1] as Json)["Fn::If"] ? ((p[1] as Json)["Fn::If"] as Json[])[1] : p[1];
      },
      /Decrypt: under condition none, expected NeedsDecrypt/,
    ],
    [
      "another principal",
      (t) => {
        const doc = role(t, "BatchOperationsRole")["AssumeRolePolicyDocument"] as { Statement: Json[] };
        (doc.Statement[0] as Json)["Principal"] = { AWS: "*" };
      },
      /BatchOperationsRole: trust/,
    ],
    [
      "a managed policy",
      (t) => (role(t, "FunctionRole")["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]),
      /managed policies/,
    ],
    [
      "another resource type",
      (t) => ((t["Resources"] as Json)["Topic"] = { Type: "AWS::SNS::Topic", Properties: {} }),
      /AWS::SNS::Topic/,
    ],
    [
      "a Deny turned Allow elsewhere (NotAction)",
      (t) => (statement(t, "BatchOperationsRole", 0, 0)["NotAction"] = "iam:*"),
      /NotAction/,
    ],
    [
      "a statement left out",
      (t) => policy(t, "BatchOperationsRole", 0).splice(3, 1),
      /JobFilesBucket: missing/,
    ],
  ])("the checker catches %s", (_name, mutate, problem) => {
    const t = loadTemplate();
    mutate(t);
    expect(checkTemplate(t).join("\n")).toMatch(problem);
  });
});

function role(t: Json, name: string): Json {
  return ((t["Resources"] as Record<string, { Properties: Json }>)[name] as { Properties: Json }).Properties;
}
function policy(t: Json, name: string, i: number): unknown[] {
  return (
    (role(t, name)["Policies"] as { PolicyDocument: { Statement: unknown[] } }[])[i] as {
      PolicyDocument: { Statement: unknown[] };
    }
  ).PolicyDocument.Statement;
}
function statement(t: Json, name: string, i: number, j: number): Json {
  return policy(t, name, i)[j] as Json;
}
