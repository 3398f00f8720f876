/**
 * The job rewraps signed (suite 2) messages like unsigned ones: one ReEncrypt per entry under the
 * message's context (the public key included), header, body and signature kept byte for byte —
 * and the signature still verifies afterwards.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decrypt, encrypt, inspect, KmsKeyring, RekeyError, SIGNING_KEY_CONTEXT_KEY } from "@rekey/core";
import { describe, expect, it } from "vitest";
import { planJob, runJob } from "../src/index.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

describe("rewrap of signed messages", () => {
  it("rotation → the job rewraps each signed file onto the new material; the signature still verifies", async () => {
    const kms = new FakeKms();
    const key = kms.addKey().arn;
    const dir = await mkdtemp(join(tmpdir(), "rekey-signed-"));
    const files = new Map<string, { plaintext: Buffer; before: Buffer }>();
    for (let i = 0; i < 3; i++) {
      const plaintext = randomBytes(1000 + i * 70_000);
      const { ciphertext } = await encrypt(plaintext, {
        keyring: new KmsKeyring({ client: kms, keyId: key }),
        encryptionContext: { file: String(i) },
        frameLength: 65536,
        signed: true,
      });
      const path = join(dir, `f${i}.rkey`);
      await writeFile(path, ciphertext);
      files.set(path, { plaintext, before: ciphertext });
    }
    const newMaterial = kms.rotate(key);
    const plan = await planJob({
      kms,
      source: { kind: "dir", path: dir },
      target: "current",
      kmsRps: Infinity,
    });
    expect(plan.signed.objects).toBe(files.size);
    expect(plan.classes.rewrap.objects).toBe(files.size);
    const report = await runJob({
      kms,
      source: { kind: "dir", path: dir },
      target: "current",
      kmsRps: Infinity,
      verify: "full",
    });
    expect(report.outcomes.rewrapped).toBe(files.size);
    expect(report.exitCode).toBe(0);
    const keyring = new KmsKeyring({ client: kms, allowedKeyArns: [key] });
    for (const [path, { plaintext, before }] of files) {
      const now = await readFile(path);
      const info = inspect(now);
      const old = inspect(before);
      expect(info.signed).toBe(true);
      expect(info.entries[0]?.keyMaterialId).toBe(newMaterial);
      // Header, body and signature are the original bytes; only the wrapped-key section changed.
      expect(now.subarray(0, info.headerLength)).toEqual(before.subarray(0, old.headerLength));
      expect(now.subarray(info.bodyOffset)).toEqual(before.subarray(old.bodyOffset));
      expect((await decrypt(now, { keyring })).plaintext).toEqual(plaintext);
      // The signature is still checked: a flipped signature byte fails.
      const flipped = Buffer.from(now);
      flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
      const e = await decrypt(flipped, { keyring }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RekeyError);
      expect((e as RekeyError).code).toBe("ERR_DECRYPT_FAILED");
    }
  });

  it("a full re-encrypt of a signed message makes a signed message with a new key pair and data key", async () => {
    const kms = new FakeKms();
    const key = kms.addKey().arn;
    const dir = await mkdtemp(join(tmpdir(), "rekey-signed-re-"));
    const plaintext = randomBytes(150_000);
    const { ciphertext } = await encrypt(plaintext, {
      keyring: new KmsKeyring({ client: kms, keyId: key }),
      encryptionContext: { file: "s" },
      frameLength: 65536,
      signed: true,
    });
    const path = join(dir, "s.rkey");
    await writeFile(path, ciphertext);
    const report = await runJob({
      kms,
      source: { kind: "dir", path: dir },
      target: "current",
      mode: "reencrypt",
      includeCurrent: true,
      kmsRps: Infinity,
      verify: "full",
    });
    expect(report.outcomes.reencrypted).toBe(1);
    const now = await readFile(path);
    const before = inspect(ciphertext);
    const after = inspect(now);
    expect(after.signed).toBe(true);
    expect(after.messageId).not.toBe(before.messageId);
    // A new key pair: the public key in the context changed; the caller's context is kept.
    expect(after.encryptionContext["file"]).toBe("s");
    expect(after.encryptionContext[SIGNING_KEY_CONTEXT_KEY]).toBeDefined();
    expect(after.encryptionContext[SIGNING_KEY_CONTEXT_KEY]).not.toBe(
      before.encryptionContext[SIGNING_KEY_CONTEXT_KEY],
    );
    const keyring = new KmsKeyring({ client: kms, allowedKeyArns: [key] });
    expect((await decrypt(now, { keyring })).plaintext).toEqual(plaintext);
  });
});
