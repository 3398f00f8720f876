/** The emulator's ciphertext blob: real AES-GCM, bound to key, material and encryption context. */
import { randomBytes, randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalContext,
  openCiphertext,
  readCiphertextHeader,
  sealCiphertext,
} from "../src/emulator/kms/ciphertext.js";

const name = { keyId: randomUUID(), keyMaterialId: randomBytes(32).toString("hex") };
const secret = randomBytes(32);
const ctx = (pairs: Record<string, string>): Map<string, string> => new Map(Object.entries(pairs));
const context = ctx({ tenant: "t1", bucket: "b" });

describe("emulator ciphertext", () => {
  it("round-trips and names its key and material", () => {
    const plaintext = randomBytes(32);
    const blob = sealCiphertext(name, secret, plaintext, context);
    expect(readCiphertextHeader(blob)).toEqual(name);
    expect(openCiphertext(blob, secret, context)).toEqual(plaintext);
  });

  it("is not deterministic: the same input twice gives different blobs", () => {
    const plaintext = Buffer.from("same");
    expect(sealCiphertext(name, secret, plaintext, context)).not.toEqual(
      sealCiphertext(name, secret, plaintext, context),
    );
  });

  it("fails on any flipped byte (header, nonce, body or tag)", () => {
    const blob = sealCiphertext(name, secret, Buffer.from("secret data"), context);
    for (let i = 0; i < blob.length; i++) {
      const tampered = Buffer.from(blob);
      tampered[i]! ^= 0x80;
      expect(openCiphertext(tampered, secret, context), `byte ${i}`).toBeUndefined();
    }
  });

  it("fails with other material or another encryption context", () => {
    const blob = sealCiphertext(name, secret, Buffer.from("x"), context);
    expect(openCiphertext(blob, randomBytes(32), context)).toBeUndefined();
    expect(openCiphertext(blob, secret, new Map())).toBeUndefined();
    expect(openCiphertext(blob, secret, new Map([...context, ["extra", ""]]))).toBeUndefined();
    expect(openCiphertext(blob, secret, ctx({ tenant: "t2", bucket: "b" }))).toBeUndefined();
  });

  it("binds a __proto__ pair like any other (it is not dropped from the authenticated data)", () => {
    const proto = new Map([["__proto__", "x"]]);
    expect(canonicalContext(proto)).not.toEqual(canonicalContext(new Map()));
    const blob = sealCiphertext(name, secret, Buffer.from("x"), proto);
    expect(openCiphertext(blob, secret, new Map())).toBeUndefined();
    expect(openCiphertext(blob, secret, proto)).toEqual(Buffer.from("x"));
  });

  it("refuses a key or value longer than its u16 length field", () => {
    expect(() => canonicalContext(new Map([["k", "v".repeat(65_536)]]))).toThrow(RangeError);
    expect(canonicalContext(new Map([["k", "v".repeat(65_535)]])).length).toBe(2 + 2 + 1 + 2 + 65_535);
  });

  it("rejects bytes that are too short or of another layout version", () => {
    const blob = sealCiphertext(name, secret, Buffer.from("x"), context);
    expect(readCiphertextHeader(blob.subarray(0, 40))).toBeUndefined();
    expect(openCiphertext(blob.subarray(0, blob.length - 1), secret, context)).toBeUndefined();
    const other = Buffer.from(blob);
    other[0] = 0x02;
    expect(readCiphertextHeader(other)).toBeUndefined();
  });

  it("canonicalises the context: pair order never matters, a split between key and value does", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), (map) => {
        const entries = Object.entries(map);
        expect(canonicalContext(new Map(entries.reverse()))).toEqual(canonicalContext(new Map(entries)));
      }),
    );
    expect(canonicalContext(ctx({ ab: "c" }))).not.toEqual(canonicalContext(ctx({ a: "bc" })));
    expect(canonicalContext(new Map())).toHaveLength(0);
  });

  it("round-trips any plaintext and context (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }),
        fc.dictionary(fc.string(), fc.string()),
        (plaintext, map) => {
          const blob = sealCiphertext(name, secret, Buffer.from(plaintext), ctx(map));
          expect(openCiphertext(blob, secret, ctx(map))).toEqual(Buffer.from(plaintext));
        },
      ),
      { numRuns: 50 },
    );
  });
});
