/**
 * `rekey keys …` and `rekey alias cutover` against KMS through the test adapter (built-in
 * emulator, LocalStack or an endpoint). Checks a backend lacks (ListKeyRotations on LocalStack,
 * the clock, faults) are skipped on that backend only, with the reason.
 */
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
  type KMSClient,
  type Tag,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decrypt, encrypt, inspect, KmsKeyring } from "@rekey/core";
import { itWith, requireCapability, useLocalAws } from "@rekey/localstack/vitest";
import type { LocalAws } from "@rekey/localstack";
import { capturedContext, interruptSince, lines, runCli } from "./cli-keys-harness.js";
import { canonicalJson } from "../src/keys/key-policy.js";
import { runCutoverRewrap } from "../src/cli/util/cutover-rewrap.js";

const DAY = 86_400_000;
const aws = useLocalAws();

async function createKey(kms: KMSClient, init: { description?: string; policy?: string; tags?: Tag[] } = {}) {
  const r = await kms.send(
    new CreateKeyCommand({
      ...(init.description ? { Description: init.description } : {}),
      ...(init.policy ? { Policy: init.policy } : {}),
      ...(init.tags ? { Tags: init.tags } : {}),
    }),
  );
  const meta = r.KeyMetadata!;
  return { id: meta.KeyId!, arn: meta.Arn!, account: meta.AWSAccountId ?? meta.Arn!.split(":")[4]! };
}

async function rotationOf(kms: KMSClient, keyId: string) {
  const r = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
  return {
    enabled: r.KeyRotationEnabled,
    period: r.RotationPeriodInDays,
    next: r.NextRotationDate?.toISOString(),
  };
}

function keyOf(report: { keys: { keyId: string }[] }, id: string) {
  const k = report.keys.find((x) => x.keyId === id);
  if (!k) throw new Error(`key ${id} not in the report`);
  return k as unknown as {
    keyId: string;
    scope: { inScope: boolean; reason?: string };
    findings: { code: string }[];
    history: unknown;
    rotation: unknown;
  };
}

async function auditAccount(a: LocalAws) {
  const kms = a.kms;
  const ok = await createKey(kms);
  await kms.send(new EnableKeyRotationCommand({ KeyId: ok.id, RotationPeriodInDays: 365 }));
  const off = await createKey(kms);
  const long = await createKey(kms);
  await kms.send(new EnableKeyRotationCommand({ KeyId: long.id, RotationPeriodInDays: 1000 }));
  const disabled = await createKey(kms);
  await kms.send(new DisableKeyCommand({ KeyId: disabled.id }));
  const pending = await createKey(kms);
  await kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending.id, PendingWindowInDays: 7 }));
  return { ok, off, long, disabled, pending };
}

