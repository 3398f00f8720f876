import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
} from "@aws-crypto/client-node";
import {
  decrypt,
  decryptEsdk,
  decryptEsdkStream,
  DecryptError,
  encrypt,
  encryptStream,
  EncryptionContextError,
  isEsdkMessage,
  KmsKeyring,
  FormatError,
  InvalidArgumentError,
  KmsError,
  NoMatchingKeyError,
  RekeyError,
} from "@rekey/core";
import type { Duplex } from "node:stream";

async function collect(stream: Duplex, input: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(input), stream, async function (src: AsyncIterable<Buffer>) {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}
import { FakeKms } from "@rekey/localstack/fake-kms";

const kms = new FakeKms();
const keyArn = kms.addKey().arn;
const clientProvider = (() => kms) as unknown as NonNullable<
  NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>["clientProvider"]
>;
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
// Messages written before key commitment (ESDK 1.x) need the legacy policy to be produced.
const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
const esdkKeyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider });
const ctx = { app: "legacy" };

async function esdkMessage(plaintext: Buffer, suiteId?: AlgorithmSuiteIdentifier): Promise<Buffer> {
  const writer = suiteId === undefined || suiteId >= 0x0478 ? esdk : legacy;
  const { result } = await writer.encrypt(esdkKeyring, plaintext, {
    encryptionContext: ctx,
    ...(suiteId ? { suiteId } : {}),
  });
  return Buffer.from(result);
}

