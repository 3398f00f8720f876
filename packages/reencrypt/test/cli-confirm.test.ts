/**
 * Commands that change keys or aliases (`keys rotate`, `alias cutover`, `keys audit --fix
 * --apply`): they ask on a terminal, take `--yes`, refuse without either, and say what they would
 * do with `--dry-run`. An in-memory KMS records every call, so "nothing changed" is checked.
 */
import { describe, expect, it } from "vitest";
import type { LocalAws } from "@rekey/localstack";
import { lines, runCli } from "./cli-keys-harness.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

/** Both texts were shown, `first` before `then`. */
function shownBefore(transcript: string, first: string, then: string): void {
  const a = transcript.indexOf(first);
  const b = transcript.indexOf(then);
  expect(a, first).toBeGreaterThanOrEqual(0);
  expect(b, then).toBeGreaterThanOrEqual(0);
  expect(a, `${first} before ${then}`).toBeLessThan(b);
}

const fakeAws = (kms: FakeKms) => ({ kms }) as unknown as LocalAws;
const changing = (kms: FakeKms) =>
  kms.calls.filter((c) =>
    /^(RotateKeyOnDemand|UpdateAlias|CreateAlias|CreateKey|EnableKeyRotation)/.test(c.op),
  );

describe("keys rotate", () => {
  it("without a terminal and without --yes: refuses in one line, rotates nothing", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    const r = await runCli(["keys", "rotate", "alias/app"], { aws: fakeAws(kms) });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `rekey: about to rotate the key material of alias/app now (RotateKeyOnDemand) and wait until it is current, but stdin is not a terminal to ask on: pass --yes to confirm [ERR_NOT_CONFIRMED]`,
    ]);
    expect(kms.calls).toEqual([]);
  });

  it("--yes rotates", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    const r = await runCli(["keys", "rotate", "alias/app", "--yes", "--interval", "10ms"], {
      aws: fakeAws(kms),
    });
    expect(r.code).toBe(0);
    expect(changing(kms).filter((c) => c.op === "RotateKeyOnDemand")).toHaveLength(1);
  });

  it("on a terminal asks: 'n' changes nothing, 'y' rotates", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    const no = await runCli(["keys", "rotate", "alias/app"], {
      aws: fakeAws(kms),
      stdinTty: true,
      stdin: "n\n",
    });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain("Proceed? [y/N]");
    expect(no.stderr).toContain("rekey: not confirmed: nothing was changed [ERR_NOT_CONFIRMED]");
    expect(changing(kms)).toEqual([]);
    const yes = await runCli(["keys", "rotate", "alias/app", "--interval", "10ms"], {
      aws: fakeAws(kms),
      stdinTty: true,
      stdin: "y\n",
    });
    expect(yes.code).toBe(0);
    expect(changing(kms).filter((c) => c.op === "RotateKeyOnDemand")).toHaveLength(1);
  });

  it("--dry-run names the key and rotates nothing, in text and JSON", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({ alias: "alias/app" });
    const text = await runCli(["keys", "rotate", "alias/app", "--dry-run"], { aws: fakeAws(kms) });
    expect(text.code).toBe(0);
    expect(lines(text.stdout)).toEqual([
      `Dry run: would rotate the key material of ${key.arn} now (RotateKeyOnDemand) and wait until it is current. Nothing was changed.`,
    ]);
    const json = await runCli(["keys", "rotate", "alias/app", "--dry-run", "--output", "json"], {
      aws: fakeAws(kms),
    });
    expect(JSON.parse(json.stdout)).toEqual({
      dryRun: true,
      keyArn: key.arn,
      change: "rotate-on-demand",
    });
    expect(changing(kms)).toEqual([]);
  });
});