describe("rekey keys audit", () => {
  it("flags rotation off and a period past the policy, explains out-of-scope keys, exits 2", async () => {
    const k = await auditAccount(aws);
    const r = await runCli(["keys", "audit", "--max-period-days", "365", "--output", "json"], { aws });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(keyOf(report, k.ok.id).findings).toEqual([]);
    expect(keyOf(report, k.ok.id).scope.inScope).toBe(true);
    expect(keyOf(report, k.off.id).findings.map((f) => f.code)).toEqual(["rotation-disabled"]);
    expect(keyOf(report, k.long.id).findings.map((f) => f.code)).toEqual(["period-exceeds-policy"]);
    expect(keyOf(report, k.disabled.id).scope).toMatchObject({ inScope: false, reason: "disabled" });
    expect(keyOf(report, k.pending.id).scope).toMatchObject({ inScope: false, reason: "pending-deletion" });
    // The account may hold other tests' keys: the summary is checked exactly on these five.
    const ids = Object.values(k).flatMap((x) => ["--key", x.id]);
    const scoped = await runCli(["keys", "audit", "--max-period-days", "365", "--json", ...ids], { aws });
    expect(scoped.code).toBe(2);
    expect(JSON.parse(scoped.stdout).summary).toEqual({
      keys: 5,
      inScope: 3,
      outOfScope: 2,
      keysWithFindings: 2,
      findings: { "rotation-disabled": 1, "period-exceeds-policy": 1, "rotation-overdue": 0 },
      errors: 0,
    });
  });

  it("exits 0 on keys without findings, and without a policy a long period is fine", async () => {
    const k = await auditAccount(aws);
    const clean = await runCli(["keys", "audit", "--key", k.ok.id, "--key", k.long.arn, "--json"], { aws });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout).summary).toMatchObject({ keys: 2, keysWithFindings: 0, errors: 0 });
    const withPolicy = await runCli(["keys", "audit", "--key", k.long.id, "--max-period-days", "365"], {
      aws,
    });
    expect(withPolicy.code).toBe(2);
  });

  it("prints a table with findings and reasons on a terminal", async () => {
    const k = await auditAccount(aws);
    const r = await runCli(["keys", "audit", "--key", k.off.id, "--key", k.disabled.id, "--key", k.ok.id], {
      aws,
      tty: true,
    });
    expect(r.code).toBe(2);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(
      /^KEY\s+ALIASES\s+STATE\s+SPEC\s+ORIGIN\s+MANAGER\s+ROTATION\s+PERIOD\s+NEXT\s+MATERIALS\s+LAST ROTATION\s+STATUS$/,
    );
    expect(r.stdout).toContain(`${k.off.id}: rotation-disabled — automatic rotation is off`);
    expect(r.stdout).toMatch(new RegExp(`${k.disabled.id}: disabled: KMS does not rotate it`));
    expect(out.at(-1)).toMatch(/^3 keys: 2 in scope, 1 out of scope; 1 with findings; 0 errors/);
  });

  itWith(aws, "listKeyRotations")("shows materials and last rotation from ListKeyRotations", async () => {
    const key = await createKey(aws.kms);
    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: key.id }));
    await runCli(["keys", "rotate", "--yes", key.id, "--json"], { aws });
    const r = await runCli(["keys", "audit", "--key", key.id, "--json"], { aws });
    expect(r.code).toBe(0);
    expect(keyOf(JSON.parse(r.stdout), key.id).history).toMatchObject({
      materials: 2,
      lastRotationType: "ON_DEMAND",
    });
  });

  it("shows the history as 'unknown' where ListKeyRotations is not implemented (LocalStack)", async (ctx) => {
    // LocalStack answers 501 by itself; the built-in emulator is told to, as LocalStack does.
    if (aws.backend !== "localstack") {
      requireCapability(ctx, aws, "faults");
      aws.faults!.inject("kms:ListKeyRotations", { error: "not-implemented" });
    }
    const key = await createKey(aws.kms);
    const r = await runCli(["keys", "audit", "--key", key.id, "--json"], { aws });
    expect(r.code).toBe(2);
    const k = keyOf(JSON.parse(r.stdout), key.id);
    expect(k.history).toBe("unknown");
    expect(k.findings.map((f) => f.code)).toEqual(["rotation-disabled"]);
  });

  it("usage errors are one line and exit 1", async () => {
    for (const args of [
      ["keys", "audit", "--max-period-days", "30"],
      ["keys", "audit", "--apply"],
      ["keys", "audit", "--as-of", "yesterday"],
    ]) {
      const r = await runCli(args, { aws });
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^rekey: .*\[ERR_USAGE\]$/m);
      expect(r.stdout).toBe("");
    }
  });
});

