import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import {
  DEFAULT_LIMITS,
  FormatError,
  LimitError,
  RekeyError,
  parseMessagePrefix,
  encrypt,
  RawAesKeyring,
  inspect,
} from "@rekey/core";
import { serializeEntries, parseEntries, parsedSectionOf } from "../src/format/entries.js";
import {
  parseEncryptionContext,
  parsedContextBytesOf,
  serializeEncryptionContext,
} from "../src/format/encryption-context.js";
import { HEADER_FIXED } from "../src/format/constants.js";
import { copyBytes } from "../src/format/bytes.js";

const keyring = new RawAesKeyring({ name: "format-test", key: randomBytes(32) });

describe("encryption context", () => {
  it("serializes canonically whatever the insertion order", () => {
    const a = serializeEncryptionContext({ b: "2", a: "1", é: "x" }, 8192);
    const b = serializeEncryptionContext({ é: "x", a: "1", b: "2" }, 8192);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(parseEncryptionContext(a)).toEqual({ a: "1", b: "2", é: "x" });
  });

  it("reads a __proto__ or constructor key as a key like any other, never as the prototype", () => {
    const ctx = { ["__proto__"]: "p", constructor: "c", a: "1" };
    expect(Object.keys(ctx)).toEqual(["__proto__", "constructor", "a"]);
    const parsed = parseEncryptionContext(serializeEncryptionContext(ctx, 8192));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed).sort()).toEqual(["__proto__", "a", "constructor"]);
    expect(Object.hasOwn(parsed, "__proto__") && parsed["__proto__"]).toBe("p");
    expect(Object.hasOwn(parsed, "constructor") && parsed["constructor"]).toBe("c");
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it("reads the empty context from its two bytes, and nothing longer", () => {
    const parsed = parseEncryptionContext(Uint8Array.of(0, 0));
    expect(parsed).toEqual({});
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(parsedContextBytesOf(parsed)).toEqual(Uint8Array.of(0, 0));
    expect(() => parseEncryptionContext(Uint8Array.of(0, 0, 0))).toThrow(/trailing bytes/);
    expect(() => parseEncryptionContext(Uint8Array.of(0))).toThrow(/truncated/);
  });

  it("rejects a non-canonical (unsorted or duplicate) encoding", () => {
    const ok = serializeEncryptionContext({ a: "1", b: "2" }, 8192);
    // Swap the two pairs: same content, wrong order.
    const swapped = Buffer.concat([
      Buffer.from(ok.subarray(0, 2)),
      Buffer.from(ok.subarray(8)),
      Buffer.from(ok.subarray(2, 8)),
    ]);
    expect(() => parseEncryptionContext(swapped)).toThrow(FormatError);
  });

  it("rejects an empty key and a context over the size limit", () => {
    expect(() => serializeEncryptionContext({ "": "x" }, 8192)).toThrow(RekeyError);
    expect(() => serializeEncryptionContext({ k: "x".repeat(9000) }, 8192)).toThrow(LimitError);
  });

  it("round-trips any map of strings (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
          maxKeys: 12,
        }),
        (ctx) => {
          const bytes = serializeEncryptionContext(ctx, 65535);
          const parsed = parseEncryptionContext(bytes);
          expect(parsed).toEqual({ ...ctx });
          // A data-key cache keys on these bytes instead of serializing the context again.
          expect(parsedContextBytesOf(parsed)).toEqual(bytes);
          expect(Object.isFrozen(parsed)).toBe(true);
        },
      ),
    );
  });
});