describe("alias cutover", () => {
  it("without a terminal and without --yes: refuses before any KMS call", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const old = kms.addKey({ alias: "alias/app" });
    const next = kms.addKey();
    const r = await runCli(["alias", "cutover", "app", "--to", next.arn, "--no-rewrap"], {
      aws: fakeAws(kms),
    });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `rekey: about to point app at ${next.arn}, but stdin is not a terminal to ask on: pass --yes to confirm [ERR_NOT_CONFIRMED]`,
    ]);
    expect(kms.calls).toEqual([]);
    expect(kms.aliasTarget("alias/app")).toBe(old.id);
  });

  it("on a terminal: shows the preflight and what it will do (alias, old key, new key) before asking; 'n' changes nothing", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const old = kms.addKey({ alias: "alias/app" });
    const next = kms.addKey();
    const r = await runCli(["alias", "cutover", "app", "--to", next.arn, "--no-rewrap"], {
      aws: fakeAws(kms),
      stdinTty: true,
      stdin: "n\n",
    });
    expect(r.code).toBe(1);
    shownBefore(r.transcript, `Preflight of alias/app → ${next.arn}:`, "Proceed? [y/N]");
    shownBefore(r.transcript, "Preflight passed.", "Proceed? [y/N]");
    expect(r.stderr).toContain(`About to point alias/app at ${next.arn} (now ${old.arn}). Proceed? [y/N]`);
    expect(r.stderr).toContain("rekey: not confirmed: nothing was changed [ERR_NOT_CONFIRMED]");
    expect(changing(kms)).toEqual([]);
    expect(kms.aliasTarget("alias/app")).toBe(old.id);
  });

  it("on a terminal: 'y' moves the alias; --yes moves it without asking", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    const next = kms.addKey();
    const yes = await runCli(["alias", "cutover", "app", "--to", next.arn, "--no-rewrap"], {
      aws: fakeAws(kms),
      stdinTty: true,
      stdin: "y\n",
    });
    expect(yes.code).toBe(0);
    expect(yes.stderr).toContain("Proceed? [y/N]");
    expect(kms.aliasTarget("alias/app")).toBe(next.id);

    const kms2 = new FakeKms({ pageSize: 2 });
    kms2.addKey({ alias: "alias/app" });
    const next2 = kms2.addKey();
    const flagged = await runCli(["alias", "cutover", "app", "--to", next2.arn, "--no-rewrap", "--yes"], {
      aws: fakeAws(kms2),
      stdinTty: true,
    });
    expect(flagged.code).toBe(0);
    expect(flagged.stderr).not.toContain("Proceed?");
    expect(kms2.aliasTarget("alias/app")).toBe(next2.id);
  });

  it("--to new on a terminal asks before the key is created: 'n' creates no key", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const old = kms.addKey({ alias: "alias/app" });
    const r = await runCli(["alias", "cutover", "app", "--to", "new", "--no-rewrap"], {
      aws: fakeAws(kms),
      stdinTty: true,
      stdin: "no\n",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `About to create a new key copying ${old.arn} and point alias/app at it (now ${old.arn}). Proceed? [y/N]`,
    );
    shownBefore(r.transcript, "Preflight passed.", "Proceed? [y/N]");
    expect(changing(kms)).toEqual([]);
    expect(kms.count("CreateKey")).toBe(0);
  });

  it("--dry-run needs no --yes and moves nothing", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const old = kms.addKey({ alias: "alias/app" });
    const next = kms.addKey();
    const r = await runCli(["alias", "cutover", "app", "--to", next.arn, "--no-rewrap", "--dry-run"], {
      aws: fakeAws(kms),
    });
    expect(r.stdout).toContain("Dry run: nothing was changed.");
    expect(changing(kms)).toEqual([]);
    expect(kms.aliasTarget("alias/app")).toBe(old.id);
  });
});

describe("keys audit --fix --apply", () => {
  it("without --yes refuses and changes no key; with --yes enables rotation", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({ rotation: false });
    const args = ["keys", "audit", "--fix", "--apply", "--key", key.id];
    const refused = await runCli(args, { aws: fakeAws(kms) });
    expect(refused.code).toBe(1);
    expect(lines(refused.stderr)).toEqual([
      `rekey: about to change the rotation of 1 key (${key.arn}), but stdin is not a terminal to ask on: pass --yes to confirm [ERR_NOT_CONFIRMED]`,
    ]);
    expect(changing(kms)).toEqual([]);
    expect(key.rotationEnabled).toBe(false);
    const applied = await runCli([...args, "--yes"], { aws: fakeAws(kms) });
    expect(applied.code).toBe(0);
    expect(key.rotationEnabled).toBe(true);
  });
});
