/**
 * `rekey-emulator` (the package's executable, as `pnpm exec rekey-emulator` runs it): prints
 * every variable the AWS CLI and SDKs need, creates the starter key, alias and bucket on request,
 * serves, and stops on a signal delivered to that one process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeysCommand,
} from "@aws-sdk/client-kms";
import { HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/rekey-emulator.js", import.meta.url));
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

/** Starts the executable and waits for its output (all of it comes in one write). */
async function start(
  args: string[],
): Promise<{ child: ChildProcessWithoutNullStreams; stdout: string; endpoint: string }> {
  const child = spawn(process.execPath, [bin, "--port", "0", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint printed; stdout: ${stdout}`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^export AWS_ENDPOINT_URL=(\S+)$/m.exec(stdout);
      if (match !== null && stdout.includes("REKEY_TEST_CAPABILITIES")) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on("exit", (code) => reject(new Error(`emulator exited early with ${code}`)));
  });
  return { child, stdout, endpoint };
}

async function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

it("prints export lines, answers KMS at the endpoint, and exits 0 on SIGTERM", async () => {
  const { child, stdout, endpoint } = await start(["--region", "eu-west-1"]);
  try {
    expect(stdout).toContain("export AWS_REGION=eu-west-1");
    expect(stdout).toContain("export AWS_DEFAULT_REGION=eu-west-1");
    expect(stdout).toContain("export AWS_ACCESS_KEY_ID=test");
    expect(stdout).toContain("export AWS_SECRET_ACCESS_KEY=test");
    expect(stdout).not.toContain("# key");

    const kms = new KMSClient({ endpoint, region: "eu-west-1", credentials });
    await expect(kms.send(new ListKeysCommand({}))).resolves.toMatchObject({ Keys: [] });
    kms.destroy();
    expect(await stop(child)).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});

it("--create-key --alias --bucket: a key with rotation on, its alias and a bucket, named on stdout", async () => {
  const { child, stdout, endpoint } = await start(["--alias", "app-data", "--bucket", "data"]);
  try {
    const keyArn = /^# key (arn:aws:kms:\S+) \(automatic rotation on\)$/m.exec(stdout)?.[1];
    expect(keyArn).toBeDefined();
    expect(stdout).toMatch(/^# alias alias\/app-data$/m);
    expect(stdout).toMatch(/^# bucket s3:\/\/data$/m);
    const kms = new KMSClient({ endpoint, region: "us-east-1", credentials });
    const viaAlias = await kms.send(new DescribeKeyCommand({ KeyId: "alias/app-data" }));
    expect(viaAlias.KeyMetadata?.Arn).toBe(keyArn);
    const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyArn! }));
    expect(rotation.KeyRotationEnabled).toBe(true);
    kms.destroy();
    const s3 = new S3Client({ endpoint, region: "us-east-1", credentials, forcePathStyle: true });
    await expect(s3.send(new HeadBucketCommand({ Bucket: "data" }))).resolves.toBeDefined();
    s3.destroy();
  } finally {
    await stop(child);
  }
});

it("a bad bucket name fails at once in one line, exit 2", async () => {
  const child = spawn(process.execPath, [bin, "--port", "0", "--bucket", "Not_A_Bucket"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  expect(code).toBe(2);
  expect(stderr).toBe(
    `rekey emulator: --bucket takes 3-63 lowercase letters, digits, '.' and '-', not "Not_A_Bucket"\n`,
  );
});
