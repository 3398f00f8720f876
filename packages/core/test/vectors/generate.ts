/**
 * Writes the version-1 test vectors that do not exist yet. Existing vectors are frozen: this
 * script refuses to overwrite one. Run once with
 * `pnpm exec tsx --conditions=rekey-source packages/core/test/vectors/generate.ts`.
 */
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import {
  encodeKmsEntry,
  encrypt,
  encryptStream,
  KmsKeyring,
  parseMessagePrefix,
  RawAesKeyring,
  serializePrefixWithEntries,
  type Keyring,
  type KmsApi,
  type MessagePrefix,
} from "@rekey/core";
import { deriveKeys } from "../../src/crypto/derive.js";
import { sealFrame } from "../../src/crypto/frame-cipher.js";
import { computeHeaderTag } from "../../src/crypto/header-tag.js";
import { finalFrameHeader } from "../../src/format/frame.js";
import type { KmsRecord, Vector } from "./vector.js";

const here = dirname(fileURLToPath(import.meta.url));
const key = Buffer.alloc(32, 0x42);
const otherKey = Buffer.alloc(32, 0x17);
const keyring = new RawAesKeyring({ name: "vectors", key });
const ctx = { purpose: "test-vectors", tenant: "acme", "ünïcode": "välue" };
const plaintext = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
const FRAME = 64;

