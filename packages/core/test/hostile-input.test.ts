/**
 * Hostile whole messages. Fuzzing: decrypt, decryptStream and inspect on mutated valid messages,
 * unsigned and signed
 * (bit flips, byte writes, hostile u32 length fields, truncation, insertion, deletion, duplicated
 * ranges), with a fixed seed and a fixed number of runs, so CI runs the same cases every time:
 * nothing but a typed RekeyError is thrown, and no plaintext other than the original is ever
 * released. Hostile headers: a length field past its limit is refused after reading a bounded
 * number of bytes, counted at the source, never after reading what it announces.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  decrypt,
  decryptStream,
  encrypt,
  inspect,
  inspectStream,
  LimitError,
  RawAesKeyring,
  RekeyError,
  type FormatLimits,
} from "@rekey/core";
import { HEADER_FIXED } from "../src/format/constants.js";

const SEED = 0x5ec0de;
const RUNS = 250;

const keyring = new RawAesKeyring({ name: "fuzz", key: randomBytes(32) });

// Three unsigned messages and two signed ones (suite 2).
const plaintexts = [randomBytes(300), Buffer.alloc(0), randomBytes(64), randomBytes(200), Buffer.alloc(0)];
const messages = await Promise.all(
  plaintexts.map(
    async (p, i) =>
      (await encrypt(p, { keyring, frameLength: 64, encryptionContext: { i: `${i}` }, signed: i >= 3 }))
        .ciphertext,
  ),
);

/** Values a hostile length field takes. */
const HOSTILE_U32 = [0, 1, 2, 15, 16, 17, 0x7f, 0xff, 0xffff, 0x10000, 0x7fffffff, 0xfffffffe, 0xffffffff];

type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "u32"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; at: number; length: number; to: number };

const position = fc.nat({ max: 1_000_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: position, value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant("u32" as const), at: position, value: fc.constantFrom(...HOSTILE_U32) }),
  fc.record({ kind: fc.constant("truncate" as const), at: position }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: position,
    length: fc.integer({ min: 1, max: 120 }),
    to: position,
  }),
);

function apply(message: Buffer, m: Mutation): Buffer {
  if (message.length === 0) return message;
  const at = m.at % message.length;
  const out = Buffer.from(message);
  switch (m.kind) {
    case "flip":
      out[at] = (out[at] as number) ^ (1 << m.bit);
      return out;
    case "set":
      out[at] = m.value;
      return out;
    case "u32":
      if (at + 4 <= out.length) out.writeUInt32BE(m.value, at);
      return out;
    case "truncate":
      return out.subarray(0, at);
    case "insert":
      return Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    case "delete":
      return Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
    case "duplicate": {
      const piece = out.subarray(at, at + m.length);
      const to = m.to % message.length;
      return Buffer.concat([out.subarray(0, to), piece, out.subarray(to)]);
    }
  }
}

const hostileMessage = fc
  .record({
    which: fc.nat({ max: messages.length - 1 }),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  })
  .map(({ which, mutations }) => ({
    which,
    bytes: mutations.reduce((b, m) => apply(b, m), messages[which] as Buffer),
  }));

function expectTyped(e: unknown): void {
  if (!(e instanceof RekeyError)) throw new Error(`untyped error: ${String(e)}`, { cause: e });
}

