/**
 * Regression tests for hostile-input and lifecycle defects: tiny chunks must not make work or
 * memory grow past the frame size; text must encode one way; cancellation and listener failures
 * must surface as errors; keys must be zeroed where the code says so.
 */
import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import { hkdfSync, randomBytes } from "node:crypto";
import { Readable, type Duplex } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CachingKeyring,
  decrypt,
  decryptStream,
  encrypt,
  encryptStream,
  EncryptionContextError,
  inspect,
  inspectStream,
  InvalidArgumentError,
  KmsError,
  KmsKeyring,
  LimitError,
  MultiKeyring,
  RawAesKeyring,
  type Keyring,
  type UnwrapRequest,
  type WrapRequest,
  type WrappedKeyEntry,
} from "@rekey/core";
import { FrameBuffer } from "../src/api/frame-buffer.js";
import { deriveKeys } from "../src/crypto/derive.js";
import { FrameOpener, openFrame, sealFrame } from "../src/crypto/frame-cipher.js";
import { frameAad, frameIv } from "../src/format/frame.js";
import * as messageModule from "../src/format/message.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { CountingKeyring } from "./helpers/counting-keyring.js";

const keyring = new RawAesKeyring({ name: "hardening", key: randomBytes(32) });

function bytesOf(data: Uint8Array, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(Buffer.from(data.subarray(i, i + size)));
  return out;
}

async function run(stream: Duplex, chunks: Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), stream, async function (src: AsyncIterable<Buffer>) {
    for await (const c of src) out.push(c);
  });
  return out;
}

vi.mock("../src/format/message.js", { spy: true });

describe("tiny chunks", () => {
  it("FrameBuffer keeps at most a few pieces per frame whatever the chunk size", () => {
    const fb = new FrameBuffer();
    for (let i = 0; i < 300_000; i++) fb.add(Buffer.of(i & 0xff));
    const pieces = fb.take(262_144);
    expect(pieces.length).toBeLessThanOrEqual(5);
    expect(
      Buffer.concat(pieces).equals(Buffer.from(Array.from({ length: 262_144 }, (_, i) => i & 0xff))),
    ).toBe(true);
    expect(fb.length).toBe(300_000 - 262_144);
  });

  it("decryptStream fed 3-byte chunks holds few output pieces per frame (memory bounded by the frame)", async () => {
    const pt = randomBytes(1024 * 1024);
    const { ciphertext } = await encrypt(pt, { keyring });
    const out = await run(decryptStream({ keyring }), bytesOf(ciphertext, 3));
    expect(Buffer.concat(out).equals(pt)).toBe(true);
    // One output buffer per 64 KiB staged, not one per 3-byte input chunk (~350,000).
    expect(out.length).toBeLessThanOrEqual(32);
  });

  it("encryptStream fed 1-byte chunks produces the same plaintext back", async () => {
    const pt = randomBytes(100_000);
    const out = await run(encryptStream({ keyring, frameLength: 65536 }), bytesOf(pt, 1));
    expect((await decrypt(Buffer.concat(out), { keyring })).plaintext.equals(pt)).toBe(true);
  });

  it("the prefix is parsed a handful of times, not once per chunk, in decryptStream and inspectStream", async () => {
    const ctx: Record<string, string> = {};
    for (let i = 0; i < 40; i++) ctx[`key-${i}`] = "v".repeat(150);
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring, encryptionContext: ctx });
    const prefixLength = inspect(ciphertext).bodyOffset;
    expect(prefixLength).toBeGreaterThan(6000);
    const parse = vi.mocked(messageModule.parseMessagePrefix);
    parse.mockClear();
    await run(decryptStream({ keyring }), bytesOf(ciphertext, 1));
    // The spy must see the stream's own calls, or this test proves nothing.
    expect(parse.mock.calls.length).toBeGreaterThan(0);
    expect(parse.mock.calls.length).toBeLessThanOrEqual(5);
    parse.mockClear();
    const info = await inspectStream(Readable.from(bytesOf(ciphertext, 1)));
    expect(info.bodyOffset).toBe(prefixLength);
    expect(parse.mock.calls.length).toBeGreaterThan(0);
    expect(parse.mock.calls.length).toBeLessThanOrEqual(5);
  });
});

describe("encryption context text", () => {
  it("keeps a leading U+FEFF (BOM) as content: round trip and required context hold", async () => {
    const encryptionContext = { tenant: "\uFEFFacme", "\uFEFFk": "v", k: "w" };
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring, encryptionContext });
    expect(inspect(ciphertext).encryptionContext).toEqual(encryptionContext);
    expect(
      (
        await decrypt(ciphertext, { keyring, requiredEncryptionContext: { tenant: "\uFEFFacme" } })
      ).plaintext.toString(),
    ).toBe("x");
    await expect(
      decrypt(ciphertext, { keyring, requiredEncryptionContext: { tenant: "acme" } }),
    ).rejects.toBeInstanceOf(EncryptionContextError);
  });

  it("refuses unpaired surrogates before any keyring call", async () => {
    const counting = new CountingKeyring(keyring);
    for (const encryptionContext of [{ "\uD800": "a" }, { a: "\uDC00x" }, { "\uD800": "a", "\uD801": "b" }]) {
      await expect(
        encrypt(Buffer.from("x"), { keyring: counting, encryptionContext }),
      ).rejects.toBeInstanceOf(EncryptionContextError);
    }
    expect(counting.wraps).toBe(0);
    const ok = await encrypt(Buffer.from("x"), { keyring, encryptionContext: { "emoji-😀": "𝄞" } });
    expect(inspect(ok.ciphertext).encryptionContext).toEqual({ "emoji-😀": "𝄞" });
  });
});

