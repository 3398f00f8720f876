/**
 * Adversarial tests: every byte of a message flipped (two different bits), truncation at every
 * byte, entries swapped between messages, wrong encryption context. The rule: never plaintext
 * from a modified message, always a typed error.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  decrypt,
  decryptStream,
  DecryptError,
  encrypt,
  EncryptionContextError,
  encryptStream,
  inspect,
  KmsKeyring,
  MultiKeyring,
  NoMatchingKeyError,
  parseMessagePrefix,
  RawAesKeyring,
  RekeyError,
  serializePrefixWithEntries,
  type MessagePrefix,
} from "@rekey/core";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { through } from "./helpers/streams.js";

const keyring = new RawAesKeyring({ name: "tamper", key: randomBytes(32) });
const FRAME = 64;
const plaintext = randomBytes(FRAME * 3 + 17);

function prefixOf(bytes: Uint8Array): MessagePrefix {
  const p = parseMessagePrefix(bytes);
  if (p.status !== "ok") throw new Error("test message must parse");
  return p.value;
}

/** Names the region a byte offset falls in, for readable failures. */
function regionAt(offset: number, p: MessagePrefix): string {
  const h = p.header;
  const ctxEnd = 49 + (h.headerLength - 97);
  if (offset < 4) return "magic";
  if (offset < 5) return "version";
  if (offset < 7) return "suite";
  if (offset < 11) return "header length";
  if (offset < 43) return "message id";
  if (offset < 47) return "frame length";
  if (offset < ctxEnd) return "encryption context";
  if (offset < ctxEnd + 32) return "commitment";
  if (offset < h.headerLength) return "header tag";
  if (offset < p.bodyOffset) return "wrapped-key section";
  return "body";
}

async function decryptBoth(
  bytes: Uint8Array,
  options: Parameters<typeof decrypt>[1],
  original: Buffer = plaintext,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  // Success is only ever acceptable with the exact original plaintext.
  const same = (out: Buffer): unknown => (out.equals(original) ? undefined : new Error("other plaintext"));
  await decrypt(bytes, options).then(
    (r) => errors.push(same(r.plaintext)),
    (e: unknown) => errors.push(e),
  );
  await through(decryptStream(options), bytes, [37]).then(
    (out) => errors.push(same(out)),
    (e: unknown) => errors.push(e),
  );
  return errors;
}

