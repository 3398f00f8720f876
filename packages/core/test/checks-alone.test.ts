/**
 * Each of the two header checks proven on its own, with a message only that check catches.
 *
 * Key commitment: GCM is not key-committing — one ciphertext and tag can be valid under two keys.
 * A dishonest sender exploits that: it picks two data keys K1 and K2, solves for header bytes
 * (free bits in an encryption-context value) whose header tag is the same under both content keys,
 * and for a frame ciphertext whose tag is the same under both; it wraps K1 for one recipient and
 * K2 for another. Header tag and frame then verify under either key, and each recipient would
 * read a different plaintext: only the key commitment (a function of K1 in the header) stops the
 * second recipient. The equations are GF(2)-linear in the free bits (GHASH is linear in its input
 * for a fixed key, the lengths are fixed), so they are solved by Gaussian elimination over tags
 * computed with node:crypto — no GHASH code here.
 *
 * Header tag: a context value changed in an honest message leaves the commitment (a function of
 * the data key and message id only) and every frame tag (frames do not authenticate the context)
 * valid: only the header tag catches it.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { decrypt, decryptStream, DecryptError, encrypt, inspect, RawAesKeyring } from "@rekey/core";
import { DEFAULT_LIMITS } from "../src/format/constants.js";
import { serializeEncryptionContext } from "../src/format/encryption-context.js";
import { serializeEntries } from "../src/format/entries.js";
import { finalFrameHeader } from "../src/format/frame.js";
import { serializeHeaderBody } from "../src/format/header.js";
import { commitmentMatches, deriveKeys } from "../src/crypto/derive.js";
import { computeHeaderTag, verifyHeaderTag } from "../src/crypto/header-tag.js";
import { FrameOpener, sealFrame } from "../src/crypto/frame-cipher.js";
import { through } from "./helpers/streams.js";

/** The index of the highest set bit of a non-zero bigint. */
const topBit = (v: bigint): number => v.toString(2).length - 1;

/**
 * Solves `f(x) = 0` for an affine `f` from n free bits to 128-bit values: returns the set bits of
 * one solution as a mask, or `undefined` when the columns do not span the target.
 */
function solveAffine(n: number, f: (bits: bigint) => bigint): bigint | undefined {
  const target = f(0n);
  const basis = new Map<number, { vec: bigint; combo: bigint }>();
  for (let i = 0; i < n; i++) {
    let vec = f(1n << BigInt(i)) ^ target;
    let combo = 1n << BigInt(i);
    while (vec !== 0n) {
      const pivot = basis.get(topBit(vec));
      if (!pivot) {
        basis.set(topBit(vec), { vec, combo });
        break;
      }
      vec ^= pivot.vec;
      combo ^= pivot.combo;
    }
  }
  let vec = target;
  let combo = 0n;
  while (vec !== 0n) {
    const pivot = basis.get(topBit(vec));
    if (!pivot) return undefined;
    vec ^= pivot.vec;
    combo ^= pivot.combo;
  }
  return combo;
}

const big = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);

const FREE_CHARS = 24; // 24 ASCII characters: 168 free bits for 128 equations
const FRAME_BYTES = 24; // a 24-byte final frame: 192 free bits