describe("lifecycle", () => {
  it("an aborted KMS decrypt is a KmsError, not a raw AbortError", async () => {
    const kms = new FakeKms();
    const arn = kms.addKey().arn;
    const k = new KmsKeyring({ client: kms, keyId: arn });
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring: k });
    const controller = new AbortController();
    kms.decrypt = async () => {
      controller.abort();
      throw Object.assign(new Error("aborted"), { name: "AbortError" });
    };
    await expect(decrypt(ciphertext, { keyring: k, signal: controller.signal })).rejects.toBeInstanceOf(
      KmsError,
    );
  });

  it("a throwing 'header' listener errors the stream instead of leaving it pending", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    const d = decryptStream({ keyring });
    d.on("header", () => {
      throw new Error("listener failed");
    });
    await expect(run(d, [ciphertext])).rejects.toThrow("listener failed");
  });

  it("a data key made by GenerateDataKey is zeroed when a DR key's Encrypt fails", async () => {
    const kms = new FakeKms();
    const arn = kms.addKey().arn;
    const dr = kms.addKey().arn;
    const made: Uint8Array[] = [];
    const generate = kms.generateDataKey.bind(kms);
    kms.generateDataKey = async (input) => {
      const r = await generate(input);
      made.push(r.Plaintext as Uint8Array);
      return r;
    };
    kms.disable(dr);
    await expect(
      encrypt(Buffer.from("x"), {
        keyring: new KmsKeyring({ client: kms, keyId: arn, additionalKeyIds: [dr] }),
      }),
    ).rejects.toBeInstanceOf(KmsError);
    expect(made).toHaveLength(1);
    expect(made[0]?.every((b) => b === 0)).toBe(true);
  });

  it("caching keyring: one caller aborting does not fail the others waiting on the same miss", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let innerCalls = 0;
    const slow: Keyring = {
      wrap: (r: WrapRequest) => keyring.wrap(r),
      unwrap: async (entries: readonly WrappedKeyEntry[], r: UnwrapRequest) => {
        innerCalls++;
        await gate;
        return keyring.unwrap(entries, r);
      },
    };
    const cache = new CachingKeyring({ keyring: slow, maxAgeMs: 60_000 });
    const { ciphertext } = await encrypt(Buffer.from("shared"), { keyring });
    const controller = new AbortController();
    const a = decrypt(ciphertext, { keyring: cache, signal: controller.signal });
    const b = decrypt(ciphertext, { keyring: cache });
    const reason = new Error("caller went away");
    controller.abort(reason);
    release();
    // The aborted caller gets its own signal's reason, not a decrypt failure.
    await expect(a).rejects.toBe(reason);
    expect((await b).plaintext.toString()).toBe("shared");
    expect(innerCalls).toBe(1);
  });

  it("caching keyring zeroes the inner keyring's unwrapped key once it is copied", async () => {
    const returned: Uint8Array[] = [];
    const spy: Keyring = {
      wrap: (r: WrapRequest) => keyring.wrap(r),
      unwrap: async (entries: readonly WrappedKeyEntry[], r: UnwrapRequest) => {
        const k = await keyring.unwrap(entries, r);
        if (k) returned.push(k);
        return k;
      },
    };
    const cache = new CachingKeyring({ keyring: spy, maxAgeMs: 60_000 });
    const { ciphertext } = await encrypt(Buffer.from("z"), { keyring });
    expect((await decrypt(ciphertext, { keyring: cache })).plaintext.toString()).toBe("z");
    expect(returned).toHaveLength(1);
    expect(returned[0]?.every((b) => b === 0)).toBe(true);
  });

  it("a keyring that hands out a data key of the wrong length gets a typed error, and the key is zeroed", async () => {
    const handed: Uint8Array[] = [];
    const short: Keyring = {
      wrap: async (r: WrapRequest) => {
        const w = await keyring.wrap(r);
        const k = Buffer.from(w.dataKey.subarray(0, 16));
        handed.push(k);
        return { ...w, dataKey: k };
      },
      unwrap: async (entries: readonly WrappedKeyEntry[], r: UnwrapRequest) => {
        const k = Buffer.from(((await keyring.unwrap(entries, r)) as Uint8Array).subarray(0, 16));
        handed.push(k);
        return k;
      },
    };
    await expect(encrypt(Buffer.from("x"), { keyring: short })).rejects.toBeInstanceOf(InvalidArgumentError);
    const { ciphertext } = await encrypt(Buffer.from("x"), { keyring });
    await expect(decrypt(ciphertext, { keyring: short })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(handed).toHaveLength(2);
    for (const k of handed) expect(k.every((b) => b === 0)).toBe(true);
  });

  it("multi-keyring: a data key it made is zeroed when a later keyring fails to wrap", async () => {
    const made: Uint8Array[] = [];
    const first: Keyring = {
      wrap: async (r: WrapRequest) => {
        const w = await keyring.wrap(r);
        made.push(w.dataKey);
        return w;
      },
      unwrap: (entries: readonly WrappedKeyEntry[], r: UnwrapRequest) => keyring.unwrap(entries, r),
    };
    const failing: Keyring = {
      wrap: () => Promise.reject(new KmsError("Encrypt", new Error("down"))),
      unwrap: async () => undefined,
    };
    await expect(
      encrypt(Buffer.from("x"), { keyring: new MultiKeyring([first, failing]) }),
    ).rejects.toBeInstanceOf(KmsError);
    expect(made).toHaveLength(1);
    expect(made[0]?.every((b) => b === 0)).toBe(true);
  });
});

