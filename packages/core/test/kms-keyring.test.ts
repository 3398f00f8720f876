import { beforeEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  decodeKmsEntry,
  decrypt,
  DecryptError,
  encodeKmsEntry,
  encrypt,
  FormatError,
  inspect,
  InvalidArgumentError,
  KmsError,
  KmsKeyring,
  NoMatchingKeyError,
  parseMessagePrefix,
  rewrapKmsEntry,
  serializePrefixWithEntries,
  type KmsCallEvent,
  type MessagePrefix,
} from "@rekey/core";
import { FakeKms } from "@rekey/localstack/fake-kms";

let kms: FakeKms;
let keyArn: string;
const ctx = { tenant: "acme", table: "invoices" };

function prefixOf(bytes: Uint8Array): MessagePrefix {
  const p = parseMessagePrefix(bytes);
  if (p.status !== "ok") throw new Error("must parse");
  return p.value;
}

beforeEach(() => {
  kms = new FakeKms();
  keyArn = kms.addKey({ alias: "alias/app" }).arn;
});

describe("KMS keyring: encrypt", () => {
  it("calls GenerateDataKey once per message and records key ARN, alias used and material id", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: "alias/app" });
    const { ciphertext } = await encrypt(randomBytes(3000), {
      keyring,
      encryptionContext: ctx,
      frameLength: 1000,
    });
    expect(kms.calls).toEqual([{ op: "GenerateDataKey", keyId: "alias/app" }]);
    const [entry] = inspect(ciphertext).entries;
    expect(entry).toMatchObject({
      type: "aws-kms",
      keyArn,
      requestedKeyId: "alias/app",
      keyMaterialId: kms.currentMaterialId(keyArn),
    });
  });

  it("wraps the same data key under additional keys with Encrypt (multi-Region / DR)", async () => {
    const dr = kms.addKey().arn;
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn, additionalKeyIds: [dr] });
    const { ciphertext } = await encrypt(Buffer.from("dr"), { keyring, encryptionContext: ctx });
    expect(kms.calls.map((c) => c.op)).toEqual(["GenerateDataKey", "Encrypt"]);
    expect(inspect(ciphertext).entries.map((e) => e.keyArn)).toEqual([keyArn, dr]);
    kms.disable(keyArn);
    const drOnly = new KmsKeyring({ client: kms, keyId: dr });
    expect((await decrypt(ciphertext, { keyring: drOnly })).plaintext.toString()).toBe("dr");
  });

  it("works when KMS returns no KeyMaterialId (LocalStack)", async () => {
    kms.omitMaterialIds = true;
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    expect(inspect(ciphertext).entries[0]?.keyMaterialId).toBeUndefined();
    expect((await decrypt(ciphertext, { keyring })).plaintext.toString()).toBe("x");
  });

  it("reports every KMS call to the hook with operation, key ARN, material and duration", async () => {
    const events: KmsCallEvent[] = [];
    const keyring = new KmsKeyring({ client: kms, keyId: "alias/app", onKmsCall: (e) => events.push(e) });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring, encryptionContext: ctx });
    await decrypt(ciphertext, { keyring });
    kms.fail({ error: "ThrottlingException", times: 1 });
    await expect(encrypt(Buffer.from("x"), { keyring })).rejects.toBeInstanceOf(KmsError);
    expect(events.map((e) => [e.operation, e.keyArn, e.errorName])).toEqual([
      ["GenerateDataKey", keyArn, undefined],
      ["Decrypt", keyArn, undefined],
      ["GenerateDataKey", undefined, "ThrottlingException"],
    ]);
    expect(events[0]?.keyMaterialId).toBe(kms.currentMaterialId(keyArn));
    expect(events.every((e) => e.durationMs >= 0)).toBe(true);
  });

  it("surfaces throttling as a KmsError with the KMS error name", async () => {
    kms.fail({ error: "ThrottlingException", times: 1 });
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const e = await encrypt(Buffer.from("x"), { keyring }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).kmsErrorName).toBe("ThrottlingException");
    expect((e as KmsError).code).toBe("ERR_KMS");
  });

  it("refuses more keys than a message may carry entries, before any KMS call", () => {
    const keys = Array.from({ length: 16 }, () => kms.addKey().arn);
    expect(() => new KmsKeyring({ client: kms, keyId: keyArn, additionalKeyIds: keys })).toThrow(
      InvalidArgumentError,
    );
    expect(
      () => new KmsKeyring({ client: kms, keyId: keyArn, additionalKeyIds: keys.slice(1) }),
    ).not.toThrow();
  });

  it("refuses a keyring with nothing to encrypt or decrypt with", () => {
    expect(() => new KmsKeyring({ client: kms })).toThrow(InvalidArgumentError);
    expect(() => new KmsKeyring({ client: kms, allowedKeyArns: ["alias/app"] })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe("KMS keyring: decrypt", () => {
  it("calls Decrypt with the entry's key and the message's encryption context", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("hello"), { keyring, encryptionContext: ctx });
    kms.calls.length = 0;
    expect((await decrypt(ciphertext, { keyring })).plaintext.toString()).toBe("hello");
    expect(kms.calls).toEqual([{ op: "Decrypt", keyId: keyArn }]);
  });

  it("an allow-list miss never calls KMS", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring: new KmsKeyring({ client: kms, keyId: keyArn }),
    });
    const other = kms.addKey().arn;
    kms.calls.length = 0;
    const strict = new KmsKeyring({ client: kms, allowedKeyArns: [other] });
    await expect(decrypt(ciphertext, { keyring: strict })).rejects.toBeInstanceOf(NoMatchingKeyError);
    expect(kms.calls).toEqual([]);
  });

  it("discovery decrypts keys of the listed accounts only, without calling KMS for others", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring: new KmsKeyring({ client: kms, keyId: keyArn }),
    });
    const mine = new KmsKeyring({
      client: kms,
      discovery: { accountIds: ["111122223333"], partition: "aws" },
    });
    expect((await decrypt(ciphertext, { keyring: mine })).plaintext.toString()).toBe("x");
    kms.calls.length = 0;
    for (const discovery of [
      { accountIds: ["999999999999"], partition: "aws" },
      { accountIds: ["111122223333"], partition: "aws-cn" },
    ]) {
      await expect(
        decrypt(ciphertext, { keyring: new KmsKeyring({ client: kms, discovery }) }),
      ).rejects.toBeInstanceOf(NoMatchingKeyError);
    }
    expect(kms.calls).toEqual([]);
  });

  it("after a manual rotation (alias moved) old data needs the old key in allowedKeyArns", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: "alias/app" });
    const { ciphertext } = await encrypt(Buffer.from("old"), { keyring, encryptionContext: ctx });
    const next = kms.addKey().arn;
    kms.setAlias("alias/app", next);
    // KMS itself refuses: the alias now names another key (IncorrectKeyException).
    await expect(decrypt(ciphertext, { keyring })).rejects.toBeInstanceOf(NoMatchingKeyError);
    const withOld = new KmsKeyring({ client: kms, keyId: "alias/app", allowedKeyArns: [keyArn] });
    expect((await decrypt(ciphertext, { keyring: withOld })).plaintext.toString()).toBe("old");
  });

  it("a wrong encryption context (KMS AAD) fails: KMS refuses the blob", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring, encryptionContext: ctx });
    const p = prefixOf(ciphertext);
    // Re-encrypt the same data key under another context: the entry now names a context the
    // header does not carry, so KMS answers InvalidCiphertextException.
    const { ciphertext: other } = await encrypt(Buffer.from("x"), {
      keyring,
      encryptionContext: { tenant: "evil" },
    });
    const swapped = Buffer.concat([
      serializePrefixWithEntries(p.header, prefixOf(other).entries),
      ciphertext.subarray(p.bodyOffset),
    ]);
    await expect(decrypt(swapped, { keyring })).rejects.toBeInstanceOf(NoMatchingKeyError);
  });

  it("an alias keyring decrypts a message written with the key's ARN: KMS, named by the alias, confirms the key", async () => {
    const { ciphertext } = await encrypt(Buffer.from("by arn"), {
      keyring: new KmsKeyring({ client: kms, keyId: keyArn }),
      encryptionContext: ctx,
    });
    const byAlias = new KmsKeyring({ client: kms, keyId: "alias/app" });
    kms.calls.length = 0;
    expect((await decrypt(ciphertext, { keyring: byAlias })).plaintext.toString()).toBe("by arn");
    expect(kms.calls).toEqual([{ op: "Decrypt", keyId: "alias/app" }]);
    // Once the alias points elsewhere, KMS refuses (IncorrectKeyException): not this keyring's key.
    kms.setAlias("alias/app", kms.addKey().arn);
    await expect(decrypt(ciphertext, { keyring: byAlias })).rejects.toBeInstanceOf(NoMatchingKeyError);
  });

  it("tries entries written through its alias first, the others after, each with the alias as KeyId", async () => {
    const dr = kms.addKey().arn;
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring: new KmsKeyring({ client: kms, keyId: dr, additionalKeyIds: ["alias/app"] }),
      encryptionContext: ctx,
    });
    kms.calls.length = 0;
    const byAlias = new KmsKeyring({ client: kms, keyId: "alias/app" });
    expect((await decrypt(ciphertext, { keyring: byAlias })).plaintext.toString()).toBe("x");
    // The entry under `dr` comes first in the message but was not written through the alias.
    expect(kms.calls).toEqual([{ op: "Decrypt", keyId: "alias/app" }]);
  });

  it("never sends a KeyId taken from the message: a forged entry costs at most a refused call under the configured alias", async () => {
    const attacker = kms.addKey({ alias: "alias/attacker" }).arn;
    const { ciphertext } = await encrypt(Buffer.from("forged"), {
      keyring: new KmsKeyring({ client: kms, keyId: attacker }),
      encryptionContext: ctx,
    });
    const p = prefixOf(ciphertext);
    const entry = p.entries[0] as (typeof p.entries)[0];
    const forged = Buffer.concat([
      serializePrefixWithEntries(p.header, [{ ...entry, args: [attacker, "alias/app"] }]),
      ciphertext.subarray(p.bodyOffset),
    ]);
    kms.calls.length = 0;
    const byAlias = new KmsKeyring({ client: kms, keyId: "alias/app" });
    await expect(decrypt(forged, { keyring: byAlias })).rejects.toBeInstanceOf(NoMatchingKeyError);
    expect(kms.calls).toEqual([{ op: "Decrypt", keyId: "alias/app" }]);
  });

  it("an alias keyring sends sixteen copies of one entry to KMS once", async () => {
    const other = kms.addKey().arn;
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring: new KmsKeyring({ client: kms, keyId: other }),
    });
    const p = prefixOf(ciphertext);
    const entry = p.entries[0] as (typeof p.entries)[0];
    const many = Buffer.concat([
      serializePrefixWithEntries(
        p.header,
        Array.from({ length: 16 }, () => entry),
      ),
      ciphertext.subarray(p.bodyOffset),
    ]);
    kms.calls.length = 0;
    const byAlias = new KmsKeyring({ client: kms, keyId: "alias/app" });
    await expect(decrypt(many, { keyring: byAlias })).rejects.toBeInstanceOf(NoMatchingKeyError);
    expect(kms.calls).toEqual([{ op: "Decrypt", keyId: "alias/app" }]);
  });

  it("an alias ARN is not tried for an entry in another Region or account", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring: new KmsKeyring({ client: kms, keyId: keyArn }),
    });
    kms.calls.length = 0;
    for (const aliasArn of [
      "arn:aws:kms:eu-west-1:111122223333:alias/app",
      "arn:aws:kms:us-east-1:999999999999:alias/app",
    ]) {
      const keyring = new KmsKeyring({ client: kms, keyId: aliasArn });
      await expect(decrypt(ciphertext, { keyring })).rejects.toBeInstanceOf(NoMatchingKeyError);
    }
    expect(kms.calls).toEqual([]);
  });

  it("zeroes a plaintext of the wrong length and moves on", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    const short = Buffer.alloc(16, 7);
    const lying = { ...kms, decrypt: async () => ({ Plaintext: short, KeyId: keyArn }) };
    const liar = new KmsKeyring({
      client: Object.assign(Object.create(kms) as FakeKms, lying),
      keyId: keyArn,
    });
    await expect(decrypt(ciphertext, { keyring: liar })).rejects.toBeInstanceOf(NoMatchingKeyError);
    expect(short.every((b) => b === 0)).toBe(true);
  });

  it("a disabled key is a KmsError naming DisabledException, not 'no matching key'", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    kms.disable(keyArn);
    const e = await decrypt(ciphertext, { keyring }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).kmsErrorName).toBe("DisabledException");
  });
});

