/**
 * The packages as a user installs them. Every other test runs the TypeScript sources through the
 * "rekey-source" export condition; this one compiles the packages (`tsc -b`, as `pnpm build`) and
 * runs the compiled `dist/` with plain Node: the library across all three packages, and the
 * `rekey` executable named by `bin` in @rekey/reencrypt's package.json. Then the three packages
 * are packed (`pnpm pack`, as `pnpm publish` would: workspace versions and `publishConfig`
 * applied) and installed with npm into a temporary folder, without their optional peers, and the
 * installed `rekey` and libraries are run from there.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

describe("the packed tarballs, installed with npm", () => {
  let prefix = "";
  /** Runs a command in the install folder, with no AWS SDK switch in its environment. */
  const run = (command: string, args: string[], input?: Buffer) => {
    const r = spawnSync(command, args, {
      cwd: prefix,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      input,
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  };

  beforeAll(() => {
    prefix = join(dir, "install");
    const tarballs = join(dir, "tarballs");
    mkdirSync(prefix);
    for (const p of packages) {
      const pack = spawnSync("pnpm", ["pack", "--pack-destination", tarballs], {
        cwd: join(root, "packages", p),
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(pack.status, pack.stderr).toBe(0);
    }
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    expect(files).toHaveLength(3);
    writeFileSync(
      join(prefix, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    const install = run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...files]);
    expect(install.code, install.stderr).toBe(0);
  }, 180_000);

  it("ships LICENSE, bin and dist, and exports without the source-only condition", () => {
    for (const p of packages) {
      const home = join(prefix, "node_modules", "@rekey", p);
      const manifest = readFileSync(join(home, "package.json"), "utf8");
      expect(manifest, p).not.toContain("rekey-source");
      expect(manifest, p).not.toContain("workspace:");
      expect(readdirSync(home), p).toEqual(expect.arrayContaining(["LICENSE", "dist", "package.json"]));
      expect(readdirSync(home), p).not.toContain("src");
    }
    // The optional peers are not installed with them.
    const installed = readdirSync(join(prefix, "node_modules"));
    expect(installed).not.toContain("testcontainers");
    expect(installed).not.toContain("@aws-crypto");
  });

  it("the installed rekey: --version, and an encrypt/decrypt round trip with a raw AES key", () => {
    const rekey = join(prefix, "node_modules", ".bin", "rekey");
    const version = run(rekey, ["--version"]);
    expect(version.stderr).toBe("");
    expect(version.stdout.toString().trim()).toBe(pkg.version);
    expect(run(join(prefix, "node_modules", ".bin", "rekey-emulator"), ["--help"]).code).toBe(0);

    const keyFile = join(prefix, "wrap.key");
    writeFileSync(keyFile, randomBytes(32));
    const data = randomBytes(200_000);
    const enc = run(rekey, ["encrypt", "--raw-key-file", keyFile, "--context", "app=installed"], data);
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    const dec = run(rekey, ["decrypt", "--raw-key-file", keyFile], enc.stdout);
    expect(dec.stderr).toBe("");
    expect(Buffer.compare(dec.stdout, data)).toBe(0);
  });

  it("without the optional peers: typed errors that name what to install", () => {
    const script = `
      import { decryptEsdk } from "@rekey/core";
      import { startLocalAws } from "@rekey/localstack";
      const out = {};
      const esdkHeader = Buffer.from([0x02, 0x04, 0x78, 0, 0, 0]);
      const arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
      await decryptEsdk(esdkHeader, { client: {}, allowedKeyArns: [arn] }).catch((e) => (out.esdk = [e.code, e.message]));
      await startLocalAws({ backend: "localstack", log: false }).catch((e) => (out.localstack = [e.code, e.message]));
      console.log(JSON.stringify(out));
    `;
    const r = run(process.execPath, ["--input-type=module", "-e", script]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout.toString()) as Record<string, [string, string]>;
    expect(out["esdk"]).toEqual([
      "ERR_FORMAT",
      expect.stringContaining("npm install @aws-crypto/client-node@5"),
    ]);
    expect(out["localstack"]).toEqual([
      "NO_CONTAINER_LIBRARY",
      expect.stringContaining("testcontainers@11 @testcontainers/localstack@11"),
    ]);
  });
});
