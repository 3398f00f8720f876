/**
 * The signed suite (suite 2): an ECDSA P-384 signature over the header and the body, with the
 * public key in the encryption context. A holder of the data key (who can forge an unsigned
 * message) cannot forge a signed one, cannot swap the public key nor drop it to downgrade, and a
 * rewrap (KMS ReEncrypt keeps the context) leaves the signature valid.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  decrypt,
  decryptStream,
  DecryptError,
  encrypt,
  encryptStream,
  EncryptionContextError,
  FormatError,
  inspect,
  InvalidArgumentError,
  KmsKeyring,
  NoMatchingKeyError,
  RawAesKeyring,
  RekeyError,
  rewrapKmsEntry,
  serializePrefixWithEntries,
  type Keyring,
  type MessagePrefix,
} from "@rekey/core";
import {
  SIGNATURE_LENGTH,
  SIGNING_KEY_CONTEXT_KEY,
  SUITE_AES256_GCM_HKDF_SHA512_COMMIT,
  HEADER_FIXED,
} from "../src/format/constants.js";
import { finalFrameHeader } from "../src/format/frame.js";
import { deriveKeys } from "../src/crypto/derive.js";
import { computeHeaderTag } from "../src/crypto/header-tag.js";
import { sealFrame } from "../src/crypto/frame-cipher.js";
import { generateSigningKey, MessageSigner } from "../src/crypto/signature.js";
import { serializeEncryptionContext } from "../src/format/encryption-context.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { through } from "./helpers/streams.js";

const wrappingKey = randomBytes(32);
const keyring = new RawAesKeyring({ name: "signed", key: wrappingKey });
const ctx = { tenant: "acme" };

/** A keyring that keeps a copy of every data key it hands out: the "data-key holder". */
function holder(inner: Keyring): { keyring: Keyring; dataKeys: Buffer[] } {
  const dataKeys: Buffer[] = [];
  return {
    dataKeys,
    keyring: {
      wrap: async (r) => {
        const w = await inner.wrap(r);
        dataKeys.push(Buffer.from(w.dataKey));
        return w;
      },
      unwrap: async (e, r) => {
        const k = await inner.unwrap(e, r);
        if (k) dataKeys.push(Buffer.from(k));
        return k;
      },
    },
  };
}

/** A signed message written through a data-key holder. */
const encryptHeld = (h: ReturnType<typeof holder>, plaintext: Buffer) =>
  encrypt(plaintext, { keyring: h.keyring, encryptionContext: ctx, signed: true });

const expectFailure = async (p: Promise<unknown>, type: new (...a: never[]) => RekeyError) =>
  expect(p).rejects.toBeInstanceOf(type);