describe("aws-kms entry", () => {
  it("has one encoding per meaning: an absent material id is two args, an empty third arg is malformed", () => {
    const base = { keyArn, requestedKeyId: "alias/app", ciphertextBlob: new Uint8Array(8) };
    expect(encodeKmsEntry({ ...base, keyMaterialId: undefined }).args).toEqual([keyArn, "alias/app"]);
    expect(
      decodeKmsEntry({ type: "aws-kms", args: [keyArn, "alias/app"], body: base.ciphertextBlob }),
    ).toMatchObject({
      keyMaterialId: undefined,
    });
    for (const args of [[keyArn, "alias/app", ""], [keyArn], ["", "x"], [keyArn, "a", "m", "extra"]]) {
      expect(
        () => decodeKmsEntry({ type: "aws-kms", args, body: base.ciphertextBlob }),
        JSON.stringify(args),
      ).toThrow(FormatError);
    }
  });
});

describe("rewrapKmsEntry", () => {
  it("moves the data key onto the current material with one ReEncrypt; the body is untouched and still decrypts", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(randomBytes(5000), {
      keyring,
      encryptionContext: ctx,
      frameLength: 1024,
    });
    const before = prefixOf(ciphertext);
    const oldMaterial = kms.currentMaterialId(keyArn);
    const newMaterial = kms.rotate(keyArn);
    expect(newMaterial).not.toBe(oldMaterial);
    kms.calls.length = 0;
    const entry = await rewrapKmsEntry(before.entries[0] as (typeof before.entries)[0], {
      client: kms,
      destinationKeyId: keyArn,
      encryptionContext: before.header.encryptionContext,
    });
    expect(kms.calls.map((c) => c.op)).toEqual(["ReEncrypt"]);
    expect(Buffer.from(entry.body).equals(Buffer.from(before.entries[0]?.body ?? []))).toBe(false);
    const body = ciphertext.subarray(before.bodyOffset);
    const rewrapped = Buffer.concat([serializePrefixWithEntries(before.header, [entry]), body]);
    const after = inspect(rewrapped);
    expect(after.entries[0]).toMatchObject({ keyArn, keyMaterialId: newMaterial });
    expect(rewrapped.subarray(after.bodyOffset).equals(body)).toBe(true);
    const original = await decrypt(ciphertext, { keyring });
    expect((await decrypt(rewrapped, { keyring })).plaintext.equals(original.plaintext)).toBe(true);
  });

  it("moves to another key (alias cutover) and records the alias as requested", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: "alias/app" });
    const { ciphertext } = await encrypt(Buffer.from("move me"), { keyring, encryptionContext: ctx });
    const p = prefixOf(ciphertext);
    const next = kms.addKey().arn;
    kms.setAlias("alias/app", next);
    const entry = await rewrapKmsEntry(p.entries[0] as (typeof p.entries)[0], {
      client: kms,
      destinationKeyId: "alias/app",
      encryptionContext: p.header.encryptionContext,
    });
    const rewrapped = Buffer.concat([
      serializePrefixWithEntries(p.header, [entry]),
      ciphertext.subarray(p.bodyOffset),
    ]);
    expect(inspect(rewrapped).entries[0]).toMatchObject({ keyArn: next, requestedKeyId: "alias/app" });
    expect((await decrypt(rewrapped, { keyring })).plaintext.toString()).toBe("move me");
  });

  it("an entry rewrapped from another message does not decrypt this one (commitment)", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const a = await encrypt(Buffer.from("a"), { keyring, encryptionContext: ctx });
    const b = await encrypt(Buffer.from("b"), { keyring, encryptionContext: ctx });
    const pa = prefixOf(a.ciphertext);
    const pb = prefixOf(b.ciphertext);
    const swapped = Buffer.concat([
      serializePrefixWithEntries(pa.header, pb.entries),
      a.ciphertext.subarray(pa.bodyOffset),
    ]);
    await expect(decrypt(swapped, { keyring })).rejects.toBeInstanceOf(DecryptError);
  });

  it("fails with KmsError when the source key is disabled, leaving nothing half-done", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring, encryptionContext: ctx });
    const p = prefixOf(ciphertext);
    kms.disable(keyArn);
    await expect(
      rewrapKmsEntry(p.entries[0] as (typeof p.entries)[0], {
        client: kms,
        destinationKeyId: keyArn,
        encryptionContext: ctx,
      }),
    ).rejects.toBeInstanceOf(KmsError);
  });
});
