import { beforeEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  decrypt,
  DecryptError,
  encrypt,
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
import { FakeKms } from "./helpers/fake-kms.js";

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
  keyArn = kms.createKey("alias/app");
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
      keyMaterialId: kms.currentMaterial(keyArn),
    });
  });

  it("wraps the same data key under additional keys with Encrypt (multi-Region / DR)", async () => {
    const dr = kms.createKey();
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
    kms.failNext = { count: 1, name: "ThrottlingException" };
    await expect(encrypt(Buffer.from("x"), { keyring })).rejects.toBeInstanceOf(KmsError);
    expect(events.map((e) => [e.operation, e.keyArn, e.errorName])).toEqual([
      ["GenerateDataKey", keyArn, undefined],
      ["Decrypt", keyArn, undefined],
      ["GenerateDataKey", undefined, "ThrottlingException"],
    ]);
    expect(events[0]?.keyMaterialId).toBe(kms.currentMaterial(keyArn));
    expect(events.every((e) => e.durationMs >= 0)).toBe(true);
  });

  it("surfaces throttling as a KmsError with the KMS error name", async () => {
    kms.failNext = { count: 1, name: "ThrottlingException" };
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const e = await encrypt(Buffer.from("x"), { keyring }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).kmsErrorName).toBe("ThrottlingException");
    expect((e as KmsError).code).toBe("ERR_KMS");
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
    const other = kms.createKey();
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
    const next = kms.createKey();
    kms.aliases.set("alias/app", next);
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

  it("a disabled key is a KmsError naming DisabledException, not 'no matching key'", async () => {
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    kms.disable(keyArn);
    const e = await decrypt(ciphertext, { keyring }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).kmsErrorName).toBe("DisabledException");
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
    const oldMaterial = kms.currentMaterial(keyArn);
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
    const next = kms.createKey();
    kms.aliases.set("alias/app", next);
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