describe("whole-message fuzzing (fixed seed, fixed run count)", () => {
  it("decrypt: a typed error or the original plaintext", async () => {
    await fc.assert(
      fc.asyncProperty(hostileMessage, async ({ which, bytes }) => {
        try {
          const { plaintext } = await decrypt(bytes, { keyring });
          expect(plaintext.equals(plaintexts[which] as Buffer)).toBe(true);
        } catch (e) {
          expectTyped(e);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("decryptStream: a typed error after a prefix of the original plaintext, or all of it", async () => {
    await fc.assert(
      fc.asyncProperty(hostileMessage, fc.integer({ min: 1, max: 97 }), async ({ which, bytes }, chunk) => {
        const out: Buffer[] = [];
        const chunks: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
        const sink = new Writable({
          write(c: Buffer, _e, cb) {
            out.push(c);
            cb();
          },
        });
        const original = plaintexts[which] as Buffer;
        try {
          await pipeline(Readable.from(chunks), decryptStream({ keyring }), sink);
          expect(Buffer.concat(out).equals(original)).toBe(true);
        } catch (e) {
          expectTyped(e);
          const released = Buffer.concat(out);
          expect(original.subarray(0, released.length).equals(released)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("inspect: a typed error or a description", () => {
    fc.assert(
      fc.property(hostileMessage, ({ bytes }) => {
        try {
          const info = inspect(bytes);
          expect(info.bodyOffset).toBeLessThanOrEqual(bytes.length);
        } catch (e) {
          expectTyped(e);
        }
      }),
      { seed: SEED, numRuns: RUNS * 4 },
    );
  });
});

/**
 * A source that serves `head`, then zero bytes for ever, in 16 KiB chunks on demand, counting
 * every byte it hands out.
 */
function countingSource(head: Uint8Array): { stream: Readable; served: () => number } {
  let served = 0;
  let headServed = false;
  const stream = new Readable({
    highWaterMark: 16 * 1024,
    read() {
      const chunk = headServed ? Buffer.alloc(16 * 1024) : Buffer.from(head);
      headServed = true;
      served += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, served: () => served };
}

/** A valid message's header with one u32 or u16 field overwritten, then nothing but zeros. */
async function hostileHead(edit: (header: Buffer, headerLength: number) => Buffer): Promise<Buffer> {
  const { ciphertext } = await encrypt(Buffer.from("x"), { keyring, encryptionContext: { tenant: "acme" } });
  const headerLength = inspect(ciphertext).headerLength;
  return edit(Buffer.from(ciphertext.subarray(0, headerLength)), headerLength);
}

/** At most this many bytes may be read before a hostile length field is refused. */
const READ_BOUND = 128 * 1024;

const hostileHeads: [string, () => Promise<Buffer>][] = [
  [
    "a wrapped-key section that claims 300 MiB",
    () =>
      hostileHead((h) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(300 * 1024 * 1024);
        return Buffer.concat([h, len]);
      }),
  ],
  [
    "a frame length of 4 GiB",
    () =>
      hostileHead((h) => {
        h.writeUInt32BE(0xffffffff, HEADER_FIXED.frameLength);
        return h;
      }),
  ],
  [
    "an encryption context of 65,535 bytes",
    () =>
      hostileHead((h) => {
        h.writeUInt16BE(0xffff, HEADER_FIXED.contextLength);
        h.writeUInt32BE(97 + 0xffff, HEADER_FIXED.headerLength);
        return h.subarray(0, HEADER_FIXED.context);
      }),
  ],
];

describe("hostile length fields are refused before what they announce is read", () => {
  // Both the defaults and every limit passed as undefined (a plain-JavaScript caller's config).
  const undefinedLimits = {
    maxEntries: undefined,
    maxHeaderBytes: undefined,
    maxEntriesBytes: undefined,
    maxContextBytes: undefined,
    maxFrameLength: undefined,
    maxFrames: undefined,
  } as unknown as Partial<FormatLimits>;

  for (const [name, make] of hostileHeads) {
    for (const [label, limits] of [
      ["default limits", undefined],
      ["limits all undefined", undefinedLimits],
    ] as const) {
      it(`decryptStream, ${label}: ${name}`, async () => {
        const { stream, served } = countingSource(await make());
        const sink = new Writable({ write: (_c, _e, cb) => cb() });
        const d = decryptStream({ keyring, ...(limits ? { limits } : {}) });
        await expect(pipeline(stream, d, sink)).rejects.toBeInstanceOf(LimitError);
        expect(served()).toBeLessThan(READ_BOUND);
      });

      it(`inspectStream, ${label}: ${name}`, async () => {
        const { stream, served } = countingSource(await make());
        await expect(inspectStream(stream, limits)).rejects.toBeInstanceOf(LimitError);
        expect(served()).toBeLessThan(READ_BOUND);
      });
    }
  }

  it("the counting source would serve 300 MiB if asked: the bound is the reader's, not the source's", async () => {
    const { stream, served } = countingSource(Buffer.from("RKEY"));
    let n = 0;
    for await (const c of stream) {
      n += (c as Buffer).length;
      if (n > 2 * READ_BOUND) break;
    }
    expect(served()).toBeGreaterThan(2 * READ_BOUND);
  });
});
