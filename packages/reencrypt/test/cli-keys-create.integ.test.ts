/**
 * `rekey keys create` against KMS through the test adapter (the built-in emulator by default):
 * the key exists, is symmetric, rotates automatically with the period asked for, and its alias
 * resolves to it.
 */
import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  paginateListKeys,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { lines, runCli } from "./cli-keys-harness.js";

const aws = useLocalAws();

async function rotation(kms: KMSClient, keyId: string) {
  const r = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
  return { enabled: r.KeyRotationEnabled, period: r.RotationPeriodInDays };
}

async function keyCount(kms: KMSClient): Promise<number> {
  let n = 0;
  for await (const page of paginateListKeys({ client: kms }, {})) n += page.Keys?.length ?? 0;
  return n;
}

describe("rekey keys create", () => {
  it("creates a key with rotation on (365 days), an alias and a description; prints ARN and alias", async () => {
    const name = `app-${randomUUID().slice(0, 8)}`;
    const r = await runCli(["keys", "create", "--alias", name, "--description", "app data"], { aws });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    const arn = /^Created (arn:aws:kms:\S+)$/.exec(out[0] ?? "")?.[1];
    expect(arn).toBeDefined();
    expect(out.slice(1)).toEqual([
      `Alias alias/${name} points at it`,
      "Automatic rotation on, every 365 days",
    ]);
    const viaAlias = await aws.kms.send(new DescribeKeyCommand({ KeyId: `alias/${name}` }));
    expect(viaAlias.KeyMetadata?.Arn).toBe(arn);
    expect(viaAlias.KeyMetadata?.Description).toBe("app data");
    expect(viaAlias.KeyMetadata?.KeySpec).toBe("SYMMETRIC_DEFAULT");
    expect(await rotation(aws.kms, arn!)).toEqual({ enabled: true, period: 365 });
  });

  it("--output json prints one document; --rotation-period-days sets the period", async () => {
    const r = await runCli(["keys", "create", "--rotation-period-days", "90", "--output", "json"], { aws });
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout) as { keyId: string; keyArn: string; alias?: string };
    expect(created).toEqual({
      keyId: expect.any(String),
      keyArn: expect.stringContaining(created.keyId),
      rotationEnabled: true,
      rotationPeriodDays: 90,
    });
    expect(await rotation(aws.kms, created.keyId)).toEqual({ enabled: true, period: 90 });
  });

  it("--no-rotation leaves rotation off", async () => {
    const r = await runCli(["keys", "create", "--no-rotation", "--json"], { aws });
    const created = JSON.parse(r.stdout) as { keyId: string };
    expect(created).toMatchObject({ rotationEnabled: false });
    expect((await rotation(aws.kms, created.keyId)).enabled).toBe(false);
  });

  it("refuses a bad period or alias in one line before creating anything", async () => {
    const before = await keyCount(aws.kms);
    for (const [args, message] of [
      [
        ["--rotation-period-days", "30"],
        '--rotation-period-days must be a whole number from 90 to 2560, not "30"',
      ],
      [["--alias", "aws/mine"], "--alias cannot start with alias/aws/ (reserved by AWS)"],
      [
        ["--alias", "has space"],
        `--alias takes letters, digits, '/', '_' and '-' (at most 250), not "has space"`,
      ],
    ] as const) {
      const r = await runCli(["keys", "create", ...args], { aws });
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([`rekey: ${message} [ERR_USAGE]`]);
    }
    expect(await keyCount(aws.kms)).toBe(before);
  });

  it("an alias that exists: one ERR_KMS line, and the new key is scheduled for deletion", async () => {
    const name = `dup-${randomUUID().slice(0, 8)}`;
    expect((await runCli(["keys", "create", "--alias", name], { aws })).code).toBe(0);
    const r = await runCli(["keys", "create", "--alias", name], { aws });
    expect(r.code).toBe(1);
    const line = lines(r.stderr);
    expect(line).toHaveLength(1);
    expect(line[0]).toMatch(
      /^rekey: created (arn:aws:kms:\S+) but could not .*; its deletion is scheduled in 7 days: .*\[ERR_KMS\]$/,
    );
    const orphan = /created (arn:aws:kms:\S+) but/.exec(line[0]!)![1]!;
    const meta = await aws.kms.send(new DescribeKeyCommand({ KeyId: orphan }));
    expect(meta.KeyMetadata?.KeyState).toBe("PendingDeletion");
  });
});
