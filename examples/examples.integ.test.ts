/** Each example runs as is and does what its README says. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main as appExample } from "./app-encrypt-decrypt/index.js";
import { main as manualRotation } from "./reencrypt-after-manual-rotation/index.js";
import { main as aliasCutover } from "./alias-cutover/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("examples", () => {
  it("app-encrypt-decrypt writes, reads back and inspects records", async () => {
    const lines: string[] = [];
    const read = await appExample((l) => lines.push(l));
    expect(read).toEqual([
      { id: "c-1", name: "Ada", card: "4111 1111 1111 1111" },
      { id: "c-2", name: "Grace", card: "5500 0000 0000 0004" },
      { id: "c-3", name: "Edsger", card: "3400 0000 0000 009" },
    ]);
    expect(lines.some((l) => l.includes("named as alias/rekey-app-"))).toBe(true);
  });

  it("reencrypt-after-manual-rotation moves every object onto the new key", async () => {
    const r = await manualRotation(() => undefined, 20);
    expect(r.plan.classes.rewrap.objects).toBe(20);
    expect(r.run.outcomes.rewrapped).toBe(20);
    expect(r.run.exitCode).toBe(0);
    expect(r.keysAfter).toHaveLength(20);
    expect(r.keysAfter.every((k) => k === r.newKeyArn)).toBe(true);
    expect(r.readBack).toBe(20);
  });

  it("alias-cutover refuses a key without the app role, then cuts over to a new key and rewraps", async () => {
    const lines: string[] = [];
    const r = await aliasCutover((l) => lines.push(l), 12);
    expect(r.refused.error).toMatch(/preflight failed \(principals\); nothing was changed/);
    expect(r.refused.aliasStayedOn).toBe(r.oldKeyArn);
    expect(lines.some((l) => /\[FAIL\] the target lets in every principal/.test(l))).toBe(true);
    expect(lines.some((l) => /missing: arn:aws:iam::\d+:role\/rekey-example-app/.test(l))).toBe(true);
    expect(r.newKeyArn).not.toBe(r.oldKeyArn);
    expect(r.run.outcomes.rewrapped).toBe(12);
    expect(r.run.exitCode).toBe(0);
    expect(r.underOldKey).toBe(0);
    expect(r.readBack).toBe(12);
    expect(r.oldKeyState).toBe("Enabled");
  });

  it("the demo (the README's first command) runs to the end", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=rekey-source", "examples/demo.ts"],
      {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, REKEY_DEMO_RECORDS: "24" },
        timeout: 120_000,
      },
    );
    expect(r.stderr).not.toMatch(/demo failed/);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("24/24 records decrypt through alias/rekey-demo");
    expect(r.stdout).toContain("Preflight passed.");
    expect(r.stdout).toMatch(/Done\.\n?$/);
  }, 150_000);
});
