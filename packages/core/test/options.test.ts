/**
 * Every numeric caller option is checked when it is given: absent (`undefined`) is the default,
 * an integer in range is taken, and anything else a plain-JavaScript caller could pass (NaN,
 * Infinity, a negative or fractional number, a string, null) is an InvalidArgumentError naming
 * the option — never a limit silently switched off.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  CachingKeyring,
  DEFAULT_LIMITS,
  decrypt,
  decryptEsdk,
  decryptEsdkStream,
  decryptStream,
  encrypt,
  encryptStream,
  inspect,
  inspectStream,
  InvalidArgumentError,
  LimitError,
  parseMessagePrefix,
  RawAesKeyring,
  type FormatLimits,
} from "@rekey/core";
import { LIMIT_MAXIMA } from "../src/format/constants.js";
import { CountingKeyring } from "./helpers/counting-keyring.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

const keyring = new RawAesKeyring({ name: "options", key: randomBytes(32) });

/** What a plain-JavaScript caller (or a config file) can hand over for a number. */
const BAD_NUMBERS: readonly unknown[] = [NaN, Infinity, -Infinity, -1, 0, 1.5, "16", null, true, {}];

/** Runs `f` and returns the InvalidArgumentError it throws (or rejects with). */
async function invalid(f: () => unknown): Promise<InvalidArgumentError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).code).toBe("ERR_INVALID_ARGUMENT");
    return e as InvalidArgumentError;
  }
  throw new Error("expected an InvalidArgumentError, got none");
}

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof FormatLimits)[];

describe("format limits (decrypt, decryptStream, inspect, inspectStream, parseMessagePrefix)", async () => {
  const { ciphertext } = await encrypt(Buffer.from("limits"), { keyring });
  const entryPoints: [string, (limits: Partial<FormatLimits>) => unknown][] = [
    ["decrypt", (limits) => decrypt(ciphertext, { keyring, limits })],
    ["decryptStream", (limits) => decryptStream({ keyring, limits })],
    ["inspect", (limits) => inspect(ciphertext, limits)],
    ["inspectStream", (limits) => inspectStream(Readable.from([ciphertext]), limits)],
    ["parseMessagePrefix", (limits) => parseMessagePrefix(ciphertext, limits)],
  ];

  for (const [api, call] of entryPoints) {
    it(`${api}: each limit refuses NaN, Infinity, negative, zero, fractional and non-numbers, naming it`, async () => {
      for (const name of LIMIT_NAMES) {
        for (const bad of BAD_NUMBERS) {
          const e = await invalid(() => call({ [name]: bad } as unknown as Partial<FormatLimits>));
          expect(e.option).toBe(`limits.${name}`);
          expect(e.message).toContain(`limits.${name}`);
        }
        const e = await invalid(() => call({ [name]: LIMIT_MAXIMA[name] + 1 }));
        expect(e.option).toBe(`limits.${name}`);
      }
    });

    it(`${api}: an unknown limit name and a non-object are refused`, async () => {
      const e = await invalid(() => call({ maxEntrys: 4 } as unknown as Partial<FormatLimits>));
      expect(e.option).toBe("limits.maxEntrys");
      expect((await invalid(() => call(null as unknown as Partial<FormatLimits>))).option).toBe("limits");
    });
  }

  it("decryptStream refuses a bad limit when it is made, before any byte is written", () => {
    expect(() => decryptStream({ keyring, limits: { maxFrameLength: NaN } })).toThrow(InvalidArgumentError);
  });

  it("undefined means the default: every limit undefined still refuses what the defaults refuse", async () => {
    const allUndefined = Object.fromEntries(LIMIT_NAMES.map((n) => [n, undefined])) as Partial<FormatLimits>;
    expect((await decrypt(ciphertext, { keyring, limits: allUndefined })).plaintext.toString()).toBe(
      "limits",
    );
    // A wrapped-key section that claims 300 MiB: refused from its length field, as by default.
    const headerLength = inspect(ciphertext).headerLength;
    const hostile = Buffer.alloc(headerLength + 4);
    Buffer.from(ciphertext).copy(hostile, 0, 0, headerLength);
    hostile.writeUInt32BE(300 * 1024 * 1024, headerLength);
    expect(() => parseMessagePrefix(hostile, allUndefined)).toThrow(LimitError);
    expect(() =>
      inspect(hostile, { maxEntriesBytes: undefined } as unknown as Partial<FormatLimits>),
    ).toThrow(LimitError);
    expect(() =>
      inspect(ciphertext, { maxEntries: undefined, maxContextBytes: 1 } as unknown as Partial<FormatLimits>),
    ).toThrow(LimitError);
  });

  it("a caller may raise a limit up to what the format can express", async () => {
    const max = { ...LIMIT_MAXIMA };
    expect((await decrypt(ciphertext, { keyring, limits: max })).plaintext.toString()).toBe("limits");
  });
});

