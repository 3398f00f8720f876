import { describe, expect, it } from "vitest";
import {
  CachingKeyring,
  decrypt,
  encrypt,
  encryptChunks,
  encryptStream,
  inspect,
  InvalidArgumentError,
  KmsError,
  KmsKeyring,
  LimitError,
  parseMessagePrefix,
} from "@rekey/core";
import { resolveLimits } from "../src/format/constants.js";
import { parsedSectionOf, parseEntries, serializeEntries } from "../src/format/entries.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { through } from "./helpers/streams.js";

function setup(options: Partial<ConstructorParameters<typeof CachingKeyring>[0]> = {}) {
  const kms = new FakeKms();
  const keyArn = kms.addKey().arn;
  let now = 1_000_000;
  const keyring = new CachingKeyring({
    keyring: new KmsKeyring({ client: kms, keyId: keyArn }),
    maxAgeMs: 60_000,
    now: () => now,
    ...options,
  });
  return { kms, keyArn, keyring, advance: (ms: number) => (now += ms) };
}

describe("CachingKeyring", () => {
  it("reuses one data key across messages, each with its own message id, all decryptable", async () => {
    const { kms, keyring, keyArn } = setup();
    const messages = [];
    for (let i = 0; i < 50; i++)
      messages.push(
        (await encrypt(Buffer.from(`m${i}`), { keyring, encryptionContext: { t: "a" } })).ciphertext,
      );
    expect(kms.count("GenerateDataKey")).toBe(1);
    expect(new Set(messages.map((m) => inspect(m).messageId)).size).toBe(50);
    const plain = new KmsKeyring({ client: kms, keyId: keyArn });
    for (let i = 0; i < 50; i++)
      expect((await decrypt(messages[i] as Buffer, { keyring: plain })).plaintext.toString()).toBe(`m${i}`);
  });

  it("single-flight: 20 concurrent misses make one KMS call", async () => {
    const { kms, keyring } = setup();
    await Promise.all(Array.from({ length: 20 }, () => encrypt(Buffer.from("x"), { keyring })));
    expect(kms.count("GenerateDataKey")).toBe(1);
    const { ciphertext } = await encrypt(Buffer.from("y"), { keyring });
    const fresh = setup();
    fresh.kms.state.keys.clear();
    for (const [k, v] of kms.state.keys) fresh.kms.state.keys.set(k, v);
    const dk = new CachingKeyring({
      keyring: new KmsKeyring({
        client: fresh.kms,
        discovery: { accountIds: ["111122223333"], partition: "aws" },
      }),
      maxAgeMs: 1000,
    });
    await Promise.all(Array.from({ length: 20 }, () => decrypt(ciphertext, { keyring: dk })));
    expect(fresh.kms.count("Decrypt")).toBe(1);
  });

  it("enforces maxMessages, maxBytes and maxAge", async () => {
    const m = setup({ maxMessages: 10 });
    for (let i = 0; i < 25; i++) await encrypt(Buffer.from("x"), { keyring: m.keyring });
    expect(m.kms.count("GenerateDataKey")).toBe(3);

    const b = setup({ maxBytes: 1000 });
    for (let i = 0; i < 10; i++) await encrypt(Buffer.alloc(300), { keyring: b.keyring });
    expect(b.kms.count("GenerateDataKey")).toBe(4); // 3 messages (900 bytes) per data key
    await encrypt(Buffer.alloc(2000), { keyring: b.keyring }); // larger than the budget: bypass
    expect(b.kms.count("GenerateDataKey")).toBe(5);
    // A stream's size is unknown: under a byte budget it bypasses the cache.
    await through(encryptStream({ keyring: b.keyring }), Buffer.alloc(10));
    expect(b.kms.count("GenerateDataKey")).toBe(6);

    const a = setup();
    await encrypt(Buffer.from("x"), { keyring: a.keyring });
    a.advance(59_000);
    await encrypt(Buffer.from("x"), { keyring: a.keyring });
    expect(a.kms.count("GenerateDataKey")).toBe(1);
    a.advance(2_000);
    await encrypt(Buffer.from("x"), { keyring: a.keyring });
    expect(a.kms.count("GenerateDataKey")).toBe(2);
  });

  it("partitions by encryption context (KMS binds it into the wrapped key)", async () => {
    const { kms, keyring } = setup();
    await encrypt(Buffer.from("x"), { keyring, encryptionContext: { tenant: "a" } });
    await encrypt(Buffer.from("x"), { keyring, encryptionContext: { tenant: "b" } });
    await encrypt(Buffer.from("x"), { keyring, encryptionContext: { tenant: "a" } });
    expect(kms.count("GenerateDataKey")).toBe(2);
  });

  // A small section and context are the cache key themselves; past 1 KiB, their SHA-256 is.
  it.each([
    ["small", ""],
    ["large (digest)", "p".repeat(2000)],
  ])(
    "decrypt cache, %s id: a message with another context or another wrapped key misses, whatever it shares",
    async (_, pad) => {
      const { kms, keyring: sealing } = setup();
      const { ciphertext } = await encrypt(Buffer.from("x"), {
        keyring: sealing,
        encryptionContext: pad ? { t: "ctx-A", u: pad } : { t: "ctx-A" },
      });
      const opening = new CachingKeyring({
        keyring: new KmsKeyring({
          client: kms,
          discovery: { accountIds: ["111122223333"], partition: "aws" },
        }),
        maxAgeMs: 60_000,
      });
      await decrypt(ciphertext, { keyring: opening });
      await decrypt(Buffer.from(ciphertext), { keyring: opening });
      expect(kms.count("Decrypt")).toBe(1);
      // The same wrapped-key section under another context (same length): KMS must be asked again.
      const otherContext = Buffer.from(ciphertext);
      otherContext[otherContext.indexOf("ctx-A") + 4] = "B".charCodeAt(0);
      await expect(decrypt(otherContext, { keyring: opening })).rejects.toThrow();
      expect(kms.count("Decrypt")).toBe(2);
      // The same context with one byte of the wrapped key changed: asked again too.
      const prefix = parseMessagePrefix(ciphertext);
      if (prefix.status !== "ok") throw new Error("unparsable");
      const otherEntry = Buffer.from(ciphertext);
      otherEntry[prefix.value.bodyOffset - 1] = (otherEntry[prefix.value.bodyOffset - 1] as number) ^ 1;
      await expect(decrypt(otherEntry, { keyring: opening })).rejects.toThrow();
      expect(kms.count("Decrypt")).toBe(3);
    },
  );

  it("does not cache failures", async () => {
    const { kms, keyring } = setup();
    kms.fail({ error: "ThrottlingException", times: 1 });
    await expect(encrypt(Buffer.from("x"), { keyring })).rejects.toBeInstanceOf(KmsError);
    await encrypt(Buffer.from("x"), { keyring });
    expect(kms.count("GenerateDataKey")).toBe(2);
  });

  it("the caller zeroing its data key does not corrupt the cache", async () => {
    const { keyring, kms, keyArn } = setup();
    const a = await encrypt(Buffer.from("first"), { keyring });
    const b = await encrypt(Buffer.from("second"), { keyring });
    const plain = new KmsKeyring({ client: kms, keyId: keyArn });
    expect((await decrypt(a.ciphertext, { keyring: plain })).plaintext.toString()).toBe("first");
    expect((await decrypt(b.ciphertext, { keyring: plain })).plaintext.toString()).toBe("second");
    expect((await decrypt(b.ciphertext, { keyring })).plaintext.toString()).toBe("second");
    expect((await decrypt(b.ciphertext, { keyring })).plaintext.toString()).toBe("second");
  });

  it("serializes a cached key's wrapped-key section once; no caller changes it through the chunks or the entries it is handed", async () => {
    const { keyring, kms, keyArn } = setup();
    const first = await encryptChunks(Buffer.from("first"), { keyring, frameLength: 64 });
    const fresh = new KmsKeyring({ client: kms, keyId: keyArn });
    // The cached entries carry their section's bytes; every message writes a copy of them.
    const handed = await keyring.wrap({ encryptionContext: {} });
    handed.dataKey.fill(0);
    const remembered = parsedSectionOf(handed.entries);
    if (!remembered) throw new Error("the cached entries do not carry their section");
    expect(Buffer.from(first.chunks[2] as Uint8Array)).toEqual(Buffer.from(remembered));
    // The caller owns its chunks: zeroing them (as a careful writer might) leaves the cache intact.
    for (const c of first.chunks) c.fill(0);
    // A caller of wrap may write into the bodies it was handed (a Uint8Array cannot be frozen):
    // that changes no message written after.
    for (const e of handed.entries) (e.body as Uint8Array).fill(0);
    const second = await encrypt(Buffer.from("second"), { keyring });
    expect(kms.count("GenerateDataKey")).toBe(1);
    expect((await decrypt(second.ciphertext, { keyring: fresh })).plaintext.toString()).toBe("second");
  });

  it("a keyring's parsed entries past the writer's limits fail as built ones do", async () => {
    // 17 entries parsed under a reader's raised limit: the default writer allows 16.
    const many = Array.from({ length: 17 }, (_, i) => ({
      type: "raw-aes",
      args: [`k${i}`],
      body: Buffer.alloc(60),
    }));
    const raised = resolveLimits({ maxEntries: 17 });
    const parsed = parseEntries(serializeEntries(many, raised), raised);
    if (parsed.status !== "ok") throw new Error("the test's own section does not parse");
    const keyring = {
      wrap: async () => ({ dataKey: Buffer.alloc(32, 1), entries: parsed.value.entries }),
      unwrap: async () => undefined,
    };
    await expect(encrypt(Buffer.from("x"), { keyring })).rejects.toBeInstanceOf(LimitError);
  });

  it("requires a max age", () => {
    const kms = new FakeKms();
    expect(
      () =>
        new CachingKeyring({
          keyring: new KmsKeyring({ client: kms, keyId: kms.addKey().arn }),
          maxAgeMs: 0,
        }),
    ).toThrow(InvalidArgumentError);
  });

  it("evicts the least recently used context past capacity", async () => {
    const { kms, keyring } = setup({ capacity: 2 });
    for (const t of ["a", "b", "c", "a"])
      await encrypt(Buffer.from("x"), { keyring, encryptionContext: { t } });
    expect(kms.count("GenerateDataKey")).toBe(4);
  });
});
