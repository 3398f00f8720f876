/**
 * Migrating AWS Encryption SDK messages in a directory with the job (in-memory KMS): a directory
 * mixing rekey messages, ESDK messages of the signed default suite and the unsigned committing
 * suite (KMS and raw AES keyrings, 4 KiB and 64 KiB frames, multi-frame, empty plaintext) and an
 * unrelated file; `rewrap` leaves the ESDK messages alone; `reencrypt` migrates them so that a
 * second plan finds them `current` and each decrypts to its plaintext; tampered signed messages
 * are `unreadable` and untouched.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decrypt, inspect, KmsKeyring, MultiKeyring, RawAesKeyring, type KmsCallEvent } from "@rekey/core";
import { describe, expect, it } from "vitest";
import { planJob, runJob, type JobOptions } from "../src/index.js";
import {
  esdkEncrypt,
  esdkKmsKeyring,
  esdkRawAesKeyring,
  LEGACY,
  SIGNED,
  UNSIGNED,
} from "./helpers/esdk-messages.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { sealWith } from "./helpers/messages.js";

const RAW_KEY = randomBytes(32);

interface Fixture {
  kms: FakeKms;
  oldKey: string;
  target: string;
  dir: string;
  /** ESDK files: plaintext and the context given to the ESDK. */
  esdk: Map<string, { plaintext: Buffer; context: Record<string, string> }>;
  rekey: Map<string, Buffer>;
  notes: string;
}

async function fixture(): Promise<Fixture> {
  const kms = new FakeKms();
  const oldKey = kms.addKey().arn;
  const target = kms.addKey().arn;
  const dir = await mkdtemp(join(tmpdir(), "rekey-esdk-"));
  const esdk = new Map<string, { plaintext: Buffer; context: Record<string, string> }>();
  const add = async (
    name: string,
    plaintext: Buffer,
    options: Parameters<typeof esdkEncrypt>[2] & { raw?: boolean },
  ): Promise<void> => {
    const keyring = options.raw
      ? esdkRawAesKeyring("backups", "offline-1", RAW_KEY)
      : esdkKmsKeyring(kms, oldKey);
    await writeFile(join(dir, name), await esdkEncrypt(keyring, plaintext, options));
    esdk.set(join(dir, name), { plaintext, context: options.context ?? {} });
  };
  await add("signed-4k.esdk", randomBytes(20_000), {
    suiteId: SIGNED,
    frameLength: 4096,
    context: { app: "billing" },
  });
  await add("unsigned-multi.esdk", randomBytes(300_000), {
    suiteId: UNSIGNED,
    frameLength: 65536,
    // A header longer than the first 4 KiB read: the head read grows to cover it.
    context: { app: "logs", tenant: "t1", note: "v".repeat(6000) },
  });
  await add("empty.esdk", Buffer.alloc(0), { suiteId: SIGNED, context: { app: "empty" } });
  await add("raw.esdk", randomBytes(5000), {
    suiteId: UNSIGNED,
    frameLength: 4096,
    raw: true,
    context: { app: "offline" },
  });
  const rekey = new Map<string, Buffer>();
  for (const i of [1, 2]) {
    const plaintext = randomBytes(1000 * i);
    await writeFile(
      join(dir, `r${i}.rkey`),
      await sealWith(kms, [oldKey], plaintext, { context: { n: String(i) } }),
    );
    rekey.set(join(dir, `r${i}.rkey`), plaintext);
  }
  const notes = join(dir, "notes.txt");
  await writeFile(notes, "plain text, neither format");
  return { kms, oldKey, target, dir, esdk, rekey, notes };
}

function options(f: Fixture, extra: Partial<JobOptions> = {}): JobOptions {
  return {
    kms: f.kms,
    source: { kind: "dir", path: f.dir },
    target: `key:${f.target}`,
    kmsRps: Infinity,
    decryptKeyring: new MultiKeyring([
      new RawAesKeyring({ name: "offline-1", key: RAW_KEY, esdkKeyNamespace: "backups" }),
    ]),
    ...extra,
  };
}

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(dir)) out.set(name, (await readFile(join(dir, name))).toString("hex"));
  return out;
}

