/**
 * The ESDK header parser: facts of real ESDK messages (both message formats, KMS and raw AES
 * keyrings, signed and unsigned suites), "need more" on every short prefix, and refusals of
 * malformed headers. And raw AES keys of a rekey keyring opening ESDK raw AES messages.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
  MultiKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from "@aws-crypto/client-node";
import {
  decryptEsdk,
  decryptEsdkStream,
  FormatError,
  KmsKeyring,
  LimitError,
  MultiKeyring,
  NoMatchingKeyError,
  parseEsdkHeader,
  RawAesKeyring,
  type EsdkHeader,
} from "@rekey/core";
import { FakeKms } from "@rekey/localstack/fake-kms";

const kms = new FakeKms();
const keyArn = kms.addKey().arn;
const otherArn = kms.addKey().arn;
const clientProvider = (() => kms) as unknown as NonNullable<
  NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>["clientProvider"]
>;
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
const rawKey = randomBytes(32);
const rawKeyring = (key = rawKey): RawAesKeyringNode =>
  new RawAesKeyringNode({
    keyNamespace: "backups",
    keyName: "offline-1",
    // A copy: the ESDK wipes the array it is given.
    unencryptedMasterKey: Uint8Array.from(key),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });

function parsed(bytes: Uint8Array): EsdkHeader {
  const r = parseEsdkHeader(bytes);
  if (r.status !== "ok") throw new Error(`needs ${r.minBytes}`);
  return r.value;
}

/** The body starts right after the header: its first frame (regular or final) is number 1. */
function firstFrameSequence(message: Buffer, bodyOffset: number): number {
  const first = message.readUInt32BE(bodyOffset);
  return first === 0xffffffff ? message.readUInt32BE(bodyOffset + 4) : first;
}

describe("parseEsdkHeader", () => {
  it("reads suite, keys, context and frame length of the signed default suite (v2)", async () => {
    const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, keyIds: [otherArn], clientProvider });
    const { result } = await esdk.encrypt(keyring, randomBytes(10), {
      encryptionContext: { app: "billing", tenant: "t1" },
      frameLength: 4096,
    });
    const h = parsed(result);
    expect(h.version).toBe(2);
    expect(h.suite).toMatchObject({ id: 0x0578, signed: true, committing: true });
    expect(h.dataKeys.map((k) => k.keyArn)).toEqual([keyArn, otherArn]);
    expect(h.dataKeys.every((k) => k.providerId === "aws-kms")).toBe(true);
    expect(h.encryptionContext).toMatchObject({ app: "billing", tenant: "t1" });
    expect(Object.keys(h.encryptionContext)).toContain("aws-crypto-public-key");
    expect(h).toMatchObject({ framed: true, frameLength: 4096 });
    expect(firstFrameSequence(result, h.headerLength)).toBe(1);
  });

  it("reads the unsigned committing suite with a raw AES key, and a v1 message", async () => {
    const { result } = await esdk.encrypt(rawKeyring(), Buffer.alloc(0), {
      suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
    });
    const h = parsed(result);
    expect(h.suite).toMatchObject({ id: 0x0478, signed: false, committing: true });
    expect(h.encryptionContext).toEqual({});
    expect(h.dataKeys).toHaveLength(1);
    expect(h.dataKeys[0]?.providerId).toBe("backups");
    expect(h.dataKeys[0]?.providerInfo.startsWith("offline-1")).toBe(true);
    expect(h.dataKeys[0]?.keyArn).toBeUndefined();

    const v1 = await legacy.encrypt(new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider }), "x", {
      suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
      encryptionContext: { a: "b" },
    });
    const h1 = parsed(v1.result);
    expect(h1).toMatchObject({ version: 1, framed: true });
    expect(h1.suite).toMatchObject({ id: 0x0378, signed: true, committing: false });
    expect(firstFrameSequence(v1.result, h1.headerLength)).toBe(1);
  });

  it("answers need for every short prefix, with a count that makes progress, until ok", async () => {
    const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, keyIds: [otherArn], clientProvider });
    const { result } = await esdk.encrypt(keyring, randomBytes(100), {
      encryptionContext: { big: "v".repeat(20_000) },
    });
    const full = parsed(result);
    expect(full.headerLength).toBeGreaterThan(20_000);
    let at = 0;
    let reads = 0;
    for (;;) {
      const r = parseEsdkHeader(result.subarray(0, at));
      if (r.status === "ok") break;
      expect(r.minBytes).toBeGreaterThan(at);
      expect(r.minBytes).toBeLessThanOrEqual(full.headerLength);
      at = r.minBytes;
      reads++;
    }
    expect(at).toBe(full.headerLength);
    expect(reads).toBeLessThan(40);
    for (let n = 0; n < full.headerLength; n += 97)
      expect(parseEsdkHeader(result.subarray(0, n)).status).toBe("need");
  });

  it("refuses malformed headers and too many data keys with typed errors", async () => {
    const { result } = await esdk.encrypt(
      new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider }),
      "x",
      {
        suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
      },
    );
    const h = parsed(result);
    const bad = (mutate: (b: Buffer) => void): unknown => {
      const b = Buffer.from(result);
      mutate(b);
      try {
        return parseEsdkHeader(b);
      } catch (e) {
        return e;
      }
    };
    expect(bad((b) => (b[0] = 3))).toBeInstanceOf(FormatError);
    expect(bad((b) => b.writeUInt16BE(0x0378, 1))).toBeInstanceOf(FormatError); // a v1 suite in v2
    // Content type: the byte after the data keys (36 + 2 + edk section).
    const contentTypeAt = h.headerLength - 16 - 32 - 4 - 1;
    expect(result[contentTypeAt]).toBe(2);
    expect(bad((b) => (b[contentTypeAt] = 7))).toBeInstanceOf(FormatError);
    expect(bad((b) => b.writeUInt32BE(0, contentTypeAt + 1))).toBeInstanceOf(FormatError);
    const many = new KmsKeyringNode({ generatorKeyId: keyArn, keyIds: [otherArn], clientProvider });
    const two = (await esdk.encrypt(many, "x")).result;
    expect(() => parseEsdkHeader(two, { maxEncryptedDataKeys: 1 })).toThrow(LimitError);
  });
});