describe("signed suite: round trip", () => {
  it("buffer and stream APIs write and read signed messages interchangeably", async () => {
    const plaintext = randomBytes(5000);
    const a = (await encrypt(plaintext, { keyring, encryptionContext: ctx, frameLength: 1024, signed: true }))
      .ciphertext;
    const b = await through(
      encryptStream({ keyring, encryptionContext: ctx, frameLength: 1024, signed: true }),
      plaintext,
      [777],
    );
    for (const m of [a, b]) {
      const info = inspect(m);
      expect(info.signed).toBe(true);
      expect(info.algorithm).toBe("AES-256-GCM/HKDF-SHA512/commit/ECDSA-P384");
      expect(Object.keys(info.encryptionContext).sort()).toEqual([SIGNING_KEY_CONTEXT_KEY, "tenant"]);
      expect(
        (await decrypt(m, { keyring, requiredEncryptionContext: ctx })).plaintext.equals(plaintext),
      ).toBe(true);
      expect((await through(decryptStream({ keyring }), m, [100])).equals(plaintext)).toBe(true);
    }
    // Each message has its own key pair.
    expect(inspect(a).encryptionContext[SIGNING_KEY_CONTEXT_KEY]).not.toBe(
      inspect(b).encryptionContext[SIGNING_KEY_CONTEXT_KEY],
    );
    expect(inspect((await encrypt(plaintext, { keyring })).ciphertext).signed).toBe(false);
  });

  it('keeps a "__proto__" context key as a key like any other when it adds the public key', async () => {
    const context: Record<string, string> = JSON.parse('{"__proto__":"p","tenant":"acme"}');
    const m = (await encrypt(randomBytes(10), { keyring, encryptionContext: context, signed: true }))
      .ciphertext;
    const read = (await decrypt(m, { keyring })).header.encryptionContext;
    expect(Object.hasOwn(read, "__proto__") && read["__proto__"]).toBe("p");
    expect(Object.keys(read).sort()).toEqual(["__proto__", SIGNING_KEY_CONTEXT_KEY, "tenant"]);
  });

  it("refuses a caller context that uses the reserved key, and a non-boolean signed option", async () => {
    for (const signed of [true, false]) {
      await expectFailure(
        encrypt(Buffer.from("x"), { keyring, encryptionContext: { [SIGNING_KEY_CONTEXT_KEY]: "x" }, signed }),
        EncryptionContextError,
      );
    }
    for (const signed of ["yes", 1, null]) {
      const options = { keyring, signed: signed as unknown as boolean };
      await expectFailure(encrypt(Buffer.from("x"), options), InvalidArgumentError);
      expect(() => encryptStream(options)).toThrow(InvalidArgumentError);
    }
  });
});