describe("wrapped-key section", () => {
  it("remembers section and context bytes only for what was parsed", () => {
    const entries = [{ type: "t", args: [], body: new Uint8Array(2) }];
    expect(parsedSectionOf(entries)).toBeUndefined();
    expect(parsedContextBytesOf({ a: "1" })).toBeUndefined();
  });

  it("keeps the parsed bytes with the parsed value only: not in a copy, not changeable, not enumerable", () => {
    const section = serializeEntries([{ type: "t", args: ["a"], body: new Uint8Array(2) }], DEFAULT_LIMITS);
    const parsed = parseEntries(section, DEFAULT_LIMITS);
    if (parsed.status !== "ok") throw new Error("unparsable");
    const { entries } = parsed.value;
    const context = parseEncryptionContext(serializeEncryptionContext({ k: "v" }, 8192));
    expect(parsedSectionOf(entries)).toEqual(section);
    expect(parsedContextBytesOf(context)).toBeDefined();
    // A copy is a value built in memory: its bytes would have to be serialized again.
    expect(parsedSectionOf([...entries])).toBeUndefined();
    expect(parsedContextBytesOf({ ...context })).toBeUndefined();
    // Nothing can swap the bytes a parsed value carries.
    for (const value of [entries, context] as object[]) {
      const [key] = Object.getOwnPropertySymbols(value);
      expect(key).toBeDefined();
      expect(() => Object.defineProperty(value, key as symbol, { value: new Uint8Array(1) })).toThrow(
        TypeError,
      );
      expect(Object.keys(value)).not.toContain(String(key));
    }
    expect(JSON.stringify(context)).toBe('{"k":"v"}');
    expect(context).toEqual({ k: "v" });
  });

  it("round-trips entries of any type (property)", () => {
    const entry = fc.record({
      type: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
      args: fc.array(fc.string({ maxLength: 50 }), { maxLength: 5 }),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (entries) => {
        const bytes = serializeEntries(entries, DEFAULT_LIMITS);
        const parsed = parseEntries(bytes, DEFAULT_LIMITS);
        expect(parsed.status).toBe("ok");
        if (parsed.status === "ok") {
          expect(parsed.value.byteLength).toBe(bytes.length);
          // A data-key cache keys on these bytes instead of serializing the entries again.
          expect(parsedSectionOf(parsed.value.entries)).toEqual(bytes);
          expect(Object.isFrozen(parsed.value.entries)).toBe(true);
          for (const e of parsed.value.entries)
            expect(Object.isFrozen(e) && Object.isFrozen(e.args)).toBe(true);
          expect(parsed.value.entries.map((e) => ({ ...e, body: Buffer.from(e.body) }))).toEqual(
            entries.map((e) => ({ ...e, body: Buffer.from(e.body) })),
          );
        }
      }),
    );
  });

  it("enforces the entry-count limit on write and on read", () => {
    const many = Array.from({ length: 17 }, () => ({
      type: "raw-aes",
      args: ["k"],
      body: new Uint8Array(60),
    }));
    expect(() => serializeEntries(many, DEFAULT_LIMITS)).toThrow(LimitError);
    const bytes = serializeEntries(many, { ...DEFAULT_LIMITS, maxEntries: 32 });
    expect(() => parseEntries(bytes, DEFAULT_LIMITS)).toThrow(LimitError);
  });

  it("counts the section's length field in its limit, on write and on read alike", () => {
    const entry = (bodyLength: number) => ({ type: "x", args: [], body: new Uint8Array(bodyLength) });
    // 4 (length) + 2 (count) + 1 + 1 (type) + 1 (args) + 2 + body
    const limits = { ...DEFAULT_LIMITS, maxEntriesBytes: 11 + 100 };
    const fits = serializeEntries([entry(100)], limits);
    expect(fits.length).toBe(111);
    expect(parseEntries(fits, limits).status).toBe("ok");
    expect(() => serializeEntries([entry(101)], limits)).toThrow(LimitError);
    const over = serializeEntries([entry(101)], DEFAULT_LIMITS);
    expect(() => parseEntries(over, limits)).toThrow(LimitError);
  });

  it("refuses a section length over the limit before reading it", () => {
    const hostile = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 1]);
    expect(() => parseEntries(hostile, DEFAULT_LIMITS)).toThrow(LimitError);
  });

  it("reads a type of a-z, 0-9 and '-' (not first), 1 to 32 bytes; refuses any other", () => {
    // u32 length, u16 count, u8 typeLen, type, u8 argCount, u16 bodyLen, body (1 byte).
    const section = (type: Uint8Array): Buffer => {
      const b = Buffer.alloc(4 + 2 + 1 + type.length + 1 + 2 + 1);
      b.writeUInt32BE(b.length - 4, 0);
      b.writeUInt16BE(1, 4);
      b[6] = type.length;
      b.set(type, 7);
      b.writeUInt16BE(1, 8 + type.length);
      return b;
    };
    for (const ok of [
      "a",
      "raw-aes",
      "aws-kms",
      "0x",
      "a".repeat(32),
      "abcdefghijklmnopqrstuvwxyz",
      "a0123456789-",
    ]) {
      const parsed = parseEntries(section(Buffer.from(ok, "latin1")), DEFAULT_LIMITS);
      expect(parsed.status === "ok" && parsed.value.entries[0]?.type).toBe(ok);
    }
    const refused = ["", "-a", "Raw", "a_b", "a b", "a.b", "a/b", "a:", "a`", "a{", "a".repeat(33)].map((t) =>
      Buffer.from(t, "latin1"),
    );
    refused.push(Buffer.from("é", "utf8"), Buffer.from([0x61, 0x00]), Buffer.from([0x61, 0xff]));
    for (const t of refused)
      expect(() => parseEntries(section(t), DEFAULT_LIMITS), JSON.stringify([...t])).toThrow(
        /invalid wrapped-key entry type/,
      );
  });

  it("refuses a section cut short at every byte, saying the entry overruns it", () => {
    const full = Buffer.from(
      serializeEntries(
        [
          { type: "aws-kms", args: ["arn", "", "id"], body: new Uint8Array(5).fill(7) },
          { type: "raw-aes", args: ["k"], body: new Uint8Array(3) },
        ],
        DEFAULT_LIMITS,
      ),
    );
    expect(parseEntries(full, DEFAULT_LIMITS).status).toBe("ok");
    for (let cut = 6; cut < full.length; cut++) {
      const short = Buffer.from(full.subarray(0, cut));
      short.writeUInt32BE(cut - 4, 0);
      expect(() => parseEntries(short, DEFAULT_LIMITS), `cut at ${cut}`).toThrow(/overruns its section/);
    }
  });

  it("refuses an entry that overruns its section", () => {
    const bytes = Buffer.from(
      serializeEntries([{ type: "x", args: ["abc"], body: new Uint8Array(4) }], DEFAULT_LIMITS),
    );
    // Layout: u32 length, u16 count, u8 typeLen, "x", u8 argCount, u16 argLen ... — make the
    // first argument's length point past the end of the section.
    bytes[9] = 0x00;
    bytes[10] = 0xff;
    expect(() => parseEntries(bytes, DEFAULT_LIMITS)).toThrow(RekeyError);
  });
});