describe("frameLength (encrypt, encryptStream)", () => {
  it("refuses every bad value before any key is made, naming frameLength", async () => {
    const counting = new CountingKeyring(keyring);
    for (const frameLength of [...BAD_NUMBERS, DEFAULT_LIMITS.maxFrameLength + 1]) {
      const options = { keyring: counting, frameLength: frameLength as number };
      expect((await invalid(() => encrypt(Buffer.from("x"), options))).option).toBe("frameLength");
      // The stream refuses it when it is made, not when the first chunk arrives.
      expect((await invalid(() => encryptStream(options))).option).toBe("frameLength");
    }
    expect(counting.wraps).toBe(0);
  });

  it("undefined means the 1 MiB default", async () => {
    const { ciphertext } = await encrypt(Buffer.from("x"), {
      keyring,
      frameLength: undefined as unknown as number,
    });
    expect(inspect(ciphertext).frameLength).toBe(1024 * 1024);
  });
});

describe("CachingKeyring limits", () => {
  const base = { keyring, maxAgeMs: 60_000 };
  for (const option of ["maxAgeMs", "maxMessages", "maxBytes", "capacity"] as const) {
    it(`${option}: refuses NaN, Infinity, negative, zero, fractional and non-numbers, naming it`, async () => {
      for (const bad of BAD_NUMBERS) {
        const e = await invalid(() => new CachingKeyring({ ...base, [option]: bad as number }));
        expect(e.option).toBe(option);
      }
    });
  }

  it("maxAgeMs is required; the others default when undefined", async () => {
    expect((await invalid(() => new CachingKeyring({ keyring } as never))).option).toBe("maxAgeMs");
    const cache = new CachingKeyring({
      ...base,
      maxMessages: undefined,
      maxBytes: undefined,
      capacity: undefined,
    } as unknown as ConstructorParameters<typeof CachingKeyring>[0]);
    const { ciphertext } = await encrypt(Buffer.from("cached"), { keyring: cache });
    expect((await decrypt(ciphertext, { keyring })).plaintext.toString()).toBe("cached");
  });

  it("maxBytes: NaN is refused at construction (it made every wrap evict and refill for ever)", async () => {
    const counting = new CountingKeyring(keyring);
    expect(
      (await invalid(() => new CachingKeyring({ keyring: counting, maxAgeMs: 1000, maxBytes: NaN }))).option,
    ).toBe("maxBytes");
    // With a real byte budget the cache works and calls the inner keyring once.
    const cache = new CachingKeyring({ keyring: counting, maxAgeMs: 1000, maxBytes: 1000 });
    for (let i = 0; i < 3; i++) await encrypt(Buffer.from("x"), { keyring: cache });
    expect(counting.wraps).toBe(1);
  });

  it("now must be a function", async () => {
    expect(
      (await invalid(() => new CachingKeyring({ ...base, now: 5 as unknown as () => number }))).option,
    ).toBe("now");
  });
});

describe("ESDK reader limits", () => {
  // A header that looks like an ESDK v2 message: the options are checked before the ESDK loads.
  const esdkHead = Buffer.from([0x02, 0x04, 0x78, 0, 0, 0]);
  const kms = new FakeKms();
  const arn = kms.addKey().arn;
  for (const option of ["maxEncryptedDataKeys", "maxBodySize"] as const) {
    it(`${option}: refuses bad values in decryptEsdk and decryptEsdkStream, naming it`, async () => {
      for (const bad of BAD_NUMBERS) {
        const options = { client: kms, allowedKeyArns: [arn], [option]: bad as number };
        expect((await invalid(() => decryptEsdk(esdkHead, options))).option).toBe(option);
        expect((await invalid(() => decryptEsdkStream(options))).option).toBe(option);
      }
    });
  }
});