describe("signed suite: tampering", () => {
  it("any flipped byte (header, entries, body or signature) is a typed error or the original, in both APIs", async () => {
    const plaintext = randomBytes(150);
    const { ciphertext } = await encrypt(plaintext, {
      keyring,
      encryptionContext: ctx,
      frameLength: 64,
      signed: true,
    });
    for (let at = 0; at < ciphertext.length; at++) {
      const m = Buffer.from(ciphertext);
      m[at] = (m[at] as number) ^ 0x10;
      for (const r of [
        await decrypt(m, { keyring }).then(
          (x) => x.plaintext,
          (e: unknown) => e,
        ),
        await through(decryptStream({ keyring }), m, [40]).then(
          (x) => x,
          (e: unknown) => e,
        ),
      ]) {
        if (Buffer.isBuffer(r)) expect(r.equals(plaintext), `byte ${at}`).toBe(true);
        else expect(r, `byte ${at}`).toBeInstanceOf(RekeyError);
      }
    }
  });

  it("a flipped signature byte, a cut signature and bytes after it fail; the buffer API releases nothing", async () => {
    const { ciphertext } = await encrypt(randomBytes(300), { keyring, frameLength: 64, signed: true });
    const variants = [
      Buffer.concat([ciphertext.subarray(0, -1), Buffer.of((ciphertext.at(-1) as number) ^ 1)]),
      ciphertext.subarray(0, -1),
      ciphertext.subarray(0, ciphertext.length - SIGNATURE_LENGTH),
      Buffer.concat([ciphertext, Buffer.of(0)]),
    ];
    for (const m of variants) {
      await expectFailure(decrypt(m, { keyring }), DecryptError);
      await expectFailure(through(decryptStream({ keyring }), m, [64]), DecryptError);
    }
  });

  it("a data-key holder's new body under the same header fails the signature (frames and header tag verify)", async () => {
    const h = holder(keyring);
    const { ciphertext } = await encryptHeld(h, Buffer.from("the genuine text"));
    const info = inspect(ciphertext);
    const { contentKey } = deriveKeys(h.dataKeys[0] as Buffer, info.prefix.header.messageId);
    const forged = Buffer.from("a forged text!!!");
    const body = Buffer.concat([
      finalFrameHeader(1, forged.length),
      ...sealFrame(contentKey, info.prefix.header.messageId, 1, true, [forged], forged.length),
    ]);
    const message = Buffer.concat([
      ciphertext.subarray(0, info.bodyOffset),
      body,
      ciphertext.subarray(ciphertext.length - SIGNATURE_LENGTH),
    ]);
    await expectFailure(decrypt(message, { keyring }), DecryptError);
    // The stream releases the frame (its tag verifies) and fails at the end: streamed output is
    // tentative until the stream ends without error.
    await expectFailure(through(decryptStream({ keyring }), message), DecryptError);
    // The same forgery of an unsigned message succeeds: this is what the signature adds.
    const unsigned = (
      await encrypt(Buffer.from("the genuine text"), { keyring: h.keyring, encryptionContext: ctx })
    ).ciphertext;
    const u = inspect(unsigned);
    const k2 = deriveKeys(h.dataKeys[1] as Buffer, u.prefix.header.messageId).contentKey;
    const forgedUnsigned = Buffer.concat([
      unsigned.subarray(0, u.bodyOffset),
      finalFrameHeader(1, forged.length),
      ...sealFrame(k2, u.prefix.header.messageId, 1, true, [forged], forged.length),
    ]);
    expect((await decrypt(forgedUnsigned, { keyring })).plaintext.equals(forged)).toBe(true);
  });

  /** The message with its header rebuilt by a data-key holder: `edit` changes the header body. */
  function reheader(
    ciphertext: Buffer,
    dataKey: Buffer,
    edit: (header: { suite: number; context: Record<string, string> }) => void,
  ): { message: Buffer; prefix: MessagePrefix } {
    const info = inspect(ciphertext);
    const h = info.prefix.header;
    const fields = { suite: h.suiteId, context: { ...h.encryptionContext } };
    edit(fields);
    const context = serializeEncryptionContext(fields.context, 8192);
    const fixed = Buffer.from(h.authenticatedBytes.subarray(0, HEADER_FIXED.context));
    fixed.writeUInt16BE(fields.suite, HEADER_FIXED.suite);
    fixed.writeUInt32BE(97 + context.length, HEADER_FIXED.headerLength);
    fixed.writeUInt16BE(context.length, HEADER_FIXED.contextLength);
    const body = Buffer.concat([fixed, context, h.commitment]);
    const { contentKey } = deriveKeys(dataKey, h.messageId);
    const header = Buffer.concat([body, computeHeaderTag(contentKey, body)]);
    return {
      message: Buffer.concat([header, ciphertext.subarray(h.headerLength)]),
      prefix: info.prefix,
    };
  }

  it("a data-key holder cannot downgrade to the unsigned suite: the reserved key stays, and is refused there", async () => {
    const h = holder(keyring);
    const { ciphertext } = await encryptHeld(h, Buffer.from("x"));
    const { message } = reheader(ciphertext.subarray(0, -SIGNATURE_LENGTH), h.dataKeys[0] as Buffer, (f) => {
      f.suite = SUITE_AES256_GCM_HKDF_SHA512_COMMIT;
    });
    await expectFailure(decrypt(message, { keyring }), FormatError);
    await expectFailure(through(decryptStream({ keyring }), message), FormatError);
    expect(() => inspect(message)).toThrow(FormatError);
    // Dropping the key from the context as well: the entry was wrapped under the full context.
    const dropped = reheader(ciphertext.subarray(0, -SIGNATURE_LENGTH), h.dataKeys[0] as Buffer, (f) => {
      f.suite = SUITE_AES256_GCM_HKDF_SHA512_COMMIT;
      delete f.context[SIGNING_KEY_CONTEXT_KEY];
    }).message;
    await expectFailure(decrypt(dropped, { keyring }), NoMatchingKeyError);
  });

  it("a data-key holder cannot sign with a key of its own: the entries were wrapped under the original public key", async () => {
    const h = holder(keyring);
    const plaintext = Buffer.from("signed by the writer");
    const { ciphertext } = await encryptHeld(h, plaintext);
    const mine = generateSigningKey();
    const { message } = reheader(ciphertext.subarray(0, -SIGNATURE_LENGTH), h.dataKeys[0] as Buffer, (f) => {
      f.context[SIGNING_KEY_CONTEXT_KEY] = mine.publicKey;
    });
    const info = inspect(message);
    const signer = new MessageSigner(mine.privateKey);
    signer.update(message.subarray(0, info.headerLength));
    signer.update(message.subarray(info.bodyOffset));
    const resigned = Buffer.concat([message, signer.finish()]);
    // Signature and header tag hold; the entry does not unwrap under the changed context.
    await expectFailure(decrypt(resigned, { keyring }), NoMatchingKeyError);
    // With the KMS keyring, the same: KMS refuses the blob under another context.
    const kms = new FakeKms();
    const arn = kms.addKey().arn;
    const kmsHolder = holder(new KmsKeyring({ client: kms, keyId: arn }));
    const k = await encrypt(plaintext, { keyring: kmsHolder.keyring, encryptionContext: ctx, signed: true });
    const swapped = reheader(
      k.ciphertext.subarray(0, -SIGNATURE_LENGTH),
      kmsHolder.dataKeys[0] as Buffer,
      (f) => {
        f.context[SIGNING_KEY_CONTEXT_KEY] = mine.publicKey;
      },
    ).message;
    const i2 = inspect(swapped);
    const s2 = new MessageSigner(mine.privateKey);
    s2.update(swapped.subarray(0, i2.headerLength));
    s2.update(swapped.subarray(i2.bodyOffset));
    await expectFailure(
      decrypt(Buffer.concat([swapped, s2.finish()]), {
        keyring: new KmsKeyring({ client: kms, keyId: arn }),
      }),
      NoMatchingKeyError,
    );
  });
});

