/**
 * The `rekey` executable reads its AWS configuration as the AWS CLI does: `--profile` and
 * `AWS_PROFILE` (Region and credentials from the config files), `AWS_DEFAULT_REGION` when
 * `AWS_REGION` is not set; and a missing Region or missing credentials are their own codes
 * (ERR_AWS_REGION, ERR_AWS_CREDENTIALS) with a hint. Real processes, a HOME of their own.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";

const LAUNCHER = fileURLToPath(new URL("../bin/rekey.js", import.meta.url));
const aws = useLocalAws();
const home = mkdtempSync(join(tmpdir(), "rekey-aws-home-"));
let keyArn = "";

beforeAll(async () => {
  mkdirSync(join(home, ".aws"));
  writeFileSync(join(home, ".aws", "config"), `[profile dev]\nregion = ${aws.region}\n`);
  const { accessKeyId, secretAccessKey } = aws.credentials;
  writeFileSync(
    join(home, ".aws", "credentials"),
    `[dev]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`,
  );
  keyArn = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

/**
 * `rekey keys status <key> --json` with only the given variables (and no instance metadata).
 * Asynchronous: the built-in emulator answers from this process, which must not block.
 */
function status(env: Record<string, string>, flags: string[] = []) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [LAUNCHER, "keys", "status", keyArn, "--json", ...flags],
      {
        env: {
          PATH: process.env["PATH"],
          HOME: home,
          AWS_EC2_METADATA_DISABLED: "true",
          AWS_ENDPOINT_URL: aws.endpoint,
          ...env,
        },
        encoding: "utf8",
        timeout: 120_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("AWS configuration like the AWS CLI", () => {
  it("--profile: Region and credentials from the config files", async () => {
    const r = await status({}, ["--profile", "dev"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(keyArn.split("/")[1]);
  });

  it("AWS_PROFILE, as --profile", async () => {
    const r = await status({ AWS_PROFILE: "dev" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("AWS_DEFAULT_REGION when AWS_REGION is not set", async () => {
    const { accessKeyId, secretAccessKey } = aws.credentials;
    const r = await status({
      AWS_DEFAULT_REGION: aws.region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("no Region anywhere: ERR_AWS_REGION with the ways to set one", async () => {
    const r = await status({ AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^rekey: no AWS Region is configured \(set --region, AWS_REGION or AWS_DEFAULT_REGION.*\[ERR_AWS_REGION\]$/,
      ),
    ]);
  });

  it("no credentials for the profile: ERR_AWS_CREDENTIALS naming it", async () => {
    const r = await status({ AWS_REGION: aws.region }, ["--profile", "nosuch"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^rekey: no AWS credentials were found for profile nosuch: .*\[ERR_AWS_CREDENTIALS\]$/,
      ),
    ]);
  });
});
