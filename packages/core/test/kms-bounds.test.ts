/**
 * KMS work per hostile message, counted per keyring type (ARN, alias, allow-list, discovery,
 * multi, and through the cache): each entry is sent to KMS at most once and a message never costs
 * more than the entry limit; a forged entry never locks out the genuine entry after it under the
 * same key; a message every entry of which is refused is ERR_NO_MATCHING_KEY carrying KMS's
 * reasons; a malformed blob is a refusal, not an outage.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  CachingKeyring,
  decodeKmsEntry,
  decrypt,
  encodeKmsEntry,
  encrypt,
  KmsError,
  KmsKeyring,
  MultiKeyring,
  NoMatchingKeyError,
  parseMessagePrefix,
  serializePrefixWithEntries,
  type Keyring,
  type MessagePrefix,
  type WrappedKeyEntry,
} from "@rekey/core";
import { MAX_DECRYPT_CALLS } from "../src/keyring/kms-keyring.js";
import { FakeKms, FakeKmsError } from "@rekey/localstack/fake-kms";

const ACCOUNT = "111122223333";
const ctx = { tenant: "acme" };

let kms: FakeKms;
let keyArn: string;
let genuine: Buffer;

function prefixOf(bytes: Uint8Array): MessagePrefix {
  const p = parseMessagePrefix(bytes);
  if (p.status !== "ok") throw new Error("must parse");
  return p.value;
}

/** `message` with its wrapped-key section replaced by `entries`. */
function withEntries(message: Buffer, entries: readonly WrappedKeyEntry[]): Buffer {
  const p = prefixOf(message);
  return Buffer.concat([
    serializePrefixWithEntries(p.header, entries, { maxEntries: 64 }),
    message.subarray(p.bodyOffset),
  ]);
}

/** An entry that claims the genuine entry's key and alias, with a blob KMS cannot open. */
function forged(blob: Uint8Array = randomBytes(180)): WrappedKeyEntry {
  const real = decodeKmsEntry(prefixOf(genuine).entries[0] as WrappedKeyEntry);
  return encodeKmsEntry({ ...real, ciphertextBlob: blob });
}

const decrypts = (): number => kms.count("Decrypt");

beforeEach(async () => {
  kms = new FakeKms();
  keyArn = kms.addKey({ alias: "alias/app" }).arn;
  genuine = (
    await encrypt(Buffer.from("genuine"), {
      keyring: new KmsKeyring({ client: kms, keyId: "alias/app" }),
      encryptionContext: ctx,
    })
  ).ciphertext;
  kms.calls.length = 0;
});

/** One keyring per type that can open the genuine message. */
const keyrings: Record<string, () => Keyring> = {
  arn: () => new KmsKeyring({ client: kms, keyId: keyArn }),
  alias: () => new KmsKeyring({ client: kms, keyId: "alias/app" }),
  "allow-list": () => new KmsKeyring({ client: kms, allowedKeyArns: [keyArn] }),
  discovery: () => new KmsKeyring({ client: kms, discovery: { accountIds: [ACCOUNT], partition: "aws" } }),
  multi: () =>
    new MultiKeyring([
      new KmsKeyring({ client: kms, keyId: "alias/app" }),
      new KmsKeyring({ client: kms, discovery: { accountIds: [ACCOUNT], partition: "aws" } }),
      new KmsKeyring({ client: kms, allowedKeyArns: [keyArn] }),
    ]),
};