describe("signed suite: rewrap", () => {
  it("a KMS rewrap (ReEncrypt keeps the context, public key included) leaves the signature valid", async () => {
    const kms = new FakeKms();
    const oldKey = kms.addKey().arn;
    const newKey = kms.addKey().arn;
    const plaintext = randomBytes(3000);
    const { ciphertext } = await encrypt(plaintext, {
      keyring: new KmsKeyring({ client: kms, keyId: oldKey }),
      encryptionContext: ctx,
      frameLength: 1024,
      signed: true,
    });
    const info = inspect(ciphertext);
    const header = info.prefix.header;
    const reEncrypt = kms.reEncrypt.bind(kms);
    const contexts: unknown[] = [];
    kms.reEncrypt = async (input) => {
      contexts.push(input.DestinationEncryptionContext);
      return reEncrypt(input);
    };
    const entry = await rewrapKmsEntry(info.prefix.entries[0]!, {
      client: kms,
      destinationKeyId: newKey,
      encryptionContext: header.encryptionContext,
    });
    expect(contexts).toEqual([header.encryptionContext]);
    expect(Object.keys(contexts[0] as object)).toContain(SIGNING_KEY_CONTEXT_KEY);
    const rewrapped = Buffer.concat([
      serializePrefixWithEntries(header, [entry]),
      ciphertext.subarray(info.bodyOffset),
    ]);
    expect(inspect(rewrapped).entries[0]?.keyArn).toBe(newKey);
    const reader = new KmsKeyring({ client: kms, keyId: newKey });
    expect((await decrypt(rewrapped, { keyring: reader })).plaintext.equals(plaintext)).toBe(true);
    expect((await through(decryptStream({ keyring: reader }), rewrapped, [500])).equals(plaintext)).toBe(
      true,
    );
    // The old key no longer opens it, and the signature still guards the body.
    await expectFailure(
      decrypt(rewrapped, { keyring: new KmsKeyring({ client: kms, keyId: oldKey }) }),
      NoMatchingKeyError,
    );
    const flipped = Buffer.from(rewrapped);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    await expectFailure(decrypt(flipped, { keyring: reader }), DecryptError);
  });
});