/** A message whose header tag and only frame verify under the content keys of both k1 and k2. */
async function collidingMessage(k1: Buffer, k2: Buffer, alice: RawAesKeyring, bob: RawAesKeyring) {
  const messageId = randomBytes(32);
  const d1 = deriveKeys(k1, messageId);
  const d2 = deriveKeys(k2, messageId);

  // Header: the value of "x" is 24 ASCII characters whose low 7 bits are free.
  const contextWith = (chars: Buffer) => ({ tenant: "acme", x: chars.toString("latin1") });
  const headerWith = (chars: Buffer) =>
    serializeHeaderBody(
      {
        messageId,
        frameLength: 4096,
        context: serializeEncryptionContext(contextWith(chars), DEFAULT_LIMITS.maxContextBytes),
        // The commitment is K1's: the message "belongs" to K1.
        commitment: d1.commitment,
      },
      DEFAULT_LIMITS,
    );
  const charsOf = (bits: bigint): Buffer => {
    const out = Buffer.alloc(FREE_CHARS);
    for (let i = 0; i < FREE_CHARS * 7; i++)
      if ((bits >> BigInt(i)) & 1n) out[Math.floor(i / 7)]! |= 1 << (i % 7);
    return out;
  };
  const headerBits = solveAffine(FREE_CHARS * 7, (bits) => {
    const header = headerWith(charsOf(bits));
    return big(computeHeaderTag(d1.contentKey, header)) ^ big(computeHeaderTag(d2.contentKey, header));
  });
  expect(headerBits).toBeDefined();
  const chars = charsOf(headerBits as bigint);
  const header = headerWith(chars);
  const headerTag = computeHeaderTag(d1.contentKey, header);
  expect(computeHeaderTag(d2.contentKey, header).equals(headerTag)).toBe(true);

  // Frame: a final frame of 24 ciphertext bytes (all free) with one tag under both keys.
  const keystream = (key: Buffer) =>
    Buffer.concat(sealFrame(key, messageId, 1, true, [Buffer.alloc(FRAME_BYTES)], FRAME_BYTES)).subarray(
      0,
      FRAME_BYTES,
    );
  const ks1 = keystream(d1.contentKey);
  const ks2 = keystream(d2.contentKey);
  /** The tag of ciphertext `c` under `key`: seal the plaintext that encrypts to `c`. */
  const tagOf = (key: Buffer, ks: Buffer, c: Buffer): Buffer => {
    const plain = Buffer.from(c.map((b, i) => b ^ (ks[i] as number)));
    const sealed = Buffer.concat(sealFrame(key, messageId, 1, true, [plain], FRAME_BYTES));
    expect(sealed.subarray(0, FRAME_BYTES).equals(c)).toBe(true);
    return sealed.subarray(FRAME_BYTES);
  };
  const bytesOf = (bits: bigint): Buffer => {
    const hex = bits.toString(16).padStart(FRAME_BYTES * 2, "0");
    return Buffer.from(hex, "hex");
  };
  const frameBits = solveAffine(FRAME_BYTES * 8, (bits) => {
    const c = bytesOf(bits);
    return big(tagOf(d1.contentKey, ks1, c)) ^ big(tagOf(d2.contentKey, ks2, c));
  });
  expect(frameBits).toBeDefined();
  const ciphertext = bytesOf(frameBits as bigint);
  const frameTag = tagOf(d1.contentKey, ks1, ciphertext);
  expect(tagOf(d2.contentKey, ks2, ciphertext).equals(frameTag)).toBe(true);

  // Entries: K1 wrapped for alice, K2 for bob, under the message's context.
  const encryptionContext = contextWith(chars);
  const entries = [
    ...(await alice.wrap({ encryptionContext, dataKey: k1 })).entries,
    ...(await bob.wrap({ encryptionContext, dataKey: k2 })).entries,
  ];
  const message = Buffer.concat([
    header,
    headerTag,
    serializeEntries(entries, DEFAULT_LIMITS),
    finalFrameHeader(1, FRAME_BYTES),
    ciphertext,
    frameTag,
  ]);
  const plaintextUnder = (ks: Buffer) => Buffer.from(ciphertext.map((b, i) => b ^ (ks[i] as number)));
  return {
    message,
    messageId,
    d1,
    d2,
    header,
    headerTag,
    ciphertext,
    frameTag,
    p1: plaintextUnder(ks1),
    p2: plaintextUnder(ks2),
  };
}