async function streamed(writer: Transform, data: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([data]), writer, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

function prefixOf(b: Uint8Array): MessagePrefix {
  const p = parseMessagePrefix(b);
  if (p.status !== "ok") throw new Error("unparseable");
  return p.value;
}

function flip(b: Buffer, at: number): Buffer {
  const m = Buffer.from(b);
  m[at] = (m[at] ?? 0) ^ 0x01;
  return m;
}

const base = (await encrypt(plaintext, { keyring, frameLength: FRAME, encryptionContext: ctx })).ciphertext;
const other = (await encrypt(plaintext, { keyring, frameLength: FRAME, encryptionContext: ctx })).ciphertext;
const empty = (await encrypt(Buffer.alloc(0), { keyring })).ciphertext;
// Whole frames end two ways: the stream writer adds an empty final frame (003), the buffer API makes
// the last frame the final one (008).
const exactOptions = { keyring, frameLength: FRAME, encryptionContext: ctx };
const exact = await streamed(encryptStream(exactOptions), plaintext.subarray(0, 128));
const exactFull = (await encrypt(plaintext.subarray(0, 128), exactOptions)).ciphertext;
const p = prefixOf(base);
const frame = 4 + FRAME + 16;
const kr = { type: "raw-aes" as const, name: "vectors", keyHex: key.toString("hex") };

const vectors: Record<string, Vector> = {
  "001-ok-multi-frame": { description: "200 bytes in 64-byte frames (3 regular + final of 8)", outcome: "ok", keyring: kr, ciphertextBase64: base.toString("base64"), plaintextHex: plaintext.toString("hex") },
  "002-ok-empty": { description: "empty plaintext: one empty final frame, empty context, default 1 MiB frames", outcome: "ok", keyring: kr, ciphertextBase64: empty.toString("base64"), plaintextHex: "" },
  "003-ok-exact-frames": { description: "128 bytes in 64-byte frames: two regular frames and an empty final frame", outcome: "ok", keyring: kr, ciphertextBase64: exact.toString("base64"), plaintextHex: plaintext.subarray(0, 128).toString("hex") },
  "004-ok-required-context": { description: "required context present", outcome: "ok", keyring: kr, requiredEncryptionContext: { tenant: "acme" }, ciphertextBase64: base.toString("base64"), plaintextHex: plaintext.toString("hex") },
  "008-ok-full-final-frame": { description: "128 bytes in 64-byte frames: a regular frame and a final frame of 64 bytes", outcome: "ok", keyring: kr, ciphertextBase64: exactFull.toString("base64"), plaintextHex: plaintext.subarray(0, 128).toString("hex") },
  "010-header-auth-frame-length": { description: "frame length field changed 64 -> 65: only the header tag covers it", outcome: "header_auth", keyring: kr, ciphertextBase64: flip(base, 46).toString("base64") },
  "011-header-auth-tag": { description: "last byte of the header tag flipped", outcome: "header_auth", keyring: kr, ciphertextBase64: flip(base, p.header.headerLength - 1).toString("base64") },
  "020-commitment-flipped": { description: "first byte of the key commitment flipped", outcome: "commitment", keyring: kr, ciphertextBase64: flip(base, p.header.headerLength - 48).toString("base64") },
  "021-commitment-swapped-entry": {
    description: "wrapped-key section taken from another message under the same key and context",
    outcome: "commitment",
    keyring: kr,
    ciphertextBase64: Buffer.concat([serializePrefixWithEntries(p.header, prefixOf(other).entries), base.subarray(p.bodyOffset)]).toString("base64"),
  },
  "030-frame-auth-ciphertext": { description: "a ciphertext byte of frame 2 flipped", outcome: "frame_auth", keyring: kr, ciphertextBase64: flip(base, p.bodyOffset + frame + 10).toString("base64") },
  "031-frame-auth-final-tag": { description: "last byte of the final frame's tag flipped", outcome: "frame_auth", keyring: kr, ciphertextBase64: flip(base, base.length - 1).toString("base64") },
  "032-frame-auth-final-flag": {
    description: "frame 3 turned into a final frame of 64 bytes (marker + length inserted); the AAD's final flag differs",
    outcome: "frame_auth",
    keyring: kr,
    ciphertextBase64: Buffer.concat([
      base.subarray(0, p.bodyOffset + 2 * frame),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      base.subarray(p.bodyOffset + 2 * frame, p.bodyOffset + 2 * frame + 4),
      Buffer.from([0, 0, 0, 64]),
      base.subarray(p.bodyOffset + 2 * frame + 4, p.bodyOffset + 3 * frame),
    ]).toString("base64"),
  },
  "040-truncated-final-frame-dropped": { description: "cut after frame 3: the final frame is missing", outcome: "truncated", keyring: kr, ciphertextBase64: base.subarray(0, p.bodyOffset + 3 * frame).toString("base64") },
  "041-truncated-mid-frame": { description: "cut in the middle of frame 2", outcome: "truncated", keyring: kr, ciphertextBase64: base.subarray(0, p.bodyOffset + frame + 30).toString("base64") },
  "042-trailing-bytes": { description: "one byte appended after the final frame", outcome: "trailing", keyring: kr, ciphertextBase64: Buffer.concat([base, Buffer.from([0])]).toString("base64") },
  "050-no-matching-key": { description: "decrypted with another wrapping key under the same name", outcome: "no_matching_key", keyring: { ...kr, keyHex: otherKey.toString("hex") }, ciphertextBase64: base.toString("base64") },
  "060-limit-entry-count": {
    description: "entry count field set to 17 (the default limit is 16)",
    outcome: "limit",
    keyring: kr,
    ciphertextBase64: (() => {
      const m = Buffer.from(base);
      m.writeUInt16BE(17, p.header.headerLength + 4);
      return m.toString("base64");
    })(),
  },
  "061-limit-context-length": {
    description: "context length field set to 9000 (the default limit is 8192)",
    outcome: "limit",
    keyring: kr,
    ciphertextBase64: (() => {
      const m = Buffer.from(base);
      m.writeUInt16BE(9000, 47);
      return m.toString("base64");
    })(),
  },
  "062-limit-frame-length": {
    description: "frame length field set to 16 MiB + 1 (the default reader limit is 16 MiB)",
    outcome: "limit",
    keyring: kr,
    ciphertextBase64: (() => {
      const m = Buffer.from(base);
      m.writeUInt32BE(16 * 1024 * 1024 + 1, 43);
      return m.toString("base64");
    })(),
  },
  "063-limit-section-bytes": {
    description: "wrapped-key section length field set to 65533 (65537 bytes with the field; the limit is 65536)",
    outcome: "limit",
    keyring: kr,
    ciphertextBase64: (() => {
      const m = Buffer.from(base);
      m.writeUInt32BE(65533, p.header.headerLength);
      return m.toString("base64");
    })(),
  },
  "070-format-bad-magic": { description: "first byte changed: not a rekey message", outcome: "format", keyring: kr, ciphertextBase64: flip(base, 0).toString("base64") },
  "071-format-version-2": {
    description: "version 2 is not defined",
    outcome: "format",
    keyring: kr,
    ciphertextBase64: (() => {
      const m = Buffer.from(base);
      m[4] = 2;
      return m.toString("base64");
    })(),
  },
  "080-encryption-context-mismatch": { description: "required tenant=other, message has tenant=acme", outcome: "encryption_context", keyring: kr, requiredEncryptionContext: { tenant: "other" }, ciphertextBase64: base.toString("base64") },
};

// aws-kms vectors: a stand-in KMS that makes opaque blobs and remembers what each unwraps to.
const KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/7f3c1c2e-5b1a-4f0e-9d7a-2c4b8e6a1d90";
const OTHER_ARN = "arn:aws:kms:eu-west-1:111122223333:key/0d5e9b44-8c21-4b7e-a3f6-61c0f2e7b835";
const MATERIAL_1 = "a1".repeat(32);
const MATERIAL_2 = "b2".repeat(32);
const aliases = { "alias/app": KEY_ARN };
const records: KmsRecord[] = [];
function record(dataKey: Uint8Array, context: Record<string, string>, keyMaterialId?: string): Uint8Array {
  const blob = randomBytes(184);
  records.push({
    keyArn: KEY_ARN,
    ...(keyMaterialId ? { keyMaterialId } : {}),
    encryptionContext: { ...context },
    ciphertextBlobBase64: blob.toString("base64"),
    plaintextHex: Buffer.from(dataKey).toString("hex"),
  });
  return blob;
}
function writerKms(keyMaterialId?: string): KmsApi {
  const unused = (): never => {
    throw new Error("not used by the writer");
  };
  return {
    generateDataKey: async (input) => {
      const Plaintext = randomBytes(32);
      const CiphertextBlob = record(Plaintext, input.EncryptionContext ?? {}, keyMaterialId);
      return { Plaintext: Buffer.from(Plaintext), CiphertextBlob, KeyId: KEY_ARN, ...(keyMaterialId ? { KeyMaterialId: keyMaterialId } : {}) };
    },
    encrypt: unused,
    decrypt: unused,
    reEncrypt: unused,
  };
}
const kmsCtx = { bucket: "invoices", key: "2026/11/0001.pdf" };
const kmsText = Buffer.from("a document wrapped by KMS, with the material that wrapped it recorded\n");
const viaAlias = (await encrypt(kmsText, { keyring: new KmsKeyring({ client: writerKms(MATERIAL_1), keyId: "alias/app" }), encryptionContext: kmsCtx, frameLength: 32 })).ciphertext;
const viaArn = (await encrypt(kmsText, { keyring: new KmsKeyring({ client: writerKms(), keyId: KEY_ARN }), encryptionContext: kmsCtx, frameLength: 32 })).ciphertext;
const viaAliasOther = (await encrypt(kmsText, { keyring: new KmsKeyring({ client: writerKms(MATERIAL_1), keyId: "alias/app" }), encryptionContext: kmsCtx, frameLength: 32 })).ciphertext;
// A rewrap onto new material: KMS ReEncrypt gives a new blob for the same data key.
const pAlias = prefixOf(viaAlias);
const aliasKey = records[0] as KmsRecord;
const rewrapped = Buffer.concat([
  serializePrefixWithEntries(pAlias.header, [
    encodeKmsEntry({
      keyArn: KEY_ARN,
      requestedKeyId: "alias/app",
      keyMaterialId: MATERIAL_2,
      ciphertextBlob: record(Buffer.from(aliasKey.plaintextHex, "hex"), kmsCtx, MATERIAL_2),
    }),
  ]),
  viaAlias.subarray(pAlias.bodyOffset),
]);
const kms = { aliases, records };
const kmsVectors: Record<string, Vector> = {
  "005-ok-aws-kms": {
    description: "aws-kms entry written through an alias: args [key ARN, alias, key material id]; read through the alias",
    outcome: "ok",
    keyring: { type: "aws-kms", keyId: "alias/app" },
    kms,
    entries: [{ keyArn: KEY_ARN, requestedKeyId: "alias/app", keyMaterialId: MATERIAL_1 }],
    ciphertextBase64: viaAlias.toString("base64"),
    plaintextHex: kmsText.toString("hex"),
  },
  "006-ok-aws-kms-no-material-id": {
    description: "aws-kms entry with two args (KMS returned no KeyMaterialId); read with the key ARN",
    outcome: "ok",
    keyring: { type: "aws-kms", keyId: KEY_ARN },
    kms,
    entries: [{ keyArn: KEY_ARN, requestedKeyId: KEY_ARN }],
    ciphertextBase64: viaArn.toString("base64"),
    plaintextHex: kmsText.toString("hex"),
  },
  "007-ok-aws-kms-rewrapped": {
    description: "005 after a rewrap onto new material: only the wrapped-key section differs; header and body bytes are 005's",
    outcome: "ok",
    keyring: { type: "aws-kms", allowedKeyArns: [KEY_ARN] },
    kms,
    entries: [{ keyArn: KEY_ARN, requestedKeyId: "alias/app", keyMaterialId: MATERIAL_2 }],
    rewrapOf: "005-ok-aws-kms",
    ciphertextBase64: rewrapped.toString("base64"),
    plaintextHex: kmsText.toString("hex"),
  },
  "022-commitment-aws-kms-swapped-entry": {
    description: "005 with the aws-kms entry of another message under the same key and context: KMS unwraps another data key",
    outcome: "commitment",
    keyring: { type: "aws-kms", keyId: "alias/app" },
    kms,
    ciphertextBase64: Buffer.concat([
      serializePrefixWithEntries(pAlias.header, prefixOf(viaAliasOther).entries),
      viaAlias.subarray(pAlias.bodyOffset),
    ]).toString("base64"),
  },
  "051-no-matching-key-aws-kms-allow-list": {
    description: "005 read with an allow-list that names another key: no KMS call, no matching key",
    outcome: "no_matching_key",
    keyring: { type: "aws-kms", allowedKeyArns: [OTHER_ARN] },
    kms,
    ciphertextBase64: viaAlias.toString("base64"),
  },
};
Object.assign(vectors, kmsVectors);

// Signed (suite 2) vectors: 100 and up. A keyring that keeps the data key stands for the
// "data-key holder" who can forge an unsigned message but not a signed one.
const heldKeys: Buffer[] = [];
const holding: Keyring = {
  wrap: async (r) => {
    const w = await keyring.wrap(r);
    heldKeys.push(Buffer.from(w.dataKey));
    return w;
  },
  unwrap: (e, r) => keyring.unwrap(e, r),
};
const signed = (await encrypt(plaintext, { keyring: holding, frameLength: FRAME, encryptionContext: ctx, signed: true })).ciphertext;
const ps = prefixOf(signed);
const signedKeys = deriveKeys(heldKeys[0] as Buffer, ps.header.messageId);
const forgedText = Buffer.from("a body forged by a holder of the data key");
const forgedBody = Buffer.concat([
  finalFrameHeader(1, forgedText.length),
  ...sealFrame(signedKeys.contentKey, ps.header.messageId, 1, true, [forgedText], forgedText.length),
]);
const downgraded = (() => {
  const body = Buffer.from(ps.header.authenticatedBytes);
  body.writeUInt16BE(1, 5);
  const tag = computeHeaderTag(signedKeys.contentKey, body);
  return Buffer.concat([body, tag, signed.subarray(ps.header.headerLength, signed.length - 96)]);
})();
const signedViaAlias = (await encrypt(kmsText, { keyring: new KmsKeyring({ client: writerKms(MATERIAL_1), keyId: "alias/app" }), encryptionContext: kmsCtx, frameLength: 32, signed: true })).ciphertext;
const pSignedAlias = prefixOf(signedViaAlias);
const signedAliasKey = records[records.length - 1] as KmsRecord;
const signedRewrapped = Buffer.concat([
  serializePrefixWithEntries(pSignedAlias.header, [
    encodeKmsEntry({
      keyArn: KEY_ARN,
      requestedKeyId: "alias/app",
      keyMaterialId: MATERIAL_2,
      // ReEncrypt keeps the encryption context, the public key included.
      ciphertextBlob: record(Buffer.from(signedAliasKey.plaintextHex, "hex"), signedAliasKey.encryptionContext, MATERIAL_2),
    }),
  ]),
  signedViaAlias.subarray(pSignedAlias.bodyOffset),
]);
const signedVectors: Record<string, Vector> = {
  "100-ok-signed": { description: "suite 2 (signed): 200 bytes in 64-byte frames, the public key in the context, a 96-byte signature after the final frame", outcome: "ok", keyring: kr, ciphertextBase64: signed.toString("base64"), plaintextHex: plaintext.toString("hex") },
  "101-signature-flipped": { description: "100 with the last byte of its signature flipped", outcome: "signature", keyring: kr, ciphertextBase64: flip(signed, signed.length - 1).toString("base64") },
  "102-signature-forged-body": {
    description: "100 with a new body made by a holder of the data key (header tag and frame tag verify); the signature is 100's",
    outcome: "signature",
    keyring: kr,
    ciphertextBase64: Buffer.concat([signed.subarray(0, ps.bodyOffset), forgedBody, signed.subarray(signed.length - 96)]).toString("base64"),
  },
  "103-format-signed-downgrade": {
    description: "100 turned into suite 1 by a holder of the data key (suite field changed, header tag recomputed, signature dropped): the context still holds the reserved public-key entry",
    outcome: "format",
    keyring: kr,
    ciphertextBase64: downgraded.toString("base64"),
  },
  "104-ok-signed-aws-kms": {
    description: "suite 2 through a KMS alias: the public key is part of the entry's KMS encryption context",
    outcome: "ok",
    keyring: { type: "aws-kms", keyId: "alias/app" },
    kms: { aliases, records: records.filter((r) => r === signedAliasKey) },
    entries: [{ keyArn: KEY_ARN, requestedKeyId: "alias/app", keyMaterialId: MATERIAL_1 }],
    ciphertextBase64: signedViaAlias.toString("base64"),
    plaintextHex: kmsText.toString("hex"),
  },
  "105-ok-signed-aws-kms-rewrapped": {
    description: "104 after a rewrap onto new material (ReEncrypt keeps the context): header, body and signature bytes are 104's, and the signature verifies",
    outcome: "ok",
    keyring: { type: "aws-kms", allowedKeyArns: [KEY_ARN] },
    kms: { aliases, records: records.slice(-1) },
    entries: [{ keyArn: KEY_ARN, requestedKeyId: "alias/app", keyMaterialId: MATERIAL_2 }],
    rewrapOf: "104-ok-signed-aws-kms",
    ciphertextBase64: signedRewrapped.toString("base64"),
    plaintextHex: kmsText.toString("hex"),
  },
};
Object.assign(vectors, signedVectors);

for (const [name, v] of Object.entries(vectors)) {
  const file = join(here, `${name}.json`);
  if (existsSync(file)) {
    console.log(`kept   ${name} (frozen)`);
    continue;
  }
  writeFileSync(file, JSON.stringify(v, null, 2) + "\n");
  console.log(`wrote  ${name}`);
}