describe("tampering", () => {
  it("rejects a flipped bit in every byte of the message, in both APIs, with a typed error", async () => {
    const { ciphertext } = await encrypt(plaintext, {
      keyring,
      frameLength: FRAME,
      encryptionContext: { tenant: "a", use: "t" },
    });
    const p = prefixOf(ciphertext);
    const seen = new Set<string>();
    for (let i = 0; i < ciphertext.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const m = Buffer.from(ciphertext);
        m[i] = (m[i] ?? 0) ^ bit;
        const region = regionAt(i, p);
        seen.add(region);
        for (const e of await decryptBoth(m, { keyring })) {
          expect(e, `byte ${i} (${region}) bit ${bit} decrypted`).toBeInstanceOf(RekeyError);
          // Once the header parses, a change in what the keys or tags cover is a decrypt failure.
          if (
            region === "commitment" ||
            region === "header tag" ||
            region === "message id" ||
            region === "body"
          ) {
            expect(e, `byte ${i} (${region})`).toBeInstanceOf(DecryptError);
          }
        }
      }
    }
    expect([...seen]).toEqual([
      "magic",
      "version",
      "suite",
      "header length",
      "message id",
      "frame length",
      "encryption context",
      "commitment",
      "header tag",
      "wrapped-key section",
      "body",
    ]);
  });

  it("a flipped bit in any entry of a multi-entry section (aws-kms x2, raw-aes) gives a typed error or the original plaintext, never other bytes", async () => {
    const kms = new FakeKms();
    kms.addKey({ alias: "alias/primary" });
    const dr = kms.addKey().arn;
    const multi = new MultiKeyring([
      new KmsKeyring({ client: kms, keyId: "alias/primary", additionalKeyIds: [dr] }),
      keyring,
    ]);
    const context = { tenant: "a" };
    const { ciphertext } = await encrypt(plaintext, {
      keyring: multi,
      frameLength: FRAME,
      encryptionContext: context,
    });
    const p = prefixOf(ciphertext);
    expect(inspect(ciphertext).entries.map((e) => e.type)).toEqual(["aws-kms", "aws-kms", "raw-aes"]);
    // Each reader opens a different entry: the primary's, the DR key's, the raw key's.
    const readers = [
      new KmsKeyring({ client: kms, keyId: "alias/primary" }),
      new KmsKeyring({ client: kms, allowedKeyArns: [dr] }),
      keyring,
    ];
    for (const reader of readers)
      expect((await decrypt(ciphertext, { keyring: reader })).plaintext.equals(plaintext)).toBe(true);
    let errors = 0;
    let intact = 0;
    for (let i = p.header.headerLength; i < p.bodyOffset; i++) {
      const m = Buffer.from(ciphertext);
      m[i] = (m[i] ?? 0) ^ 0x01;
      for (const reader of readers) {
        for (const r of await decryptBoth(m, { keyring: reader })) {
          if (r === undefined) intact++;
          else {
            expect(r, `section byte ${i - p.header.headerLength}`).toBeInstanceOf(RekeyError);
            errors++;
          }
        }
      }
    }
    // Both outcomes occur: advisory fields (requested key id, material id) and entries a reader
    // does not use may change without effect; a changed blob or structure fails.
    expect(errors).toBeGreaterThan(0);
    expect(intact).toBeGreaterThan(0);
  });

  it("a stream releases exactly the frames before a tampered one, never any of its bytes", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const p = prefixOf(ciphertext);
    const frame = 4 + FRAME + 16;
    // Small chunks (ciphertext staged before the cipher) and one chunk (fed to it directly).
    for (const size of [7, ciphertext.length]) {
      for (let i = p.bodyOffset; i < ciphertext.length; i++) {
        const m = Buffer.from(ciphertext);
        m[i] = (m[i] ?? 0) ^ 0x04;
        const k = Math.floor((i - p.bodyOffset) / frame); // 0-based index of the tampered frame
        const released: Buffer[] = [];
        const s = decryptStream({ keyring });
        s.on("data", (c: Buffer) => released.push(c));
        const failed = await new Promise<unknown>((resolve) => {
          s.on("error", resolve);
          s.on("end", () => resolve(undefined));
          for (let at = 0; at < m.length; at += size) s.write(m.subarray(at, at + size));
          s.end();
        });
        expect(failed, `byte ${i}, chunks of ${size}`).toBeInstanceOf(RekeyError);
        expect(
          Buffer.concat(released).equals(plaintext.subarray(0, k * FRAME)),
          `byte ${i} (frame ${k + 1}), chunks of ${size}`,
        ).toBe(true);
      }
    }
  });

  it("rejects truncation at every byte (and so at every frame boundary), in both APIs", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: FRAME });
    for (let n = 0; n < ciphertext.length; n++) {
      for (const e of await decryptBoth(ciphertext.subarray(0, n), { keyring })) {
        expect(e, `truncated to ${n}`).toBeInstanceOf(RekeyError);
      }
    }
  });

  it("rejects truncation at every byte of a plaintext of whole frames, as either writer ends it", async () => {
    // The buffer writer ends it on a full final frame, the stream writer on an empty one after the
    // regular frames: a message cut after a full regular frame must not read as complete.
    const whole = plaintext.subarray(0, 3 * FRAME);
    const buffered = (await encrypt(whole, { keyring, frameLength: FRAME })).ciphertext;
    const streamed = await through(encryptStream({ keyring, frameLength: FRAME }), whole);
    // One frame more in the streamed message: a regular frame's header (4 bytes) and a tag (16).
    expect(streamed.length).toBe(buffered.length + 4 + 16);
    for (const [name, m] of [
      ["buffer", buffered],
      ["stream", streamed],
    ] as const) {
      for (const e of await decryptBoth(m, { keyring }, whole)) expect(e, `${name}, whole`).toBeUndefined();
      for (let n = 0; n < m.length; n++) {
        for (const e of await decryptBoth(m.subarray(0, n), { keyring }, whole)) {
          expect(e, `${name}, truncated to ${n}`).toBeInstanceOf(RekeyError);
        }
      }
    }
  });

  it("rejects the final frame dropped at a frame boundary as a decrypt failure", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const p = prefixOf(ciphertext);
    const frame = 4 + FRAME + 16;
    for (let k = 0; k <= 3; k++) {
      const cut = ciphertext.subarray(0, p.bodyOffset + k * frame);
      for (const e of await decryptBoth(cut, { keyring }))
        expect(e, `after ${k} frames`).toBeInstanceOf(DecryptError);
    }
  });

  it("rejects bytes appended after the final frame", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: FRAME });
    for (const e of await decryptBoth(Buffer.concat([ciphertext, Buffer.from([0])]), { keyring })) {
      expect(e).toBeInstanceOf(DecryptError);
    }
  });

  it("rejects frames swapped or reordered", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const p = prefixOf(ciphertext);
    const frame = 4 + FRAME + 16;
    const f1 = ciphertext.subarray(p.bodyOffset, p.bodyOffset + frame);
    const f2 = ciphertext.subarray(p.bodyOffset + frame, p.bodyOffset + 2 * frame);
    const swapped = Buffer.concat([
      ciphertext.subarray(0, p.bodyOffset),
      f2,
      f1,
      ciphertext.subarray(p.bodyOffset + 2 * frame),
    ]);
    // Fix the sequence numbers so only the AAD/nonce binding can catch it.
    swapped.writeUInt32BE(1, p.bodyOffset);
    swapped.writeUInt32BE(2, p.bodyOffset + frame);
    for (const e of await decryptBoth(swapped, { keyring })) expect(e).toBeInstanceOf(DecryptError);
  });

  it("rejects a frame moved from another message with the same key", async () => {
    const a = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const b = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const pa = prefixOf(a.ciphertext);
    const pb = prefixOf(b.ciphertext);
    const mixed = Buffer.concat([
      a.ciphertext.subarray(0, pa.bodyOffset),
      b.ciphertext.subarray(pb.bodyOffset),
    ]);
    for (const e of await decryptBoth(mixed, { keyring })) expect(e).toBeInstanceOf(DecryptError);
  });

  it("swapping in the wrapped-key section of another message fails the commitment check", async () => {
    const a = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const b = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const pa = prefixOf(a.ciphertext);
    const pb = prefixOf(b.ciphertext);
    // B's entries unwrap fine (same keyring, same empty context) to B's data key: only the
    // commitment in A's header can tell it is the wrong key.
    const swapped = Buffer.concat([
      serializePrefixWithEntries(pa.header, pb.entries),
      a.ciphertext.subarray(pa.bodyOffset),
    ]);
    for (const e of await decryptBoth(swapped, { keyring })) expect(e).toBeInstanceOf(DecryptError);
  });

  it("a required encryption context that differs, or is missing from the message, fails", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, encryptionContext: { tenant: "a" } });
    for (const required of [{ tenant: "b" }, { other: "x" }]) {
      for (const e of await decryptBoth(ciphertext, { keyring, requiredEncryptionContext: required })) {
        expect(e).toBeInstanceOf(EncryptionContextError);
      }
    }
    expect(
      (await decrypt(ciphertext, { keyring, requiredEncryptionContext: { tenant: "a" } })).plaintext.equals(
        plaintext,
      ),
    ).toBe(true);
  });

  it("another keyring finds no matching key", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring });
    const other = new RawAesKeyring({ name: "tamper", key: randomBytes(32) });
    for (const e of await decryptBoth(ciphertext, { keyring: other }))
      expect(e).toBeInstanceOf(NoMatchingKeyError);
  });

  it("does not say which check failed", async () => {
    const { ciphertext } = await encrypt(plaintext, { keyring, frameLength: FRAME });
    const p = prefixOf(ciphertext);
    const messages = new Set<string>();
    for (const offset of [
      p.header.headerLength - 1,
      p.header.headerLength - 20,
      ciphertext.length - 1,
      ciphertext.length - 30,
    ]) {
      const m = Buffer.from(ciphertext);
      m[offset] = (m[offset] ?? 0) ^ 1;
      const [e] = await decryptBoth(m, { keyring });
      expect(e).toBeInstanceOf(DecryptError);
      messages.add((e as Error).message);
    }
    const [truncated] = await decryptBoth(ciphertext.subarray(0, ciphertext.length - 1), { keyring });
    expect(truncated).toBeInstanceOf(DecryptError);
    messages.add((truncated as Error).message);
    expect(messages.size).toBe(1);
  });
});
