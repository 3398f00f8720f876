/**
 * The KMS keyring against a real KMS wire protocol (through @rekey/localstack: an endpoint from
 * the environment, LocalStack, or the built-in emulator) with the real @aws-sdk/client-kms.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import { useLocalAws, requireCapability } from "@rekey/localstack/vitest";
import {
  decrypt,
  decryptStream,
  encrypt,
  encryptStream,
  inspect,
  KmsError,
  KmsKeyring,
  NoMatchingKeyError,
  parseMessagePrefix,
  rewrapKmsEntry,
  serializePrefixWithEntries,
  type KmsCallEvent,
} from "@rekey/core";
import { through } from "./helpers/streams.js";

const aws = useLocalAws();
const ctx = { tenant: "acme", purpose: "integration" };

async function newKey(alias?: string): Promise<string> {
  const r = await aws.kms.send(new CreateKeyCommand({ Description: "rekey core integration" }));
  const arn = r.KeyMetadata?.Arn as string;
  if (alias) await aws.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
  return arn;
}

describe("KMS keyring over the wire", () => {
  it("encrypts through an alias and decrypts, buffers and streams, recording the key ARN", async () => {
    const alias = `alias/core-${randomBytes(4).toString("hex")}`;
    const arn = await newKey(alias);
    const events: KmsCallEvent[] = [];
    const keyring = new KmsKeyring({ client: aws.kms, keyId: alias, onKmsCall: (e) => events.push(e) });
    const pt = randomBytes(300_000);
    const { ciphertext } = await encrypt(pt, { keyring, encryptionContext: ctx, frameLength: 65536 });
    expect(inspect(ciphertext).entries[0]).toMatchObject({
      type: "aws-kms",
      keyArn: arn,
      requestedKeyId: alias,
    });
    expect((await decrypt(ciphertext, { keyring })).plaintext.equals(pt)).toBe(true);
    const streamed = await through(encryptStream({ keyring, encryptionContext: ctx }), pt, [10_000]);
    expect((await through(decryptStream({ keyring }), streamed, [7_000])).equals(pt)).toBe(true);
    expect(events.map((e) => e.operation)).toEqual([
      "GenerateDataKey",
      "Decrypt",
      "GenerateDataKey",
      "Decrypt",
    ]);
    expect(events.every((e) => e.keyArn === arn && e.error === undefined)).toBe(true);
  });

  it("records the KeyMaterialId KMS returns", async (t) => {
    requireCapability(t, aws, "keyMaterialIdInResponses");
    const arn = await newKey();
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring: new KmsKeyring({ client: aws.kms, keyId: arn }),
    });
    expect(inspect(ciphertext).entries[0]?.keyMaterialId).toMatch(/^[0-9a-f]{64}$/);
  });

  it("after on-demand rotation: old data decrypts, and a rewrap moves it onto the new material", async () => {
    const arn = await newKey();
    const keyring = new KmsKeyring({ client: aws.kms, keyId: arn });
    const { ciphertext } = await encrypt(randomBytes(1000), { keyring, encryptionContext: ctx });
    const before = parseMessagePrefix(ciphertext);
    if (before.status !== "ok") throw new Error("unparseable");
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    const original = await decrypt(ciphertext, { keyring });
    const entry = await rewrapKmsEntry(before.value.entries[0] as (typeof before.value.entries)[0], {
      client: aws.kms,
      destinationKeyId: arn,
      encryptionContext: before.value.header.encryptionContext,
    });
    // The wrapped key really changed (not a history-only rotation).
    expect(Buffer.from(entry.body).equals(Buffer.from(before.value.entries[0]?.body ?? []))).toBe(false);
    const rewrapped = Buffer.concat([
      serializePrefixWithEntries(before.value.header, [entry]),
      ciphertext.subarray(before.value.bodyOffset),
    ]);
    expect((await decrypt(rewrapped, { keyring })).plaintext.equals(original.plaintext)).toBe(true);
    if (aws.capabilities.keyMaterialIdInResponses) {
      expect(inspect(rewrapped).entries[0]?.keyMaterialId).not.toBe(
        inspect(ciphertext).entries[0]?.keyMaterialId,
      );
    }
  });

  it("after an alias moves to a new key, old data needs the old key allowed; new data uses the new key", async () => {
    const alias = `alias/cut-${randomBytes(4).toString("hex")}`;
    const oldArn = await newKey(alias);
    const keyring = new KmsKeyring({ client: aws.kms, keyId: alias });
    const { ciphertext: old } = await encrypt(Buffer.from("old"), { keyring, encryptionContext: ctx });
    const newArn = await newKey();
    await aws.kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: newArn }));
    await expect(decrypt(old, { keyring })).rejects.toBeInstanceOf(NoMatchingKeyError);
    const both = new KmsKeyring({ client: aws.kms, keyId: alias, allowedKeyArns: [oldArn] });
    expect((await decrypt(old, { keyring: both })).plaintext.toString()).toBe("old");
    const { ciphertext: fresh } = await encrypt(Buffer.from("new"), { keyring, encryptionContext: ctx });
    expect(inspect(fresh).entries[0]?.keyArn).toBe(newArn);
  });

  it("a wrong encryption context is refused by KMS itself", async () => {
    const arn = await newKey();
    const keyring = new KmsKeyring({ client: aws.kms, keyId: arn });
    const a = await encrypt(Buffer.from("a"), { keyring, encryptionContext: { tenant: "a" } });
    const b = await encrypt(Buffer.from("b"), { keyring, encryptionContext: { tenant: "b" } });
    const pa = parseMessagePrefix(a.ciphertext);
    const pb = parseMessagePrefix(b.ciphertext);
    if (pa.status !== "ok" || pb.status !== "ok") throw new Error("unparseable");
    // B's entry was made under context {tenant: b}; A's header says {tenant: a}.
    const mixed = Buffer.concat([
      serializePrefixWithEntries(pa.value.header, pb.value.entries),
      a.ciphertext.subarray(pa.value.bodyOffset),
    ]);
    await expect(decrypt(mixed, { keyring })).rejects.toBeInstanceOf(NoMatchingKeyError);
  });

  it("a disabled key surfaces as KmsError(DisabledException)", async () => {
    const arn = await newKey();
    const keyring = new KmsKeyring({ client: aws.kms, keyId: arn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    await aws.kms.send(new DisableKeyCommand({ KeyId: arn }));
    const e = await decrypt(ciphertext, { keyring }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).kmsErrorName).toBe("DisabledException");
  });
});
