import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import {
  decrypt,
  decryptStream,
  encrypt,
  encryptChunks,
  encryptStream,
  inspect,
  InvalidArgumentError,
  RawAesKeyring,
  MultiKeyring,
  RekeyError,
} from "@rekey/core";
import { through } from "./helpers/streams.js";
import { CountingKeyring } from "./helpers/counting-keyring.js";

const keyring = new RawAesKeyring({ name: "roundtrip", key: randomBytes(32) });

describe("round trips", () => {
  it("buffer encrypt -> buffer decrypt over random sizes and frame lengths (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 1, max: 2048 }),
        async (pt, frameLength) => {
          const { ciphertext } = await encrypt(pt, { keyring, frameLength, encryptionContext: { k: "v" } });
          const { plaintext, header } = await decrypt(ciphertext, { keyring });
          expect(plaintext.equals(Buffer.from(pt))).toBe(true);
          expect(header.frameLength).toBe(frameLength);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("stream and buffer APIs produce interchangeable messages, whatever the chunking (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 6000 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 5 }),
        async (pt, frameLength, sizes) => {
          const streamed = await through(encryptStream({ keyring, frameLength }), pt, sizes);
          expect((await decrypt(streamed, { keyring })).plaintext.equals(Buffer.from(pt))).toBe(true);
          const { ciphertext } = await encrypt(pt, { keyring, frameLength });
          expect((await through(decryptStream({ keyring }), ciphertext, sizes)).equals(Buffer.from(pt))).toBe(
            true,
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it("encrypts an empty plaintext to one empty final frame", async () => {
    const { ciphertext } = await encrypt(new Uint8Array(0), { keyring });
    expect((await decrypt(ciphertext, { keyring })).plaintext.length).toBe(0);
    expect((await through(encryptStream({ keyring }), new Uint8Array(0))).length).toBeGreaterThan(0);
    expect((await through(decryptStream({ keyring }), ciphertext)).length).toBe(0);
  });

  it("a plaintext of whole frames: the buffer writer ends on a full final frame, the stream writer on an empty one; both readers read both", async () => {
    const F = 64;
    const pt = randomBytes(3 * F);
    const { ciphertext: buffered } = await encrypt(pt, { keyring, frameLength: F });
    const streamed = await through(encryptStream({ keyring, frameLength: F }), pt, [50]);
    const finalAt = (m: Buffer, regular: number) => inspect(m).bodyOffset + regular * (4 + F + 16);
    // Buffer writer: 2 regular frames, then the final frame 3 holding F bytes, and nothing after it.
    const b = finalAt(buffered, 2);
    expect([buffered.readUInt32BE(b), buffered.readUInt32BE(b + 4), buffered.readUInt32BE(b + 8)]).toEqual([
      0xffffffff,
      3,
      F,
    ]);
    expect(buffered.length).toBe(b + 12 + F + 16);
    // Stream writer: 3 regular frames, then an empty final frame 4.
    const s = finalAt(streamed, 3);
    expect([streamed.readUInt32BE(s), streamed.readUInt32BE(s + 4), streamed.readUInt32BE(s + 8)]).toEqual([
      0xffffffff, 4, 0,
    ]);
    expect(streamed.length).toBe(s + 12 + 16);
    for (const m of [buffered, streamed]) {
      expect((await decrypt(m, { keyring })).plaintext.equals(pt)).toBe(true);
      for (const size of [1, 7, 84, m.length])
        expect((await through(decryptStream({ keyring }), m, [size])).equals(pt)).toBe(true);
    }
  });

  it("uses a 1 MiB default frame and records it in the header", async () => {
    const { ciphertext } = await encrypt(randomBytes(10), { keyring });
    expect(inspect(ciphertext).frameLength).toBe(1024 * 1024);
  });

  it("makes a fresh message id and data key per message", async () => {
    const counting = new CountingKeyring(keyring);
    const a = await encrypt(Buffer.from("same"), { keyring: counting });
    const b = await encrypt(Buffer.from("same"), { keyring: counting });
    expect(a.messageId).not.toBe(b.messageId);
    expect(counting.dataKeys).toHaveLength(2);
    expect(counting.dataKeys[0]?.equals(counting.dataKeys[1] as Buffer)).toBe(false);
  });

  it("rejects bad frame lengths before any key is made", async () => {
    const counting = new CountingKeyring(keyring);
    for (const frameLength of [0, -1, 1.5, 2 ** 30]) {
      await expect(encrypt(Buffer.from("x"), { keyring: counting, frameLength })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    expect(counting.wraps).toBe(0);
  });

  it("multi-keyring: either recipient decrypts", async () => {
    const a = new RawAesKeyring({ name: "a", key: randomBytes(32) });
    const b = new RawAesKeyring({ name: "b", key: randomBytes(32) });
    const { ciphertext } = await encrypt(Buffer.from("both"), { keyring: new MultiKeyring([a, b]) });
    expect(inspect(ciphertext).entries.map((e) => e.keyName)).toEqual(["a", "b"]);
    expect((await decrypt(ciphertext, { keyring: b })).plaintext.toString()).toBe("both");
    expect((await decrypt(ciphertext, { keyring: a })).plaintext.toString()).toBe("both");
  });
});

describe("encryptChunks", () => {
  const keyring = new RawAesKeyring({ name: "chunks", key: randomBytes(32) });

  it("returns the message encrypt would, in pieces: joined, they decrypt (empty, one frame, several, a partial last)", async () => {
    for (const size of [0, 1, 4096, 4096 * 3, 4096 * 3 + 17]) {
      const plaintext = randomBytes(size);
      const { chunks, byteLength, messageId } = await encryptChunks(plaintext, {
        keyring,
        frameLength: 4096,
      });
      const joined = Buffer.concat(chunks);
      expect(joined.length).toBe(byteLength);
      expect(inspect(joined).messageId).toBe(messageId);
      expect((await decrypt(joined, { keyring })).plaintext.equals(plaintext)).toBe(true);
    }
  });

  it("hands out no view of the plaintext: changing the plaintext afterwards changes no chunk", async () => {
    const plaintext = randomBytes(10_000);
    const { chunks } = await encryptChunks(plaintext, { keyring, frameLength: 4096 });
    const before = Buffer.concat(chunks);
    plaintext.fill(0);
    expect(Buffer.concat(chunks).equals(before)).toBe(true);
  });

  it("a byte flipped in any chunk fails decryption", async () => {
    const { chunks } = await encryptChunks(randomBytes(9000), { keyring, frameLength: 4096 });
    for (let c = 0; c < chunks.length; c++) {
      const copy = chunks.map((x) => Buffer.from(x));
      const target = copy[c] as Buffer;
      if (target.length === 0) continue;
      target[target.length >> 1] = (target[target.length >> 1] as number) ^ 0x40;
      await expect(decrypt(Buffer.concat(copy), { keyring })).rejects.toBeInstanceOf(RekeyError);
    }
  });
});