describe("limits", () => {
  it("maxFrames stops both APIs at the frame past the limit, with a typed error", async () => {
    const { ciphertext } = await encrypt(randomBytes(10 * 16 + 1), { keyring, frameLength: 16 });
    // 10 regular frames and a final one of 1 byte: 11 frames.
    for (const maxFrames of [10, 1]) {
      const options = { keyring, limits: { maxFrames } };
      await expect(decrypt(ciphertext, options)).rejects.toBeInstanceOf(LimitError);
      await expect(run(decryptStream(options), bytesOf(ciphertext, 13))).rejects.toBeInstanceOf(LimitError);
    }
    const ok = { keyring, limits: { maxFrames: 11 } };
    expect((await decrypt(ciphertext, ok)).plaintext.length).toBe(161);
    expect(Buffer.concat(await run(decryptStream(ok), bytesOf(ciphertext, 13))).length).toBe(161);
  });
});

describe("key derivation", () => {
  it("equals two RFC 5869 HKDF-SHA512 calls (node's hkdfSync) for any key and message id (property)", () => {
    const info = (label: string) => Buffer.concat([Buffer.from(label), Buffer.of(0, 1)]);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (k, m) => {
          const { contentKey, commitment } = deriveKeys(k, m);
          expect(
            contentKey.equals(Buffer.from(hkdfSync("sha512", k, m, info("RKEY v1 content key"), 32))),
          ).toBe(true);
          expect(
            commitment.equals(Buffer.from(hkdfSync("sha512", k, m, info("RKEY v1 key commitment"), 32))),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("frame opening", () => {
  it("frame nonces and AAD are exactly their bytes, whatever the pooled memory they are carved from held", () => {
    const id = randomBytes(32);
    for (let i = 0; i < 2000; i++) {
      // Dirty the pool around them: every pooled allocation is a slice of the same slabs.
      Buffer.allocUnsafe(40).fill(0xff);
      const seq = (i * 2654435761) >>> 0;
      const iv = Buffer.from(frameIv(seq));
      expect(iv.subarray(0, 8).equals(Buffer.alloc(8))).toBe(true);
      expect(iv.readUInt32BE(8)).toBe(seq);
      const aad = Buffer.from(frameAad(id, seq, i % 2 === 0, i));
      expect(aad.length).toBe(41);
      expect(aad.subarray(0, 32).equals(id)).toBe(true);
      expect([aad.readUInt32BE(32), aad[36], aad.readUInt32BE(37)]).toEqual([seq, i % 2 === 0 ? 1 : 0, i]);
    }
  });

  it("openFrame and FrameOpener agree: the plaintext under the right tag, nothing under a wrong one or another AAD", () => {
    const key = randomBytes(32);
    const id = randomBytes(32);
    const plain = randomBytes(100);
    const [ct, tag] = sealFrame(key, id, 3, true, [plain], plain.length) as [Buffer, Buffer];
    expect(openFrame(key, id, 3, true, ct, tag)?.equals(plain)).toBe(true);
    const opener = new FrameOpener(key, id, 3, true, plain.length);
    opener.update(ct);
    expect(Buffer.concat(opener.finish(tag) ?? []).equals(plain)).toBe(true);
    const badTag = Buffer.from(tag);
    badTag[0] = (badTag[0] as number) ^ 1;
    expect(openFrame(key, id, 3, true, ct, badTag)).toBeUndefined();
    // The AAD binds the sequence number, the final flag and the message id.
    expect(openFrame(key, id, 4, true, ct, tag)).toBeUndefined();
    expect(openFrame(key, id, 3, false, ct, tag)).toBeUndefined();
    expect(openFrame(key, randomBytes(32), 3, true, ct, tag)).toBeUndefined();
    expect(openFrame(randomBytes(32), id, 3, true, ct, tag)).toBeUndefined();
  });
});