describe("AWS Encryption SDK messages", () => {
  it("recognizes ESDK v2 and v1 messages and not rekey ones", async () => {
    expect(isEsdkMessage(await esdkMessage(Buffer.from("x")))).toBe(true);
    const v1 = await esdkMessage(
      Buffer.from("x"),
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
    );
    expect(isEsdkMessage(v1)).toBe(true);
    const rk = await encrypt(Buffer.from("x"), { keyring: new KmsKeyring({ client: kms, keyId: keyArn }) });
    expect(isEsdkMessage(rk.ciphertext)).toBe(false);
    expect(isEsdkMessage(Buffer.from("hello world"))).toBe(false);
  });

  it("decrypts an ESDK message (default signed suite) with a strict key list", async () => {
    const pt = randomBytes(5000);
    const r = await decryptEsdk(await esdkMessage(pt), { client: kms, allowedKeyArns: [keyArn] });
    expect(r.plaintext.equals(pt)).toBe(true);
    expect(r.encryptionContext).toMatchObject(ctx);
    expect(r.keyArn).toBe(keyArn);
  });

  it("reads a legacy non-committing message only when allowed explicitly", async () => {
    const legacyMsg = await esdkMessage(
      Buffer.from("old"),
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256,
    );
    await expect(decryptEsdk(legacyMsg, { client: kms, allowedKeyArns: [keyArn] })).rejects.toBeInstanceOf(
      FormatError,
    );
    const r = await decryptEsdk(legacyMsg, {
      client: kms,
      allowedKeyArns: [keyArn],
      allowLegacyNonCommitting: true,
    });
    expect(r.plaintext.toString()).toBe("old");
  });

  it("reports the key that actually decrypted, not the first in the message", async () => {
    const second = kms.addKey().arn;
    const both = new KmsKeyringNode({ generatorKeyId: keyArn, keyIds: [second], clientProvider });
    const { result } = await esdk.encrypt(both, Buffer.from("two"), { encryptionContext: ctx });
    const r = await decryptEsdk(result, { client: kms, allowedKeyArns: [second] });
    expect(r.keyArn).toBe(second);
  });

  it("tells a KMS failure (throttled, disabled) from 'no key of mine'", async () => {
    const own = kms.addKey().arn;
    const ownKeyring = new KmsKeyringNode({ generatorKeyId: own, clientProvider });
    const { result } = await esdk.encrypt(ownKeyring, Buffer.from("x"), { encryptionContext: ctx });
    kms.fail({ error: "ThrottlingException", times: 1 });
    const throttled = await decryptEsdk(result, { client: kms, allowedKeyArns: [own] }).catch(
      (e: unknown) => e,
    );
    expect(throttled).toBeInstanceOf(KmsError);
    expect((throttled as KmsError).kmsErrorName).toBe("ThrottlingException");
    kms.disable(own);
    const disabled = await decryptEsdk(result, { client: kms, allowedKeyArns: [own] }).catch(
      (e: unknown) => e,
    );
    expect((disabled as KmsError).kmsErrorName).toBe("DisabledException");
  });

  it("refuses what is not an ESDK message, and a frame over maxBodySize, with typed errors", async () => {
    await expect(
      decryptEsdk(Buffer.from("plain text"), { client: kms, allowedKeyArns: [keyArn] }),
    ).rejects.toBeInstanceOf(FormatError);
    const { result } = await esdk.encrypt(esdkKeyring, randomBytes(100_000), {
      encryptionContext: ctx,
      frameLength: 65536,
    });
    await expect(
      decryptEsdk(result, { client: kms, allowedKeyArns: [keyArn], maxBodySize: 4096 }),
    ).rejects.toBeInstanceOf(RekeyError);
    const streamed = await collect(decryptEsdkStream({ client: kms, allowedKeyArns: [keyArn] }), [
      Buffer.from("RKEY not esdk"),
    ]).catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(RekeyError);
  });

  it("refuses a key outside the allow-list or discovery filter", async () => {
    const msg = await esdkMessage(Buffer.from("x"));
    const other = kms.addKey().arn;
    await expect(decryptEsdk(msg, { client: kms, allowedKeyArns: [other] })).rejects.toBeInstanceOf(
      NoMatchingKeyError,
    );
    await expect(
      decryptEsdk(msg, { client: kms, discovery: { accountIds: ["999999999999"], partition: "aws" } }),
    ).rejects.toBeInstanceOf(NoMatchingKeyError);
    const ok = await decryptEsdk(msg, {
      client: kms,
      discovery: { accountIds: ["111122223333"], partition: "aws" },
    });
    expect(ok.plaintext.toString()).toBe("x");
  });

  it("checks the required encryption context before any KMS call, in both APIs", async () => {
    const msg = await esdkMessage(Buffer.from("x"));
    const options = { client: kms, allowedKeyArns: [keyArn], requiredEncryptionContext: { app: "other" } };
    kms.calls.length = 0;
    await expect(decryptEsdk(msg, options)).rejects.toBeInstanceOf(EncryptionContextError);
    await expect(collect(decryptEsdkStream(options), [msg])).rejects.toBeInstanceOf(EncryptionContextError);
    expect(kms.calls).toEqual([]);
    const ok = await decryptEsdk(msg, { ...options, requiredEncryptionContext: ctx });
    expect(ok.plaintext.toString()).toBe("x");
  });

  it("refuses bad options synchronously, before any KMS call", () => {
    kms.calls.length = 0;
    expect(() => decryptEsdkStream({ client: kms })).toThrow(InvalidArgumentError);
    expect(() => decryptEsdkStream({ client: kms, allowedKeyArns: ["alias/x"] })).toThrow(
      InvalidArgumentError,
    );
    expect(kms.calls).toEqual([]);
  });

  it("rejects a tampered ESDK message with a typed error", async () => {
    const msg = await esdkMessage(randomBytes(100));
    msg[msg.length - 120] = (msg[msg.length - 120] ?? 0) ^ 1;
    await expect(decryptEsdk(msg, { client: kms, allowedKeyArns: [keyArn] })).rejects.toBeInstanceOf(
      DecryptError,
    );
  });

  it("migrates by streaming: ESDK decrypt -> rekey encrypt", async () => {
    const pt = randomBytes(300_000);
    const msg = await esdkMessage(pt);
    const keyring = new KmsKeyring({ client: kms, keyId: keyArn });
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([msg.subarray(0, 1000), msg.subarray(1000)]),
      decryptEsdkStream({ client: kms, allowedKeyArns: [keyArn] }),
      encryptStream({ keyring, encryptionContext: ctx }),
      async function (src: AsyncIterable<Buffer>) {
        for await (const c of src) out.push(c);
      },
    );
    expect((await decrypt(Buffer.concat(out), { keyring })).plaintext.equals(pt)).toBe(true);
  });
});
