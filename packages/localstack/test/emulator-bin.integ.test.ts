/**
 * `rekey-emulator` (the package's executable, as `pnpm exec rekey-emulator` runs it): prints its
 * endpoint, serves, and stops on a signal delivered to that one process.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/rekey-emulator.js", import.meta.url));

it("prints export lines, answers KMS at the endpoint, and exits 0 on SIGTERM", async () => {
  const child = spawn(process.execPath, [bin, "--port", "0", "--region", "eu-west-1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
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
    expect(stdout).toContain("export AWS_REGION=eu-west-1");
    expect(stdout).toContain("export AWS_ACCESS_KEY_ID=test");

    const kms = new KMSClient({
      endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    await expect(kms.send(new ListKeysCommand({}))).resolves.toMatchObject({ Keys: [] });
    kms.destroy();

    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});