describe("migrating AWS Encryption SDK messages in a directory", () => {
  it("plans them as esdk with suite and keys; rewrap reports them for reencrypt and leaves them untouched", async () => {
    const f = await fixture();
    const plan = await planJob(options(f, { mode: "rewrap" }));
    expect(plan.classes.esdk.objects).toBe(4);
    expect(plan.classes.foreign.objects).toBe(1);
    expect(plan.esdk.bySuite).toMatchObject({
      "0x0578 AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384": { objects: 2 },
      "0x0478 AES256_GCM_HKDF_SHA512_COMMIT_KEY": { objects: 2 },
    });
    expect(plan.esdk.byKey[f.oldKey]?.objects).toBe(3);
    expect(plan.esdk.byKey["(no KMS key)"]?.objects).toBe(1);
    expect(plan.failures.filter((x) => x.outcome === "esdk")).toHaveLength(4);

    const before = await snapshot(f.dir);
    const report = await runJob(options(f, { mode: "rewrap" }));
    expect(report.outcomes.esdk).toBe(4);
    expect(report.outcomes.rewrapped).toBe(2);
    expect(report.exitCode).toBe(2);
    const esdkFailures = report.failures.filter((x) => x.outcome === "esdk");
    expect(esdkFailures).toHaveLength(4);
    for (const x of esdkFailures) expect(x.reason).toMatch(/rekey reencrypt/);
    const after = await snapshot(f.dir);
    for (const path of f.esdk.keys()) {
      const name = path.slice(f.dir.length + 1);
      expect(after.get(name)).toBe(before.get(name));
    }
  });

  it("reencrypt migrates every ESDK message: a second plan finds them current, each decrypts to its plaintext", async () => {
    const f = await fixture();
    const notesBefore = await readFile(f.notes);
    const plan = await planJob(options(f, { mode: "reencrypt" }));
    expect(plan.classes.esdk.objects).toBe(4);
    // One Decrypt per KMS-wrapped message (3), one GenerateDataKey per message (4), plus the rekey ones.
    expect(plan.kmsCalls.byOperation.GenerateDataKey).toBe(6);

    const events: KmsCallEvent[] = [];
    const report = await runJob(
      options(f, { mode: "reencrypt", verify: "full", hooks: { onKmsCall: (e) => events.push(e) } }),
    );
    expect(report.outcomes).toMatchObject({ reencrypted: 6, foreign: 1, failed: 0, unreadable: 0 });
    // Every KMS call is told, the ESDK's Decrypts of the old key's messages included.
    expect(
      events.filter((e) => e.operation === "Decrypt" && e.keyArn === f.oldKey).length,
    ).toBeGreaterThanOrEqual(3);
    expect(events).toHaveLength(report.kms.requests);
    expect(report.esdk.migrated).toBe(4);
    // The two signed messages carried the ESDK's signing key in their context.
    expect(report.esdk.droppedContextKeys).toEqual({ "aws-crypto-public-key": 2 });
    // The foreign file is left alone and counted; it does not change the exit code.
    expect(report.exitCode).toBe(0);

    const again = await planJob(options(f, { mode: "reencrypt" }));
    expect(again.classes.current.objects).toBe(6);
    expect(again.classes.esdk.objects).toBe(0);
    const keyring = new KmsKeyring({ client: f.kms, allowedKeyArns: [f.target] });
    for (const [path, { plaintext, context }] of f.esdk) {
      const bytes = await readFile(path);
      expect(inspect(bytes).entries.map((e) => e.keyArn)).toEqual([f.target]);
      const out = await decrypt(bytes, { keyring });
      expect(out.plaintext.equals(plaintext)).toBe(true);
      expect({ ...out.header.encryptionContext }).toEqual(context);
    }
    expect(inspect(await readFile(join(f.dir, "signed-4k.esdk"))).frameLength).toBe(4096);
    expect(inspect(await readFile(join(f.dir, "unsigned-multi.esdk"))).frameLength).toBe(65536);
    for (const [path, plaintext] of f.rekey)
      expect((await decrypt(await readFile(path), { keyring })).plaintext.equals(plaintext)).toBe(true);
    expect(await readFile(f.notes)).toEqual(notesBefore);
    expect((await readdir(f.dir)).filter((n) => n.includes("rekey-tmp"))).toEqual([]);
  });

  it.each([
    ["its signature", (b: Buffer) => b.length - 1],
    ["its last frame", (b: Buffer) => b.length - 103 - 20],
  ])("a signed message with a byte flipped in %s is unreadable and untouched", async (_what, at) => {
    const f = await fixture();
    const path = join(f.dir, "signed-4k.esdk");
    const tampered = await readFile(path);
    const i = at(tampered);
    tampered[i] = (tampered[i] ?? 0) ^ 0x01;
    await writeFile(path, tampered);
    const report = await runJob(options(f, { mode: "reencrypt" }));
    expect(report.outcomes.unreadable).toBe(1);
    expect(report.outcomes.reencrypted).toBe(5);
    expect(report.failures.find((x) => x.object.endsWith("signed-4k.esdk"))?.code).toBe("ERR_JOB_UNREADABLE");
    expect(await readFile(path)).toEqual(tampered);
    expect((await readdir(f.dir)).filter((n) => n.includes("rekey-tmp"))).toEqual([]);
  });

  it("a raw AES ESDK message without a keyring for it fails, untouched; a legacy message is skipped", async () => {
    const f = await fixture();
    const legacyPath = join(f.dir, "legacy.esdk");
    await writeFile(
      legacyPath,
      await esdkEncrypt(esdkKmsKeyring(f.kms, f.oldKey), randomBytes(10), { suiteId: LEGACY }),
    );
    const raw = await readFile(join(f.dir, "raw.esdk"));
    const legacy = await readFile(legacyPath);
    const { decryptKeyring: _none, ...withoutRaw } = options(f, { mode: "reencrypt" });
    const report = await runJob(withoutRaw);
    expect(report.outcomes).toMatchObject({ reencrypted: 5, skipped: 1 });
    const rawFailure = report.failures.find((x) => x.object.endsWith("raw.esdk"));
    expect(rawFailure?.outcome).toBe("failed");
    expect(rawFailure?.code).toBe("ERR_JOB_NOT_REWRAPPABLE");
    expect(await readFile(join(f.dir, "raw.esdk"))).toEqual(raw);
    expect(await readFile(legacyPath)).toEqual(legacy);
  });
});
