/**
 * Runs the frozen version-1 vectors. Each names its outcome; for the decrypt failures (which share
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
  parseMessagePrefix,
  RawAesKeyring,
  RekeyError,
  type RekeyErrorCode,
} from "@rekey/core";
import { commitmentMatches, deriveKeys } from "../src/crypto/derive.js";
import { verifyHeaderTag } from "../src/crypto/header-tag.js";
import { through } from "./helpers/streams.js";

interface Vector {
  description: string;
  outcome: string;
  keyring: { type: "raw-aes"; name: string; keyHex: string };
  requiredEncryptionContext?: Record<string, string>;
  ciphertextBase64: string;
  plaintextHex?: string;
}

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
};

/** Which of commitment / header tag hold for this vector (only for parseable messages). */
async function diagnose(v: Vector, bytes: Buffer): Promise<{ commitment: boolean; headerTag: boolean }> {
  const p = parseMessagePrefix(bytes);
  if (p.status !== "ok") throw new Error("diagnosis needs a parseable prefix");
  const keyring = new RawAesKeyring({ name: v.keyring.name, key: Buffer.from(v.keyring.keyHex, "hex") });
  const dataKey = await keyring.unwrap(p.value.entries, {
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
      const keyring = new RawAesKeyring({ name: v.keyring.name, key: Buffer.from(v.keyring.keyHex, "hex") });
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
      if (v.outcome === "commitment") expect(await diagnose(v, bytes)).toMatchObject({ commitment: false });
      if (v.outcome === "header_auth")
        expect(await diagnose(v, bytes)).toEqual({ commitment: true, headerTag: false });
      if (["frame_auth", "truncated", "trailing"].includes(v.outcome)) {
        expect(await diagnose(v, bytes)).toEqual({ commitment: true, headerTag: true });
      }
    });
  }
});
