/**
 * The packages as a user installs them. Every other test runs the TypeScript sources through the
 * "rekey-source" export condition; this one compiles the packages (`tsc -b`, as `pnpm build`) and
 * runs the compiled `dist/` with plain Node: the library across all three packages, and the
 * `rekey` executable named by `bin` in @rekey/reencrypt's package.json.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
const packages = ["core", "localstack", "reencrypt"];
const env = { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };

function node(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    env,
    input,
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const pkg = JSON.parse(readFileSync(join(root, "packages/reencrypt/package.json"), "utf8")) as {
  version: string;
  bin: { rekey: string };
};
const rekeyBin = join("packages/reencrypt", pkg.bin.rekey);
let dir = "";

beforeAll(() => {
  const build = node([tsc, "-b", ...packages.map((p) => `packages/${p}/tsconfig.build.json`)]);
  expect(build.stdout.toString() + build.stderr).toBe("");
  expect(build.code).toBe(0);
  dir = mkdtempSync(join(tmpdir(), "rekey-published-"));
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the compiled packages", () => {
  it("encrypt under KMS, rotate, plan, rewrap and decrypt, importing only dist/", () => {
    const r = node(["test/fixtures/published-smoke.mjs"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.toString()) as Record<string, unknown> & {
      resolved: Record<string, string>;
    };
    for (const p of packages) expect(out.resolved[p]).toMatch(new RegExp(`/packages/${p}/dist/index\\.js$`));
    expect(out).toMatchObject({
      toRewrap: 1,
      rewrapped: 1,
      exitCode: 0,
      materialChanged: true,
      roundTrip: true,
    });
  });

  it("the rekey executable: version, help, and a file round trip with a raw AES key", () => {
    expect(node([rekeyBin, "--version"]).stdout.toString().trim()).toBe(pkg.version);
    const help = node([rekeyBin, "--help"]);
    expect(help.code).toBe(0);
    for (const command of ["plan", "rewrap", "reencrypt", "keys", "alias", "encrypt", "decrypt", "inspect"])
      expect(help.stdout.toString()).toMatch(new RegExp(`^  ${command} `, "m"));

    const keyFile = join(dir, "wrap.key");
    writeFileSync(keyFile, randomBytes(32));
    const data = randomBytes(300_000);
    const enc = node([rekeyBin, "encrypt", "--raw-key-file", keyFile, "--context", "app=smoke"], data);
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    const dec = node([rekeyBin, "decrypt", "--raw-key-file", keyFile], enc.stdout);
    expect(dec.code).toBe(0);
    expect(Buffer.compare(dec.stdout, data)).toBe(0);
    const bad = node([rekeyBin, "decrypt", "--raw-key-file", keyFile], data);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});