describe("rekey keys audit --fix", () => {
  it("dry run lists exactly the keys to change and changes nothing", async () => {
    const k = await auditAccount(aws);
    const ids = [k.ok, k.off, k.long, k.disabled].map((x) => x.id);
    const before = await Promise.all(ids.map((id) => rotationOf(aws.kms, id)));
    const enablesBefore = aws.faults?.calls("kms:EnableKeyRotation");
    const args = [
      "keys",
      "audit",
      "--fix",
      "--max-period-days",
      "365",
      ...ids.flatMap((id) => ["--key", id]),
    ];
    const r = await runCli([...args, "--json"], { aws });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.fix.applied).toBe(false);
    expect(
      out.fix.changes
        .map((c: { keyId: string; change: string; toPeriodDays: number }) => [
          c.keyId,
          c.change,
          c.toPeriodDays,
        ])
        .sort(),
    ).toEqual(
      [
        [k.off.id, "enable-rotation", 365],
        [k.long.id, "set-period", 365],
      ].sort(),
    );
    const text = await runCli(args, { aws, tty: true });
    expect(text.stdout).toContain("Would change 2 key(s) (dry run; add --apply to change them):");
    const after = await Promise.all(ids.map((id) => rotationOf(aws.kms, id)));
    expect(after).toEqual(before);
    if (aws.faults) expect(aws.faults.calls("kms:EnableKeyRotation")).toBe(enablesBefore);
  });

  it("--apply changes exactly the listed keys, reads each back, and the audit is then clean", async () => {
    const k = await auditAccount(aws);
    const ids = [k.ok, k.off, k.long, k.disabled].map((x) => x.id);
    const before = await Promise.all(ids.map((id) => rotationOf(aws.kms, id)));
    const keyArgs = ids.flatMap((id) => ["--key", id]);
    const r = await runCli(
      [
        "keys",
        "audit",
        "--fix",
        "--apply",
        "--yes",
        "--max-period-days",
        "365",
        "--rotation-period-days",
        "180",
        "--json",
        ...keyArgs,
      ],
      { aws },
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.fix.results.map((x: { status: string }) => x.status)).toEqual(["applied", "applied"]);
    const [ok, off, long, disabled] = await Promise.all(ids.map((id) => rotationOf(aws.kms, id)));
    expect(off).toMatchObject({ enabled: true, period: 180 });
    expect(long).toMatchObject({ enabled: true, period: 180 });
    expect(ok).toEqual(before[0]);
    expect(disabled).toEqual(before[3]);
    const again = await runCli(["keys", "audit", "--max-period-days", "365", "--json", ...keyArgs], { aws });
    expect(again.code).toBe(0);
  });

  itWith(aws, "faults")("one failing key does not stop the others; the run exits 1", async () => {
    const a = await createKey(aws.kms);
    const b = await createKey(aws.kms);
    aws.faults!.inject("kms:EnableKeyRotation", { error: "internal", times: 1 });
    const r = await runCli(
      ["keys", "audit", "--fix", "--apply", "--yes", "--key", a.id, "--key", b.id, "--table"],
      {
        aws,
        maxAttempts: 1,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stdout.match(/\[FAILED: /g)).toHaveLength(1);
    expect(r.stdout.match(/\[done: rotation on, 365 days/g)).toHaveLength(1);
    const states = await Promise.all([a, b].map((x) => rotationOf(aws.kms, x.id)));
    expect(states.map((s) => s.enabled).sort()).toEqual([false, true]);
  });
});

describe("rekey keys audit: material older than the period", () => {
  const clocked = useLocalAws();
  itWith(clocked, "clock")("flags a key whose rotation was enabled long after creation", async () => {
    const key = await createKey(clocked.kms);
    await clocked.clock!.advance(400 * DAY);
    // Rotation counts its period from now: KMS will not rotate for a year, the material is 400 days old.
    await clocked.kms.send(new EnableKeyRotationCommand({ KeyId: key.id }));
    const asOf = clocked.clock!.now().toISOString();
    const r = await runCli(["keys", "audit", "--key", key.id, "--as-of", asOf, "--json"], { aws: clocked });
    expect(r.code).toBe(2);
    const k = keyOf(JSON.parse(r.stdout), key.id);
    expect(k.findings.map((f) => f.code)).toEqual(["rotation-overdue"]);
    // --fix cannot solve it; it says to rotate
    const fix = await runCli(["keys", "audit", "--fix", "--key", key.id, "--as-of", asOf, "--table"], {
      aws: clocked,
    });
    expect(fix.stdout).toContain("rekey keys rotate");
    // after an on-demand rotation the material is new and the key is clean
    const rot = await runCli(["keys", "rotate", "--yes", key.id, "--json"], { aws: clocked });
    expect(rot.code).toBe(0);
    const clean = await runCli(
      ["keys", "audit", "--key", key.id, "--as-of", clocked.clock!.now().toISOString()],
      {
        aws: clocked,
      },
    );
    expect(clean.code).toBe(0);
  });

  itWith(clocked, "clock")("automatic rotation fired by the clock shows as the last rotation", async () => {
    const key = await createKey(clocked.kms);
    await clocked.kms.send(new EnableKeyRotationCommand({ KeyId: key.id, RotationPeriodInDays: 90 }));
    await clocked.clock!.advance(100 * DAY);
    const r = await runCli(["keys", "status", key.id, "--json"], { aws: clocked });
    expect(JSON.parse(r.stdout).history).toMatchObject({ materials: 2, lastRotationType: "AUTOMATIC" });
  });
});

describe("rekey keys rotate: waiting for the new material", () => {
  // Two emulators: one whose on-demand rotation completes before RotateKeyOnDemand answers, one
  // that rotates in the background (as KMS does) until its clock moves on by an hour.
  const immediate = useLocalAws({ onDemandRotationDelayMs: 0 });
  const background = useLocalAws({ onDemandRotationDelayMs: 3_600_000 });

  itWith(immediate, "faults")(
    "reads the key once before and once after RotateKeyOnDemand when the new material is current at once",
    async () => {
      const key = await createKey(immediate.kms);
      const before = immediate.faults!.calls("kms:DescribeKey");
      const r = await runCli(["keys", "rotate", "--yes", key.id, "--json", "--interval", "10ms"], {
        aws: immediate,
      });
      expect(r.code).toBe(0);
      expect(immediate.faults!.calls("kms:RotateKeyOnDemand")).toBe(1);
      expect(immediate.faults!.calls("kms:DescribeKey") - before).toBe(2);
    },
  );

  itWith(
    background,
    "faults",
    "clock",
  )(
    "keeps reading while KMS rotates in the background, and stops at the first read of the new material",
    async () => {
      const key = await createKey(background.kms);
      const first = (await background.kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata
        ?.CurrentKeyMaterialId;
      const start = background.faults!.calls("kms:DescribeKey");
      const run = runCli(["keys", "rotate", "--yes", key.id, "--json", "--interval", "10ms"], {
        aws: background,
      });
      // One read before the request, then at least three that still see the old material.
      while (background.faults!.calls("kms:DescribeKey") - start < 4)
        await new Promise((r) => setTimeout(r, 5));
      const current = (await background.kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata
        ?.CurrentKeyMaterialId;
      expect(current).toBe(first);
      await background.clock!.advance(3_600_000);
      const r = await run;
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.previousKeyMaterialId).toBe(first);
      expect(out.newKeyMaterialId).not.toBe(first);
      const after = (await background.kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata;
      expect(after?.CurrentKeyMaterialId).toBe(out.newKeyMaterialId);
      expect(background.faults!.calls("kms:RotateKeyOnDemand")).toBe(1);
    },
  );
});

describe("rekey keys rotate / status", () => {
  it("rotates on demand and prints old and new material, which differ; the key then reports the new one", async () => {
    const key = await createKey(aws.kms);
    await aws.kms.send(
      new CreateAliasCommand({ AliasName: `alias/rot-${randomUUID()}`, TargetKeyId: key.id }),
    );
    const r = await runCli(["keys", "rotate", "--yes", key.arn, "--json"], { aws });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.previousKeyMaterialId).toMatch(/\S/);
    expect(out.newKeyMaterialId).toMatch(/\S/);
    expect(out.newKeyMaterialId).not.toBe(out.previousKeyMaterialId);
    expect(out.method).toBe("current-key-material-id");
    const now = await aws.kms.send(new DescribeKeyCommand({ KeyId: key.id }));
    expect(now.KeyMetadata?.CurrentKeyMaterialId).toBe(out.newKeyMaterialId);
  });

  it("the new material really wraps new data keys, and old data still decrypts", async (ctx) => {
    requireCapability(ctx, aws, "keyMaterialIdInResponses");
    const key = await createKey(aws.kms);
    const keyring = new KmsKeyring({ client: aws.kms, keyId: key.arn });
    const before = await encrypt(Buffer.from("before"), { keyring });
    const r = JSON.parse((await runCli(["keys", "rotate", "--yes", key.id, "--json"], { aws })).stdout);
    const after = await encrypt(Buffer.from("after"), { keyring });
    expect(inspect(before.ciphertext).entries[0]?.keyMaterialId).toBe(r.previousKeyMaterialId);
    expect(inspect(after.ciphertext).entries[0]?.keyMaterialId).toBe(r.newKeyMaterialId);
    expect((await decrypt(before.ciphertext, { keyring })).plaintext.toString()).toBe("before");
  });

  it("a key that does not exist: one error line, exit 1, nothing rotated", async () => {
    const r = await runCli(["keys", "rotate", "--yes", "alias/does-not-exist", "--timeout", "5s"], { aws });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^rekey: key not found for alias\/does-not-exist: .*\[ERR_KEY_NOT_FOUND\]$/),
    ]);
    const bad = await runCli(["keys", "rotate", "--yes", "x", "--timeout", "soon"], { aws });
    expect(bad.stderr).toMatch(/--timeout must be a duration/);
  });

  it("status shows the rotation settings, and the history where the backend has it", async () => {
    const key = await createKey(aws.kms);
    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: key.id, RotationPeriodInDays: 200 }));
    await runCli(["keys", "rotate", "--yes", key.id], { aws });
    const r = await runCli(["keys", "status", key.id, "--table"], { aws });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rotation:\s+on, every 200 days, next \d{4}-\d\d-\d\d/);
    if (aws.capabilities.listKeyRotations) {
      expect(r.stdout).toMatch(/history:\s+2 material\(s\)/);
      expect(r.stdout).toMatch(/CURRENT\s+\S+\s+ON_DEMAND/);
      const list = await aws.kms.send(new ListKeyRotationsCommand({ KeyId: key.id }));
      expect(list.Rotations?.map((x) => x.RotationType)).toEqual(["ON_DEMAND"]);
    } else if (aws.backend === "localstack") {
      expect(r.stdout).toMatch(/history:\s+unknown/);
      expect(r.stdout).toContain("ListKeyRotations is not supported");
    }
  });
});

