/** The in-process KMS fake: the emulator's model, plus the controls unit tests use. */
import { describe, expect, it } from "vitest";
import { FakeKms, FakeKmsError } from "../src/fake-kms.js";

const ctx = { tenant: "a" };

async function sealed(kms: FakeKms, keyId: string) {
  const r = await kms.generateDataKey({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: ctx });
  return { plaintext: r.Plaintext!, blob: r.CiphertextBlob! };
}

describe("FakeKms: the emulator's data plane", () => {
  it("round-trips a data key under its encryption context, and refuses another context", async () => {
    const kms = new FakeKms();
    const arn = kms.addKey({ alias: "alias/app" }).arn;
    const { plaintext, blob } = await sealed(kms, "alias/app");
    expect(blob).toBeInstanceOf(Uint8Array);
    const opened = await kms.decrypt({ CiphertextBlob: blob, EncryptionContext: ctx });
    expect(Buffer.from(opened.Plaintext!)).toEqual(Buffer.from(plaintext));
    expect(opened).toMatchObject({ KeyId: arn, KeyMaterialId: kms.currentMaterialId(arn) });
    await expect(
      kms.decrypt({ CiphertextBlob: blob, EncryptionContext: { tenant: "b" } }),
    ).rejects.toMatchObject({
      name: "InvalidCiphertextException",
    });
    await expect(kms.decrypt({ CiphertextBlob: blob })).rejects.toBeInstanceOf(FakeKmsError);
  });

  it("decrypts old blobs after a rotation, names both materials on ReEncrypt, refuses a disabled key", async () => {
    const kms = new FakeKms();
    const arn = kms.addKey().arn;
    const old = kms.currentMaterialId(arn);
    const { blob } = await sealed(kms, arn);
    const next = kms.rotate(arn);
    expect(next).not.toBe(old);
    const r = await kms.reEncrypt({
      CiphertextBlob: blob,
      SourceEncryptionContext: ctx,
      DestinationKeyId: arn,
      DestinationEncryptionContext: ctx,
    });
    expect(r).toMatchObject({ SourceKeyMaterialId: old, DestinationKeyMaterialId: next });
    kms.disable(arn);
    await expect(kms.decrypt({ CiphertextBlob: blob, EncryptionContext: ctx })).rejects.toMatchObject({
      name: "DisabledException",
    });
  });

  it("holds keys of other Regions and accounts; ReEncrypt crosses accounts of one Region", async () => {
    const kms = new FakeKms();
    const home = kms.addKey().arn;
    const central = kms.addKey({ account: "444455556666" }).arn;
    const dr = kms.addKey({ region: "eu-west-1" }).arn;
    expect(central).toContain(":us-east-1:444455556666:key/");
    expect(dr).toContain(":eu-west-1:111122223333:key/");
    const { plaintext, blob } = await sealed(kms, dr);
    expect(
      Buffer.from((await kms.decrypt({ CiphertextBlob: blob, EncryptionContext: ctx })).Plaintext!),
    ).toEqual(Buffer.from(plaintext));
    const own = await sealed(kms, home);
    const moved = await kms.reEncrypt({
      CiphertextBlob: own.blob,
      SourceEncryptionContext: ctx,
      DestinationKeyId: central,
      DestinationEncryptionContext: ctx,
    });
    expect(moved).toMatchObject({
      KeyId: central,
      SourceKeyId: home,
      DestinationKeyMaterialId: kms.currentMaterialId(central),
    });
    const back = await kms.decrypt({ CiphertextBlob: moved.CiphertextBlob!, EncryptionContext: ctx });
    expect(back.KeyId).toBe(central);
    expect(Buffer.from(back.Plaintext!)).toEqual(Buffer.from(own.plaintext));
  });

  it("refuses crypto with a key that does not encrypt, and rotation status of an asymmetric key", async () => {
    const kms = new FakeKms();
    const rsa = kms.addKey({ spec: "RSA_2048", usage: "SIGN_VERIFY" }).arn;
    await expect(kms.encrypt({ KeyId: rsa, Plaintext: new Uint8Array(32) })).rejects.toMatchObject({
      name: "InvalidKeyUsageException",
    });
    await expect(kms.getKeyRotationStatus({ KeyId: rsa })).rejects.toMatchObject({
      name: "UnsupportedOperationException",
    });
    const imported = kms.addKey({ origin: "EXTERNAL" }).arn;
    await expect(kms.enableKeyRotation({ KeyId: imported })).rejects.toMatchObject({
      name: "UnsupportedOperationException",
    });
    const meta = (await kms.describeKey({ KeyId: rsa })).KeyMetadata!;
    expect(meta).toMatchObject({ KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" });
    expect(meta.CreationDate).toBeInstanceOf(Date);
  });
});

describe("FakeKms: controls", () => {
  it("logs calls and injects failures by operation, key (any reference to it) and count", async () => {
    const kms = new FakeKms();
    const arn = kms.addKey({ alias: "alias/app" }).arn;
    kms.fail({ operation: "GenerateDataKey", keyId: arn, error: "ThrottlingException", times: 1 });
    await expect(sealed(kms, "alias/app")).rejects.toMatchObject({
      name: "ThrottlingException",
      $metadata: { httpStatusCode: 400 },
    });
    await sealed(kms, "alias/app");
    expect(kms.calls).toEqual([
      { op: "GenerateDataKey", keyId: "alias/app" },
      { op: "GenerateDataKey", keyId: "alias/app" },
    ]);
    kms.fail({ error: "KMSInternalException", status: 500 });
    await expect(kms.describeKey({ KeyId: arn })).rejects.toMatchObject({ $fault: "server" });
    kms.clearFailures();
    await kms.describeKey({ KeyId: arn });
    expect(kms.count("DescribeKey")).toBe(2);
  });

  it("omitMaterialIds leaves out the ids LocalStack leaves out, not the rotation history's", async () => {
    const kms = new FakeKms({ pageSize: 1 });
    const arn = kms.addKey({ lastRotationDaysAgo: 5 }).arn;
    kms.omitMaterialIds = true;
    expect(await kms.generateDataKey({ KeyId: arn, KeySpec: "AES_256" })).not.toHaveProperty("KeyMaterialId");
    expect((await kms.describeKey({ KeyId: arn })).KeyMetadata).not.toHaveProperty("CurrentKeyMaterialId");
    const page = await kms.listKeyRotations({ KeyId: arn, IncludeKeyMaterial: "ALL_KEY_MATERIAL" });
    expect(page.Rotations).toHaveLength(1);
    expect(page.Truncated).toBe(true);
    expect(page.Rotations?.[0]?.KeyMaterialId).toBe(kms.findKey(arn).materials[0]?.id);
  });

  it("an on-demand rotation held for reads completes on the read after them", async () => {
    const kms = new FakeKms();
    const key = kms.addKey();
    kms.rotationDelayReads = 2;
    await kms.rotateKeyOnDemand({ KeyId: key.arn });
    expect((await kms.getKeyRotationStatus({ KeyId: key.arn })).OnDemandRotationStartDate).toBeInstanceOf(
      Date,
    );
    await kms.describeKey({ KeyId: key.arn });
    expect(key.materials).toHaveLength(1);
    const after = await kms.describeKey({ KeyId: key.arn });
    expect(key.materials).toHaveLength(2);
    expect(after.KeyMetadata?.CurrentKeyMaterialId).toBe(key.materials[1]?.id);
    expect(key.materials[1]?.rotationType).toBe("ON_DEMAND");
  });

  it("stale alias reads, DryRun and ignoreDryRun, noListKeyRotations, enableRotationNoop", async () => {
    const kms = new FakeKms();
    const old = kms.addKey({ alias: "alias/app" });
    const next = kms.addKey();
    kms.staleAliasReads = 1;
    await kms.updateAlias({ AliasName: "alias/app", TargetKeyId: next.arn });
    expect(kms.aliasTarget("alias/app")).toBe(next.id);
    expect((await kms.describeKey({ KeyId: "alias/app" })).KeyMetadata?.Arn).toBe(old.arn);
    expect((await kms.describeKey({ KeyId: "alias/app" })).KeyMetadata?.Arn).toBe(next.arn);
    await expect(
      kms.generateDataKey({ KeyId: next.arn, KeySpec: "AES_256", DryRun: true }),
    ).rejects.toMatchObject({
      name: "DryRunOperationException",
    });
    kms.ignoreDryRun = true;
    expect(
      (await kms.generateDataKey({ KeyId: next.arn, KeySpec: "AES_256", DryRun: true })).Plaintext,
    ).toHaveLength(32);
    kms.noListKeyRotations = true;
    await expect(kms.listKeyRotations({ KeyId: next.arn })).rejects.toMatchObject({
      name: "InternalFailure",
      $metadata: { httpStatusCode: 501 },
    });
    kms.enableRotationNoop = true;
    await kms.enableKeyRotation({ KeyId: next.arn });
    expect(next.rotationEnabled).toBe(false);
    kms.enableRotationNoop = false;
    await kms.enableKeyRotation({ KeyId: next.arn, RotationPeriodInDays: 180 });
    expect(next).toMatchObject({ rotationEnabled: true, rotationPeriodDays: 180 });
  });
});