describe("the key commitment alone", () => {
  it("stops a message whose header tag and frame verify under a second data key (GCM key-commitment attack)", async () => {
    const alice = new RawAesKeyring({ name: "alice", key: randomBytes(32) });
    const bob = new RawAesKeyring({ name: "bob", key: randomBytes(32) });
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const m = await collidingMessage(k1, k2, alice, bob);

    // The message is well formed and Alice, whose key it commits to, reads p1.
    const info = inspect(m.message);
    expect(info.entries.map((e) => e.keyName)).toEqual(["alice", "bob"]);
    expect((await decrypt(m.message, { keyring: alice })).plaintext.equals(m.p1)).toBe(true);

    // Under Bob's key K2 every check but the commitment passes, and would release p2 ≠ p1.
    expect(m.p2.equals(m.p1)).toBe(false);
    expect(verifyHeaderTag(m.d2.contentKey, m.header, m.headerTag)).toBe(true);
    const opener = new FrameOpener(m.d2.contentKey, m.messageId, 1, true, m.ciphertext.length);
    opener.update(m.ciphertext);
    expect(Buffer.concat(opener.finish(m.frameTag) ?? []).equals(m.p2)).toBe(true);
    expect(commitmentMatches(m.d2.commitment, info.prefix.header.commitment)).toBe(false);

    // So Bob's decrypt fails only because of the commitment, in both APIs.
    await expect(decrypt(m.message, { keyring: bob })).rejects.toBeInstanceOf(DecryptError);
    await expect(through(decryptStream({ keyring: bob }), m.message)).rejects.toBeInstanceOf(DecryptError);
  });
});

describe("the header tag alone", () => {
  it("stops a changed encryption context: the commitment and every frame tag still verify", async () => {
    const keyring = new RawAesKeyring({ name: "tag", key: randomBytes(32) });
    const dataKeys: Uint8Array[] = [];
    const recording = {
      wrap: async (r: Parameters<RawAesKeyring["wrap"]>[0]) => {
        const w = await keyring.wrap(r);
        dataKeys.push(Buffer.from(w.dataKey));
        return w;
      },
      unwrap: keyring.unwrap.bind(keyring),
    };
    const plaintext = randomBytes(3000);
    const { ciphertext } = await encrypt(plaintext, {
      keyring: recording,
      encryptionContext: { tenant: "acme" },
      frameLength: 1024,
    });
    // "acme" -> "acmf": same length, still canonical, a different tenant.
    const at = ciphertext.indexOf(Buffer.from("acme"));
    const tampered = Buffer.from(ciphertext);
    tampered[at + 3] = "f".charCodeAt(0);
    const info = inspect(tampered);
    expect(info.encryptionContext).toEqual({ tenant: "acmf" });

    // Commitment and frames are untouched by the change; only the header tag sees it.
    const { contentKey, commitment } = deriveKeys(dataKeys[0] as Uint8Array, info.prefix.header.messageId);
    expect(commitmentMatches(commitment, info.prefix.header.commitment)).toBe(true);
    expect(
      verifyHeaderTag(contentKey, info.prefix.header.authenticatedBytes, info.prefix.header.headerTag),
    ).toBe(false);
    // The raw-AES entry binds the context too: give the reader an entry for the forged context,
    // as anyone holding the data key could, so the header tag is the only check left.
    const forgedEntry = (
      await keyring.wrap({ encryptionContext: { tenant: "acmf" }, dataKey: dataKeys[0] as Uint8Array })
    ).entries;
    const forged = Buffer.concat([
      tampered.subarray(0, info.headerLength),
      serializeEntries(forgedEntry, DEFAULT_LIMITS),
      tampered.subarray(info.bodyOffset),
    ]);
    await expect(decrypt(forged, { keyring })).rejects.toBeInstanceOf(DecryptError);
    await expect(through(decryptStream({ keyring }), forged)).rejects.toBeInstanceOf(DecryptError);
    // The honest message still opens, so the failure is the tampering's.
    expect((await decrypt(ciphertext, { keyring })).plaintext.equals(plaintext)).toBe(true);
  });
});