const APP_ROLE = (account: string) => `arn:aws:iam::${account}:role/app`;
const rootStatement = (account: string) => ({
  Sid: "Enable IAM User Permissions",
  Effect: "Allow",
  Principal: { AWS: `arn:aws:iam::${account}:root` },
  Action: "kms:*",
  Resource: "*",
});
const appStatement = (account: string) => ({
  Sid: "AppUse",
  Effect: "Allow",
  Principal: { AWS: APP_ROLE(account) },
  Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
  Resource: "*",
});
const policyOf = (...s: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: s });

async function aliasTarget(kms: KMSClient, alias: string): Promise<string | undefined> {
  return (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn;
}

async function cutoverSetup(a: LocalAws) {
  const probe = await createKey(a.kms);
  const account = probe.account;
  const old = await createKey(a.kms, {
    description: "payments data key",
    policy: policyOf(rootStatement(account), appStatement(account)),
    tags: [
      { TagKey: "team", TagValue: "payments" },
      { TagKey: "env", TagValue: "test" },
    ],
  });
  const name = `cut-${randomUUID()}`;
  await a.kms.send(new CreateAliasCommand({ AliasName: `alias/${name}`, TargetKeyId: old.id }));
  return { account, old, name, alias: `alias/${name}` };
}

describe("rekey alias cutover", () => {
  it("preflight fails on a target whose policy lacks a principal of the old key: nothing changes", async () => {
    const s = await cutoverSetup(aws);
    const target = await createKey(aws.kms, { policy: policyOf(rootStatement(s.account)) });
    const r = await runCli(
      ["alias", "cutover", "--yes", s.name, "--to", target.arn, "--no-rewrap", "--table"],
      {
        aws,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("[FAIL] the target lets in every principal");
    expect(r.stdout).toContain(`missing: ${APP_ROLE(s.account)} — missing: kms:Encrypt, kms:Decrypt`);
    expect(r.stdout).toContain("Preflight FAILED: nothing was changed.");
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        /^rekey: preflight failed \(principals\); nothing was changed \[ERR_PREFLIGHT_FAILED\]$/,
      ),
    ]);
    expect(await aliasTarget(aws.kms, s.alias)).toBe(s.old.arn);
  });

  it("passes and moves the alias when the principal is present; the old key stays enabled", async () => {
    const s = await cutoverSetup(aws);
    const target = await createKey(aws.kms, {
      policy: policyOf(rootStatement(s.account), appStatement(s.account)),
    });
    const r = await runCli(
      ["alias", "cutover", "--yes", s.alias, "--to", target.id, "--no-rewrap", "--table"],
      {
        aws,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[ok]   the target lets in every principal");
    expect(r.stdout).toContain("[ok]   the target key can generate data keys");
    expect(r.stdout).toContain("[info] IAM identity policies are not checked");
    expect(r.stdout).toContain(`${s.alias} now points at ${target.arn}`);
    expect(await aliasTarget(aws.kms, s.alias)).toBe(target.arn);
    const old = await aws.kms.send(new DescribeKeyCommand({ KeyId: s.old.id }));
    expect(old.KeyMetadata?.KeyState).toBe("Enabled");
  });

  it("fails without the account root statement; lists grants of the old key as not carried over", async () => {
    const s = await cutoverSetup(aws);
    await aws.kms.send(
      new CreateGrantCommand({
        KeyId: s.old.id,
        GranteePrincipal: `arn:aws:iam::${s.account}:role/batch`,
        Operations: ["Decrypt"],
        Name: "batch-reader",
      }),
    );
    const target = await createKey(aws.kms, { policy: policyOf(appStatement(s.account)) });
    const r = await runCli(
      ["alias", "cutover", "--yes", s.name, "--to", target.arn, "--no-rewrap", "--json"],
      {
        aws,
      },
    );
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    const checks = Object.fromEntries(
      out.preflights[0].preflight.checks.map((c: { id: string; status: string }) => [c.id, c.status]),
    );
    expect(checks).toMatchObject({ "root-statement": "fail", principals: "fail", grants: "warn" });
    expect(out.preflights[0].preflight.grants).toEqual([
      expect.objectContaining({
        name: "batch-reader",
        grantee: `arn:aws:iam::${s.account}:role/batch`,
        operations: ["Decrypt"],
      }),
    ]);
    expect(await aliasTarget(aws.kms, s.alias)).toBe(s.old.arn);
  });

  it("--to new copies description, tags and policy, enables rotation, and moves the alias", async () => {
    const s = await cutoverSetup(aws);
    const r = await runCli(["alias", "cutover", "--yes", s.name, "--to", "new", "--no-rewrap", "--json"], {
      aws,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const created = out.createdKey.arn as string;
    expect(await aliasTarget(aws.kms, s.alias)).toBe(created);
    const meta = (await aws.kms.send(new DescribeKeyCommand({ KeyId: created }))).KeyMetadata!;
    expect(meta.Description).toBe("payments data key");
    const tags = (await aws.kms.send(new ListResourceTagsCommand({ KeyId: created }))).Tags ?? [];
    expect(tags.map((t) => `${t.TagKey}=${t.TagValue}`).sort()).toEqual(["env=test", "team=payments"]);
    const policies = await Promise.all(
      [s.old.id, created].map(
        async (k) =>
          (await aws.kms.send(new GetKeyPolicyCommand({ KeyId: k, PolicyName: "default" }))).Policy!,
      ),
    );
    expect(canonicalJson(JSON.parse(policies[1]!))).toBe(canonicalJson(JSON.parse(policies[0]!)));
    expect(await rotationOf(aws.kms, created)).toMatchObject({ enabled: true, period: 365 });
    expect(out.preflights.map((p: { phase: string }) => p.phase)).toEqual(["before-create", "final"]);
  });

  it("--dry-run prints the preflight and the plan and changes nothing", async () => {
    const s = await cutoverSetup(aws);
    const keysBefore = (await aws.kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length;
    const bucket = `cut-${randomUUID()}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keyring = new KmsKeyring({ client: aws.kms, keyId: s.alias });
    for (const i of [1, 2, 3]) {
      const { ciphertext } = await encrypt(Buffer.from(`object ${i}`), { keyring });
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `data/${i}.rkey`, Body: ciphertext }));
    }
    const r = await runCli(
      [
        "alias",
        "cutover",
        "--yes",
        s.name,
        "--to",
        "new",
        "--dry-run",
        "--source",
        `s3://${bucket}/data/`,
        "--table",
      ],
      {
        aws,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Preflight (before creating the new key)");
    expect(r.stdout).toContain(`under the old key ${s.old.arn}: 3 object(s)`);
    expect(r.stdout).toContain("Dry run: nothing was changed.");
    expect(await aliasTarget(aws.kms, s.alias)).toBe(s.old.arn);
    expect((await aws.kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length).toBe(keysBefore);
  });

  it("without --no-rewrap, rewraps the data under the old key onto the alias's new key and says nothing is left", async () => {
    const s = await cutoverSetup(aws);
    const bucket = `cut-${randomUUID()}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keyring = new KmsKeyring({ client: aws.kms, keyId: s.alias });
    const payloads = [1, 2, 3, 4].map((i) => randomBytes(1000 + i));
    for (const [i, p] of payloads.entries()) {
      const { ciphertext } = await encrypt(p, { keyring, encryptionContext: { n: String(i) } });
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `d/${i}`, Body: ciphertext }));
    }
    const r = await runCli(
      ["alias", "cutover", "--yes", s.name, "--to", "new", "--source", `s3://${bucket}/d/`, "--table"],
      {
        aws,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const newArn = await aliasTarget(aws.kms, s.alias);
    expect(newArn).not.toBe(s.old.arn);
    expect(r.stdout).toContain(`No object of the given sources is left under ${s.old.arn}.`);
    expect(r.stdout).toMatch(/rewrapped 4/);
    for (const [i, p] of payloads.entries()) {
      const got = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `d/${i}` }));
      const bytes = await got.Body!.transformToByteArray();
      expect(inspect(bytes).entries.map((e) => e.keyArn)).toEqual([newArn]);
      const only = new KmsKeyring({ client: aws.kms, keyId: newArn! });
      expect((await decrypt(bytes, { keyring: only })).plaintext.equals(p)).toBe(true);
    }
    const old = await aws.kms.send(new DescribeKeyCommand({ KeyId: s.old.id }));
    expect(old.KeyMetadata?.KeyState).toBe("Enabled");
  });

  it("on a terminal asks after the preflight and the plan of the data (objects planned); 'n' changes nothing, 'y' cuts over", async () => {
    const s = await cutoverSetup(aws);
    const target = await createKey(aws.kms, {
      policy: policyOf(rootStatement(s.account), appStatement(s.account)),
    });
    const bucket = `cut-${randomUUID()}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const k of ["d/one", "d/two"]) {
      const { ciphertext } = await encrypt(Buffer.from(k), {
        keyring: new KmsKeyring({ client: aws.kms, keyId: s.alias }),
      });
      await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: ciphertext }));
    }
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "d/notes.txt", Body: "not a message" }));
    const args = ["alias", "cutover", s.name, "--to", target.arn, "--source", `s3://${bucket}/d/`];
    const no = await runCli(args, { aws, stdinTty: true, stdin: "n\n" });
    expect(no.code).toBe(1);
    const asked = no.transcript.indexOf("Proceed? [y/N]");
    for (const shown of [
      "Preflight passed.",
      `Plan for s3://${bucket}/d/`,
      `under the old key ${s.old.arn}: 2 object(s)`,
    ]) {
      expect(no.transcript.indexOf(shown), shown).toBeGreaterThanOrEqual(0);
      expect(no.transcript.indexOf(shown), shown).toBeLessThan(asked);
    }
    expect(no.stderr).toContain(
      `About to point ${s.alias} at ${target.arn} (now ${s.old.arn}), then rewrap the data of the given sources (3 objects planned, 2 of them under the old key). Proceed? [y/N]`,
    );
    expect(await aliasTarget(aws.kms, s.alias)).toBe(s.old.arn);
    const untouched = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "d/one" }));
    expect(inspect(await untouched.Body!.transformToByteArray()).entries[0]?.keyArn).toBe(s.old.arn);

    const yes = await runCli(args, { aws, stdinTty: true, stdin: "y\n" });
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/rewrapped 2, .*foreign 1/);
    expect(await aliasTarget(aws.kms, s.alias)).toBe(target.arn);
  });

  it("passes the job's exit code through, writes the job's report and checkpoint", async () => {
    const s = await cutoverSetup(aws);
    const bucket = `cut-${randomUUID()}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { ciphertext } = await encrypt(Buffer.from("one"), {
      keyring: new KmsKeyring({ client: aws.kms, keyId: s.alias }),
    });
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "d/one", Body: ciphertext }));
    await aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "d/notes.txt", Body: "not a rekey message" }),
    );
    const dir = await mkdtemp(join(tmpdir(), "rekey-cutover-"));
    const report = join(dir, "report.json");
    const checkpoint = join(dir, "cp.jsonl");
    const r = await runCli(
      [
        "alias",
        "cutover",
        "--yes",
        s.name,
        "--to",
        "new",
        "--source",
        `s3://${bucket}/d/`,
        "--report",
        report,
        "--checkpoint",
        checkpoint,
        "--table",
      ],
      { aws },
    );
    // the foreign object is left alone and counted: it does not change the exit code
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rewrapped 1, .*foreign 1/);
    expect(r.stdout).toContain(`No object of the given sources is left under ${s.old.arn}.`);
    const written = JSON.parse(await readFile(report, "utf8"));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      source: `s3://${bucket}/d/`,
      report: { kind: "run", exitCode: 0, outcomes: { foreign: 1 } },
    });
    expect((await readFile(checkpoint, "utf8")).length).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(`${checkpoint}.cutover.json`, "utf8"))).toEqual({
      rekeyCutover: 1,
      alias: s.alias,
      previousKeyArn: s.old.arn,
      newKeyArn: await aliasTarget(aws.kms, s.alias),
      created: true,
    });
  });

  it("--dir rewraps local files onto the new key", async () => {
    const s = await cutoverSetup(aws);
    const dir = await mkdtemp(join(tmpdir(), "rekey-cutover-dir-"));
    const keyring = new KmsKeyring({ client: aws.kms, keyId: s.alias });
    const data = randomBytes(5000);
    await writeFile(join(dir, "a.rkey"), (await encrypt(data, { keyring })).ciphertext);
    const r = await runCli(["alias", "cutover", "--yes", s.name, "--to", "new", "--dir", dir, "--table"], {
      aws,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const newArn = await aliasTarget(aws.kms, s.alias);
    const bytes = await readFile(join(dir, "a.rkey"));
    expect(inspect(bytes).entries.map((e) => e.keyArn)).toEqual([newArn]);
    expect(
      (
        await decrypt(bytes, { keyring: new KmsKeyring({ client: aws.kms, keyId: newArn! }) })
      ).plaintext.equals(data),
    ).toBe(true);
  });

  it("asks for --source or --no-rewrap", async () => {
    const s = await cutoverSetup(aws);
    const r = await runCli(["alias", "cutover", "--yes", s.name, "--to", "new"], { aws });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^rekey: name the data to move with --source s3:\/\/bucket\/prefix, --manifest FILE or --dir PATH/,
    );
    expect(await aliasTarget(aws.kms, s.alias)).toBe(s.old.arn);
  });
});

