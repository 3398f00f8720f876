/**
 * Runs the frozen version-1 vectors (suite 1, and suite 2 — signed — from 100 up). Each names its outcome; for the decrypt failures (which share
 * one public error) a diagnosis with the internal primitives confirms *which* check fails, so a
 * vector cannot pass for the wrong reason.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  decrypt,
  decryptStream,
  inspect,
  KmsKeyring,
  parseMessagePrefix,
  RawAesKeyring,
  RekeyError,
  type Keyring,
  type KmsApi,
  type RekeyErrorCode,
} from "@rekey/core";
import { commitmentMatches, deriveKeys } from "../src/crypto/derive.js";
import { verifyHeaderTag } from "../src/crypto/header-tag.js";
import { MessageVerifier } from "../src/crypto/signature.js";
import { SIGNATURE_LENGTH } from "../src/format/constants.js";
import { FakeKmsError } from "@rekey/localstack/fake-kms";
import { through } from "./helpers/streams.js";
import type { Vector } from "./vectors/vector.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "vectors");
const vectors = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), "utf8")) as Vector] as const);

const CODES: Record<string, RekeyErrorCode> = {
  header_auth: "ERR_DECRYPT_FAILED",
  commitment: "ERR_DECRYPT_FAILED",
  frame_auth: "ERR_DECRYPT_FAILED",
  truncated: "ERR_DECRYPT_FAILED",
  trailing: "ERR_DECRYPT_FAILED",
  no_matching_key: "ERR_NO_MATCHING_KEY",
  limit: "ERR_LIMIT",
  format: "ERR_FORMAT",
  encryption_context: "ERR_ENCRYPTION_CONTEXT",
  signature: "ERR_DECRYPT_FAILED",
};

const sameContext = (a: Record<string, string> | undefined, b: Record<string, string>): boolean =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * The KMS of an aws-kms vector: Decrypt answers from the vector's table, with KMS's rules — the
 * blob must be known, `KeyId` (an ARN or an alias of the table) must name the blob's key, and the
 * encryption context must be exactly the one it was wrapped under.
 */
function tableKms(v: Vector, calls: string[]): KmsApi {
  const table = v.kms ?? { aliases: {}, records: [] };
  const unused = (): never => {
    throw new Error("a vector only decrypts");
  };
  return {
    generateDataKey: unused,
    encrypt: unused,
    reEncrypt: unused,
    decrypt: async (input) => {
      calls.push(`Decrypt ${input.KeyId ?? ""}`);
      const blob = Buffer.from(input.CiphertextBlob ?? []).toString("base64");
      const r = table.records.find((x) => x.ciphertextBlobBase64 === blob);
      if (!r || !sameContext(input.EncryptionContext, r.encryptionContext))
        throw new FakeKmsError("InvalidCiphertextException");
      const named = input.KeyId ? (table.aliases[input.KeyId] ?? input.KeyId) : r.keyArn;
      if (named !== r.keyArn) throw new FakeKmsError("IncorrectKeyException");
      return {
        Plaintext: Buffer.from(r.plaintextHex, "hex"),
        KeyId: r.keyArn,
        ...(r.keyMaterialId ? { KeyMaterialId: r.keyMaterialId } : {}),
      };
    },
  };
}

function keyringOf(v: Vector, calls: string[] = []): Keyring {
  const k = v.keyring;
  if (k.type === "raw-aes") return new RawAesKeyring({ name: k.name, key: Buffer.from(k.keyHex, "hex") });
  return new KmsKeyring({
    client: tableKms(v, calls),
    ...(k.keyId ? { keyId: k.keyId } : {}),
    ...(k.allowedKeyArns ? { allowedKeyArns: k.allowedKeyArns } : {}),
  });
}

