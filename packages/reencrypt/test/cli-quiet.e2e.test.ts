/**
 * Failures of the `rekey` executable are one line on stderr: usage errors name the command and
 * where its help is, instead of printing the whole help; runtime failures carry their code; and
 * the AWS SDK's Node version notice never appears, even when the caller's environment does not
 * switch it off (the executable does). Runs the real executable in child processes.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const LAUNCHER = fileURLToPath(new URL("../bin/rekey.js", import.meta.url));

/** Runs `rekey` with a minimal environment that does NOT turn the SDK notice off. */
function rekey(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], {
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("one-line failures", () => {
  it.each([
    [["plan", "--zzzz"], "rekey plan: unknown option '--zzzz' (see 'rekey plan --help')"],
    [
      ["keys", "rotate", "--nope"],
      "rekey keys rotate: unknown option '--nope' (see 'rekey keys rotate --help')",
    ],
    [["no-such-command"], "rekey: unknown command 'no-such-command' (see 'rekey --help')"],
    [["encrypt", "a", "b"], /^rekey encrypt: too many arguments .* \(see 'rekey encrypt --help'\)$/],
    [
      ["plan", "--source", "s3://b/", "--concurrency", "lots"],
      `rekey: --concurrency must be a whole number from 1 to 1024, not "lots" [ERR_USAGE] (see 'rekey plan --help')`,
    ],
  ])("usage error %j: one line, exit 1, no help", (args, line) => {
    const r = rekey(args);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(1);
    if (typeof line === "string") expect(lines[0]).toBe(line);
    else expect(lines[0]).toMatch(line);
    expect(r.stderr).not.toMatch(/Usage:|Options:/);
  });

  it("a KMS failure is one line with its code, and no AWS SDK version notice", () => {
    // An endpoint that refuses connections: a client is created and called, then fails.
    const r = rekey(["keys", "audit"], {
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
    expect(r.stderr.split("\n").filter((l) => l !== "")).toEqual([
      expect.stringMatching(/^rekey: .*\[ERR_KMS\]$/),
    ]);
    expect(r.code).not.toBe(0);
  });

  it("a reader of stdout that goes away (`| head`) stops the command quietly with 141, not a stack trace", async () => {
    const child = spawn(process.execPath, [LAUNCHER, "plan", "--help"], {
      env: { PATH: process.env["PATH"], HOME: process.env["HOME"] },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // The pipe is closed before the help is written: every write to it fails with EPIPE.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(stderr).toBe("");
    expect(code).toBe(141);
  });
});