/** An alias over a bucket of rekey objects written through it. */
async function cutoverData(a: LocalAws, count: number) {
  const s = await cutoverSetup(a);
  const bucket = `cut-${randomUUID()}`;
  await a.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keyring = new KmsKeyring({ client: a.kms, keyId: s.alias });
  for (let i = 0; i < count; i++) {
    const { ciphertext } = await encrypt(Buffer.from(`object ${i}`), { keyring });
    await a.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `d/${i}`, Body: ciphertext }));
  }
  return { ...s, bucket, source: `s3://${bucket}/d/` };
}

async function keyCount(kms: KMSClient): Promise<number> {
  return (await kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.length ?? 0;
}

describe("rekey alias cutover: re-runs resume", () => {
  itWith(aws, "faults")(
    "--to new --checkpoint: after a run that left objects behind, the same command resumes — no second key, no second preflight",
    async () => {
      const s = await cutoverData(aws, 3);
      const dir = await mkdtemp(join(tmpdir(), "rekey-resume-"));
      const args = ["alias", "cutover", "--yes", s.name, "--to", "new", "--source", s.source];
      const cp = ["--checkpoint", join(dir, "cp.jsonl"), "--table"];
      // KMS refuses every ReEncrypt in the first run (not retryable): the objects fail.
      aws.faults!.inject("kms:ReEncrypt", { error: "not-implemented" });
      const first = await runCli([...args, ...cp], { aws });
      expect(first.code).toBe(3);
      const newArn = await aliasTarget(aws.kms, s.alias);
      expect(newArn).not.toBe(s.old.arn);
      expect(first.stdout).toContain(
        `3 object(s) of the given sources are still under ${s.old.arn}: it must stay enabled.`,
      );
      aws.faults!.reset();

      const keys = await keyCount(aws.kms);
      const again = await runCli([...args, ...cp], { aws });
      expect(lines(again.stderr)).toEqual([]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(
        `${s.alias} already points at ${newArn} (recorded in ${join(dir, "cp.jsonl")}.cutover.json): skipping the preflight and the alias move; resuming the rewrap.`,
      );
      expect(again.stdout).not.toContain("Preflight");
      expect(again.stdout).toMatch(/rewrapped 3/);
      expect(again.stdout).toContain(`No object of the given sources is left under ${s.old.arn}.`);
      expect(again.stdout).toContain(`The old key ${s.old.arn} was left enabled`);
      expect(await keyCount(aws.kms)).toBe(keys);
      expect(await aliasTarget(aws.kms, s.alias)).toBe(newArn);
    },
  );

  it("--to KEY after the alias already moved there: resumes the rewrap instead of failing the preflight", async () => {
    const s = await cutoverData(aws, 2);
    const target = await createKey(aws.kms, {
      policy: policyOf(rootStatement(s.account), appStatement(s.account)),
    });
    const moved = await runCli(
      ["alias", "cutover", "--yes", s.name, "--to", target.arn, "--no-rewrap", "--table"],
      {
        aws,
      },
    );
    expect(moved.code).toBe(0);
    const r = await runCli(
      ["alias", "cutover", "--yes", s.name, "--to", target.id, "--source", s.source, "--table"],
      {
        aws,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${s.alias} already points at ${target.arn}: skipping the preflight and the alias move; resuming the rewrap.`,
    );
    expect(r.stdout).toMatch(/rewrapped 2/);
    // Without a record the old key is not known: what is said is about every other key.
    expect(r.stdout).toContain(
      `No object of the given sources is left under a key other than ${target.arn}.`,
    );
    const json = JSON.parse(
      (
        await runCli(
          ["alias", "cutover", "--yes", s.name, "--to", target.arn, "--source", s.source, "--json"],
          {
            aws,
          },
        )
      ).stdout,
    );
    expect(json.resumed).toEqual({ alias: s.alias, keyArn: target.arn, state: "moved" });
    expect(json.rewrap.underOldKey).toBe(0);
  });
});

describe("rekey alias cutover: what is said about the old key is proven", () => {
  it("a job that resolves the alias to another key than the new one touches nothing and claims nothing", async () => {
    // The alias still resolves to the old key (a stale read, or moved back): without the check,
    // every object would look "already current" and the old key would be called empty.
    const s = await cutoverData(aws, 2);
    const other = await createKey(aws.kms);
    const { ctx, result } = capturedContext({ aws });
    const err = await runCutoverRewrap(ctx, {
      request: { alias: s.alias, previousKeyArn: s.old.arn, newKeyArn: other.arn, dryRun: false },
      flags: { source: [s.source], manifest: [], dir: [] },
      kms: aws.kms,
      s3: () => aws.s3,
      json: false,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_ALIAS_MISMATCH" });
    expect((err as Error).message).toContain(`resolved ${s.alias} to ${s.old.arn}, not to ${other.arn}`);
    const out = result(1).stdout;
    expect(out).not.toContain("No object");
    expect(out).not.toContain("left under");
    for (const i of [0, 1]) {
      const got = await aws.s3.send(new GetObjectCommand({ Bucket: s.bucket, Key: `d/${i}` }));
      expect(inspect(await got.Body!.transformToByteArray()).entries[0]?.keyArn).toBe(s.old.arn);
    }
  });

  itWith(aws, "faults")("an interrupted run says objects may still be under the old key", async () => {
    const s = await cutoverData(aws, 6);
    const next = await createKey(aws.kms);
    await aws.kms.send(new UpdateAliasCommand({ AliasName: s.alias, TargetKeyId: next.arn }));
    aws.faults!.inject("kms:ReEncrypt", { latencyMs: 300 });
    const { ctx, result } = capturedContext({ aws });
    const before = new Set(process.listeners("SIGINT"));
    const run = runCutoverRewrap(ctx, {
      request: { alias: s.alias, previousKeyArn: s.old.arn, newKeyArn: next.arn, dryRun: false },
      flags: { source: [s.source], manifest: [], dir: [], concurrency: "1" },
      kms: aws.createKmsClient({ maxAttempts: 1 }),
      s3: () => aws.s3,
      json: false,
    });
    while (aws.faults!.calls("kms:ReEncrypt") === 0) await new Promise((r) => setTimeout(r, 10));
    interruptSince(before);
    const out = await run;
    expect(out.exitCode).toBe(130);
    expect(out.underOldKey).toBeUndefined();
    const text = result(0).stdout;
    expect(text).toContain(
      `Interrupted before every object was read: objects of the given sources may still be under ${s.old.arn}`,
    );
    expect(text).not.toContain("No object");
  });
});

describe("rekey alias cutover: progress", () => {
  it("shows the job's progress bar on a terminal, as rekey rewrap does", async () => {
    const s = await cutoverData(aws, 4);
    const r = await runCli(
      ["alias", "cutover", "--yes", s.name, "--to", "new", "--source", s.source, "--table"],
      {
        aws,
        tty: true,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/4\/4 objects \| .* obj\/s \| ETA .* \| errors 0/);
    // off a terminal (a log), no bar
    const s2 = await cutoverData(aws, 1);
    const plain = await runCli(
      ["alias", "cutover", "--yes", s2.name, "--to", "new", "--source", s2.source, "--table"],
      {
        aws,
      },
    );
    expect(plain.stderr).not.toMatch(/objects \|/);
  });
});