describe("KMS calls per hostile message", () => {
  for (const [type, make] of Object.entries(keyrings)) {
    it(`${type}: a forged entry before the genuine one under the same key does not lock it out (2 calls)`, async () => {
      const message = withEntries(genuine, [forged(), ...prefixOf(genuine).entries]);
      expect((await decrypt(message, { keyring: make() })).plaintext.toString()).toBe("genuine");
      expect(decrypts()).toBe(2);
    });

    it(`${type}: 15 forged entries and the genuine one cost one call per entry (16), and it opens`, async () => {
      const entries = [...Array.from({ length: 15 }, () => forged()), ...prefixOf(genuine).entries];
      const message = withEntries(genuine, entries);
      expect((await decrypt(message, { keyring: make() })).plaintext.toString()).toBe("genuine");
      expect(decrypts()).toBe(16);
    });

    it(`${type}: 16 forged entries are ERR_NO_MATCHING_KEY with KMS's 16 refusals as causes`, async () => {
      const message = withEntries(
        genuine,
        Array.from({ length: 16 }, () => forged()),
      );
      const e = await decrypt(message, { keyring: make() }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NoMatchingKeyError);
      expect((e as NoMatchingKeyError).code).toBe("ERR_NO_MATCHING_KEY");
      const cause = (e as NoMatchingKeyError).cause;
      expect(cause).toBeInstanceOf(AggregateError);
      const names = (cause as AggregateError).errors.map((x: Error) => x.name);
      expect(names).toEqual(Array(16).fill("InvalidCiphertextException"));
      expect(decrypts()).toBe(16);
    });

    it(`${type}: 64 entries (a caller raised maxEntries) cost at most ${MAX_DECRYPT_CALLS} calls`, async () => {
      const message = withEntries(
        genuine,
        Array.from({ length: 64 }, () => forged()),
      );
      await expect(decrypt(message, { keyring: make(), limits: { maxEntries: 64 } })).rejects.toBeInstanceOf(
        NoMatchingKeyError,
      );
      expect(decrypts()).toBe(MAX_DECRYPT_CALLS);
    });

    it(`${type}: a malformed blob (ValidationException) is a refusal, not an outage`, async () => {
      const inner = kms.decrypt.bind(kms);
      kms.decrypt = async (input) => {
        if ((input.CiphertextBlob as Uint8Array)[0] === 0xff) {
          kms.calls.push({ op: "Decrypt", keyId: input.KeyId });
          throw new FakeKmsError("ValidationException");
        }
        return inner(input);
      };
      const malformed = forged(Buffer.alloc(8, 0xff));
      const e = await decrypt(withEntries(genuine, [malformed]), { keyring: make() }).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(NoMatchingKeyError);
      expect(e).not.toBeInstanceOf(KmsError);
      // And it does not stop the genuine entry after it.
      const both = withEntries(genuine, [malformed, ...prefixOf(genuine).entries]);
      expect((await decrypt(both, { keyring: make() })).plaintext.toString()).toBe("genuine");
    });

    it(`${type}: through a CachingKeyring, a refused message costs its calls once per max age`, async () => {
      let now = 0;
      const cache = new CachingKeyring({ keyring: make(), maxAgeMs: 60_000, now: () => now });
      const message = withEntries(
        genuine,
        Array.from({ length: 16 }, () => forged()),
      );
      for (let i = 0; i < 5; i++) {
        const e = await decrypt(message, { keyring: cache }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(NoMatchingKeyError);
        expect(((e as NoMatchingKeyError).cause as AggregateError).errors).toHaveLength(16);
      }
      expect(decrypts()).toBe(16);
      now += 60_000;
      await expect(decrypt(message, { keyring: cache })).rejects.toBeInstanceOf(NoMatchingKeyError);
      expect(decrypts()).toBe(32);
      // Another message is not refused by the cache: it costs its own call and opens.
      expect((await decrypt(genuine, { keyring: cache })).plaintext.toString()).toBe("genuine");
      expect(decrypts()).toBe(33);
    });
  }

  it("sixteen copies of one forged entry are sent once per KMS keyring", async () => {
    const copy = forged();
    const message = withEntries(
      genuine,
      Array.from({ length: 16 }, () => copy),
    );
    for (const [type, make] of Object.entries(keyrings)) {
      kms.calls.length = 0;
      await expect(decrypt(message, { keyring: make() })).rejects.toBeInstanceOf(NoMatchingKeyError);
      // Once per KMS keyring: the multi-keyring holds three, each sends another entry.
      expect(decrypts()).toBe(type === "multi" ? 3 : 1);
    }
  });

  it("a multi-keyring of two alias keyrings sends each entry once, not once per keyring", async () => {
    const keyring = new MultiKeyring([
      new KmsKeyring({ client: kms, keyId: "alias/app" }),
      new KmsKeyring({ client: kms, keyId: "alias/app" }),
    ]);
    const message = withEntries(
      genuine,
      Array.from({ length: 8 }, () => forged()),
    );
    await expect(decrypt(message, { keyring })).rejects.toBeInstanceOf(NoMatchingKeyError);
    expect(decrypts()).toBe(8);
  });

  it("a keyring with two aliases tries an entry written by key ARN once, with the first alias", async () => {
    kms.addKey({ alias: "alias/other" });
    const byArn = (
      await encrypt(Buffer.from("by arn"), {
        keyring: new KmsKeyring({ client: kms, keyId: keyArn }),
        encryptionContext: ctx,
      })
    ).ciphertext;
    kms.calls.length = 0;
    const keyring = new KmsKeyring({ client: kms, keyId: "alias/app", additionalKeyIds: ["alias/other"] });
    expect((await decrypt(byArn, { keyring })).plaintext.toString()).toBe("by arn");
    expect(kms.calls).toEqual([{ op: "Decrypt", keyId: "alias/app" }]);
  });

  it("discovery: a forged entry naming a key that does not exist is a refusal, a disabled key is a KmsError", async () => {
    const keyring = keyrings.discovery!();
    const real = decodeKmsEntry(prefixOf(genuine).entries[0] as WrappedKeyEntry);
    const ghost = encodeKmsEntry({
      ...real,
      keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/00000000-0000-0000-0000-000000000000`,
    });
    // KMS answers NotFoundException for the KeyId the message named.
    await expect(decrypt(withEntries(genuine, [ghost]), { keyring })).rejects.toBeInstanceOf(
      NoMatchingKeyError,
    );
    expect(
      (await decrypt(withEntries(genuine, [ghost, encodeKmsEntry(real)]), { keyring })).plaintext.toString(),
    ).toBe("genuine");
    kms.disable(keyArn);
    const e = await decrypt(genuine, { keyring }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).kmsErrorName).toBe("DisabledException");
  });

  it("an entry with an empty blob is never sent to KMS", async () => {
    const message = withEntries(genuine, [forged(new Uint8Array(0)), ...prefixOf(genuine).entries]);
    for (const make of Object.values(keyrings)) {
      kms.calls.length = 0;
      expect((await decrypt(message, { keyring: make() })).plaintext.toString()).toBe("genuine");
      expect(decrypts()).toBe(1);
    }
  });
});