describe("ESDK raw AES keys of a rekey keyring", () => {
  it("a RawAesKeyring with esdkKeyNamespace opens ESDK raw AES messages, alone or in a MultiKeyring", async () => {
    const pt = randomBytes(10_000);
    const { result } = await esdk.encrypt(rawKeyring(), pt, {
      encryptionContext: { k: "v" },
      frameLength: 4096,
    });
    const mine = new RawAesKeyring({ name: "offline-1", key: rawKey, esdkKeyNamespace: "backups" });
    expect((await decryptEsdk(result, { client: kms, keyring: mine })).plaintext.equals(pt)).toBe(true);
    const multi = new MultiKeyring([new KmsKeyring({ client: kms, keyId: keyArn }), mine]);
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([result]),
      decryptEsdkStream({ client: kms, allowedKeyArns: [keyArn], keyring: multi }),
      async (src: AsyncIterable<Buffer>) => {
        for await (const c of src) out.push(c);
      },
    );
    expect(Buffer.concat(out).equals(pt)).toBe(true);
  });

  it("leaves the rekey keyring's own key intact (the ESDK wipes the key it is given)", async () => {
    const mine = new RawAesKeyring({ name: "offline-1", key: rawKey, esdkKeyNamespace: "backups" });
    for (let i = 0; i < 2; i++) {
      const { result } = await esdk.encrypt(rawKeyring(), `n${i}`);
      expect((await decryptEsdk(result, { client: kms, keyring: mine })).plaintext.toString()).toBe(`n${i}`);
    }
  });

  it("the same key without esdkKeyNamespace, or under another name or key, does not open it", async () => {
    const { result } = await esdk.encrypt(new MultiKeyringNode({ generator: rawKeyring() }), "secret");
    const plain = new RawAesKeyring({ name: "offline-1", key: rawKey });
    expect(() => decryptEsdkStream({ client: kms, keyring: plain })).toThrow(/needs allowedKeyArns/);
    const otherName = new RawAesKeyring({ name: "offline-2", key: rawKey, esdkKeyNamespace: "backups" });
    await expect(decryptEsdk(result, { client: kms, keyring: otherName })).rejects.toBeInstanceOf(
      NoMatchingKeyError,
    );
    const otherKey = new RawAesKeyring({
      name: "offline-1",
      key: randomBytes(32),
      esdkKeyNamespace: "backups",
    });
    await expect(decryptEsdk(result, { client: kms, keyring: otherKey })).rejects.toBeInstanceOf(
      NoMatchingKeyError,
    );
  });
});
