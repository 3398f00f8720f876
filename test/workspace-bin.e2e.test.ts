/**
 * After `pnpm install` in the repository, `pnpm exec rekey` and `pnpm exec rekey-emulator` work
 * from any folder and resolve paths against that folder (the executables are launchers committed
 * in `packages/*\/bin`, so the links exist before anything is built).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
// Inside the repository (its tmp/ is ignored by git), so pnpm finds the workspace.
mkdirSync(join(root, "tmp"), { recursive: true });
const folder = mkdtempSync(join(root, "tmp", "pnpm-exec-"));
const nested = join(folder, "a", "b");
mkdirSync(nested, { recursive: true });

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function pnpmExec(cwd: string, args: string[]) {
  const r = spawnSync("pnpm", ["exec", ...args], {
    cwd,
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"] },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("pnpm exec in the repository", () => {
  it("rekey encrypts and decrypts files named relative to the caller's folder", () => {
    writeFileSync(join(nested, "wrap.key"), randomBytes(32));
    const data = randomBytes(10_000);
    writeFileSync(join(nested, "x.bin"), data);
    const enc = pnpmExec(nested, ["rekey", "encrypt", "--raw-key-file", "wrap.key", "x.bin", "-o", "x.rkey"]);
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    expect(existsSync(join(nested, "x.rkey"))).toBe(true);
    expect(existsSync(join(root, "x.rkey"))).toBe(false);
    const dec = pnpmExec(nested, ["rekey", "decrypt", "--raw-key-file", "wrap.key", "x.rkey", "-o", "y.bin"]);
    expect(dec.stderr).toBe("");
    expect(dec.code).toBe(0);
    expect(readFileSync(join(nested, "y.bin")).equals(data)).toBe(true);
  });

  it("rekey --version and rekey-emulator --help from a package folder", () => {
    const version = pnpmExec(join(root, "packages", "core"), ["rekey", "--version"]);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const emulator = pnpmExec(join(root, "packages", "core"), ["rekey-emulator", "--help"]);
    expect(emulator.code).toBe(0);
    expect(emulator.stdout).toMatch(/^usage: rekey-emulator/);
  });
});
