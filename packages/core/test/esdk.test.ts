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
  NoMatchingKeyError,
} from "@rekey/core";
import { FakeKms } from "./helpers/fake-kms.js";

const kms = new FakeKms();
const keyArn = kms.createKey();
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

  it("decrypts an ESDK message (default signed suite and a legacy non-committing one) with a strict key list", async () => {
    const pt = randomBytes(5000);
    for (const suite of [undefined, AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA256]) {
      const r = await decryptEsdk(await esdkMessage(pt, suite), { client: kms, allowedKeyArns: [keyArn] });
      expect(r.plaintext.equals(pt)).toBe(true);
      expect(r.encryptionContext).toMatchObject(ctx);
      expect(r.keyArn).toBe(keyArn);
    }
  });

  it("refuses a key outside the allow-list or discovery filter", async () => {
    const msg = await esdkMessage(Buffer.from("x"));
    const other = kms.createKey();
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

  it("checks the required encryption context", async () => {
    const msg = await esdkMessage(Buffer.from("x"));
    await expect(
      decryptEsdk(msg, {
        client: kms,
        allowedKeyArns: [keyArn],
        requiredEncryptionContext: { app: "other" },
      }),
    ).rejects.toBeInstanceOf(EncryptionContextError);
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