describe("message prefix parser", () => {
  it("answers need-more-bytes for every short prefix of a valid message, then ok", async () => {
    const { ciphertext } = await encrypt(Buffer.from("hello"), {
      keyring,
      encryptionContext: { purpose: "test" },
    });
    const full = parseMessagePrefix(ciphertext);
    expect(full.status).toBe("ok");
    if (full.status !== "ok") return;
    for (let n = 0; n < full.value.bodyOffset; n++) {
      const r = parseMessagePrefix(ciphertext.subarray(0, n));
      expect(r.status, `at ${n}`).toBe("need");
      if (r.status === "need") expect(r.minBytes).toBeGreaterThan(n);
    }
  });

  it("calls bytes that are not rekey a format error", () => {
    expect(() => inspect(Buffer.from("PK\x03\x04 zip file"))).toThrow(FormatError);
    expect(() => inspect(Buffer.from([0x02, 0x05, 0x78]))).toThrow(FormatError); // an AWS Encryption SDK v2 message start
  });

  it("refuses a frame length over the reader's limit", async () => {
    const { ciphertext } = await encrypt(Buffer.alloc(10), { keyring, frameLength: 4096 });
    expect(() => inspect(ciphertext, { maxFrameLength: 1024 })).toThrow(LimitError);
  });

  it("refuses an unknown version or suite", async () => {
    const { ciphertext } = await encrypt(Buffer.alloc(1), { keyring });
    const v = Buffer.from(ciphertext);
    v[HEADER_FIXED.version] = 2;
    expect(() => inspect(v)).toThrow(/version/);
    const s = Buffer.from(ciphertext);
    s[HEADER_FIXED.suite + 1] = 9;
    expect(() => inspect(s)).toThrow(/suite/);
  });

  it("never throws anything but a typed error on random bytes (property)", () => {
    const withMagic = fc
      .uint8Array({ maxLength: 400 })
      .map((b) => Buffer.concat([Buffer.from("RKEY\x01\x00\x01"), Buffer.from(b)]));
    // A header whose length fields agree, so the parser gets past them into the context and the
    // wrapped-key section most of the time.
    const consistent = fc
      .record({
        contextLength: fc.integer({ min: 0, max: 300 }),
        frameLength: fc.integer({ min: 0, max: 0xffffffff }),
        rest: fc.uint8Array({ maxLength: 700 }),
      })
      .map(({ contextLength, frameLength, rest }) => {
        const fixed = Buffer.alloc(HEADER_FIXED.context);
        fixed.write("RKEY\x01\x00\x01", 0, "latin1");
        fixed.writeUInt32BE(97 + contextLength, HEADER_FIXED.headerLength);
        fixed.writeUInt32BE(frameLength, HEADER_FIXED.frameLength);
        fixed.writeUInt16BE(contextLength, HEADER_FIXED.contextLength);
        return Buffer.concat([fixed, Buffer.from(rest)]);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), withMagic, consistent), (bytes) => {
        try {
          parseMessagePrefix(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(RekeyError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps its own copy of the header and the entries, each field at its offset", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring,
      encryptionContext: { a: "1" },
    });
    const input = Buffer.from(ciphertext);
    const parsed = parseMessagePrefix(input);
    if (parsed.status !== "ok") throw new Error("unparsable");
    const { header, entries, bodyOffset } = parsed.value;
    const original = Buffer.from(input);
    const contextEnd = header.headerLength - 48;
    const expected = {
      messageId: original.subarray(HEADER_FIXED.messageId, HEADER_FIXED.messageId + 32),
      commitment: original.subarray(contextEnd, contextEnd + 32),
      headerTag: original.subarray(contextEnd + 32, header.headerLength),
      authenticatedBytes: original.subarray(0, contextEnd + 32),
      section: original.subarray(header.headerLength, bodyOffset),
    };
    // Overwrite the input: nothing parsed may change with it.
    input.fill(0);
    const bytes = (b: Uint8Array | undefined) => Buffer.from(b ?? []);
    expect(bytes(header.messageId)).toEqual(expected.messageId);
    expect(bytes(header.commitment)).toEqual(expected.commitment);
    expect(bytes(header.headerTag)).toEqual(expected.headerTag);
    expect(bytes(header.authenticatedBytes)).toEqual(expected.authenticatedBytes);
    expect(bytes(parsedSectionOf(entries))).toEqual(expected.section);
    const body = entries[0]?.body ?? new Uint8Array();
    expect(body.length).toBeGreaterThan(0);
    expect(expected.section.indexOf(bytes(body))).toBeGreaterThan(0);
    expect(header.encryptionContext).toEqual({ a: "1" });
  });

  it("never throws anything but a typed error on a mutated valid prefix (property)", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring,
      encryptionContext: { a: "1", bb: "22" },
    });
    const prefix = ciphertext.subarray(
      0,
      (parseMessagePrefix(ciphertext) as { value: { bodyOffset: number } }).value.bodyOffset,
    );
    fc.assert(
      fc.property(fc.nat(prefix.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Buffer.from(prefix);
        m[i] = (m[i] ?? 0) ^ x;
        try {
          parseMessagePrefix(m);
        } catch (e) {
          expect(e).toBeInstanceOf(RekeyError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("copyBytes", () => {
  it("copies only inside the view it is given, never the rest of its buffer", () => {
    const whole = Buffer.from("secret-before|view|secret-after");
    const view = whole.subarray(14, 18);
    expect(Buffer.from(copyBytes(view, 0, 4)).toString()).toBe("view");
    expect(Buffer.from(copyBytes(view, 1, 3)).toString()).toBe("ie");
    expect(() => copyBytes(view, 0, 5)).toThrow(RangeError);
    expect(() => copyBytes(view, -1, 2)).toThrow(RangeError);
    expect(() => copyBytes(view, 3, 2)).toThrow(RangeError);
    // The copy shares no memory with the input.
    const copy = copyBytes(view, 0, 4);
    view[0] = 0x58;
    expect(Buffer.from(copy).toString()).toBe("view");
  });
});