/** Which of commitment / header tag hold for this vector (only for parseable messages). */
async function diagnose(v: Vector, bytes: Buffer): Promise<{ commitment: boolean; headerTag: boolean }> {
  const p = parseMessagePrefix(bytes);
  if (p.status !== "ok") throw new Error("diagnosis needs a parseable prefix");
  const dataKey = await keyringOf(v).unwrap(p.value.entries, {
    encryptionContext: p.value.header.encryptionContext,
  });
  if (!dataKey) throw new Error("diagnosis needs an unwrappable entry");
  const { contentKey, commitment } = deriveKeys(dataKey, p.value.header.messageId);
  return {
    commitment: commitmentMatches(commitment, p.value.header.commitment),
    headerTag: verifyHeaderTag(contentKey, p.value.header.authenticatedBytes, p.value.header.headerTag),
  };
}

describe("frozen vectors (format v1)", () => {
  it("covers every named outcome", () => {
    expect(new Set(vectors.map(([, v]) => v.outcome))).toEqual(new Set(["ok", ...Object.keys(CODES)]));
  });

  for (const [file, v] of vectors) {
    it(`${file}: ${v.description} -> ${v.outcome}`, async () => {
      const bytes = Buffer.from(v.ciphertextBase64, "base64");
      const calls: string[] = [];
      const keyring = keyringOf(v, calls);
      const options = {
        keyring,
        ...(v.requiredEncryptionContext ? { requiredEncryptionContext: v.requiredEncryptionContext } : {}),
      };
      const results = [
        await decrypt(bytes, options).then(
          (r) => r.plaintext,
          (e: unknown) => e,
        ),
        await through(decryptStream(options), bytes, [50]).then(
          (r) => r,
          (e: unknown) => e,
        ),
      ];
      for (const r of results) {
        if (v.outcome === "ok") {
          expect(Buffer.isBuffer(r), String(r)).toBe(true);
          expect((r as Buffer).toString("hex")).toBe(v.plaintextHex);
        } else {
          expect(r).toBeInstanceOf(RekeyError);
          expect((r as RekeyError).code).toBe(CODES[v.outcome]);
        }
      }
      if (v.entries) {
        expect(
          inspect(bytes).entries.map(({ keyArn, requestedKeyId, keyMaterialId }) => ({
            keyArn,
            requestedKeyId,
            keyMaterialId,
          })),
        ).toEqual(v.entries.map((e) => ({ keyMaterialId: undefined, ...e })));
      }
      if (v.rewrapOf) {
        const original = vectors.find(([f]) => f === `${v.rewrapOf}.json`)?.[1];
        expect(original, v.rewrapOf).toBeDefined();
        const was = Buffer.from((original as Vector).ciphertextBase64, "base64");
        const a = inspect(was);
        const b = inspect(bytes);
        expect(bytes.subarray(0, b.headerLength).equals(was.subarray(0, a.headerLength))).toBe(true);
        expect(bytes.subarray(b.bodyOffset).equals(was.subarray(a.bodyOffset))).toBe(true);
        expect(
          bytes.subarray(b.headerLength, b.bodyOffset).equals(was.subarray(a.headerLength, a.bodyOffset)),
        ).toBe(false);
      }
      // An allow-list miss never reaches KMS; a KMS vector that decrypts makes one call per API.
      if (v.keyring.type === "aws-kms") expect(calls.length).toBe(v.outcome === "no_matching_key" ? 0 : 2);
      if (v.outcome === "commitment") expect(await diagnose(v, bytes)).toMatchObject({ commitment: false });
      if (v.outcome === "header_auth")
        expect(await diagnose(v, bytes)).toEqual({ commitment: true, headerTag: false });
      if (["frame_auth", "truncated", "trailing", "signature"].includes(v.outcome)) {
        expect(await diagnose(v, bytes)).toEqual({ commitment: true, headerTag: true });
      }
      // A signed vector's signature holds exactly when its outcome is not "signature".
      const info = ["format", "limit"].includes(v.outcome) ? undefined : inspect(bytes);
      if (info?.signed) {
        const verifier = new MessageVerifier(info.prefix.header.signingKey as string);
        verifier.update(bytes.subarray(0, info.headerLength));
        verifier.update(bytes.subarray(info.bodyOffset, bytes.length - SIGNATURE_LENGTH));
        expect(verifier.finish(bytes.subarray(bytes.length - SIGNATURE_LENGTH))).toBe(
          v.outcome !== "signature",
        );
      }
    });
  }
});
