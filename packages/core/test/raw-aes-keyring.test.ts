import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RawAesKeyring } from "../src/keyring/raw-aes-keyring.js";

const IV = 12;
const encryptionContext = { tenant: "acme" };

function keyring(): RawAesKeyring {
  return new RawAesKeyring({ name: "test", key: randomBytes(32) });
}

describe("RawAesKeyring.wrap randomness", () => {
  it("a new data key and its entry's IV never share bytes, and neither repeats", async () => {
    const k = keyring();
    const keys = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { dataKey, entries } = await k.wrap({ encryptionContext });
      const iv = Buffer.from((entries[0]?.body as Uint8Array).subarray(0, IV));
      const key = Buffer.from(dataKey);
      expect(key.length).toBe(32);
      // Drawn together: any overlap of the two (4 bytes or more) shows up here; by chance, about
      // once in 10^5 runs of this test.
      for (let at = 0; at + 4 <= IV; at++) expect(key.indexOf(iv.subarray(at, at + 4))).toBe(-1);
      keys.add(key.toString("hex"));
      ivs.add(iv.toString("hex"));
    }
    expect(keys.size).toBe(200);
    expect(ivs.size).toBe(200);
  });

  it("zeroing the returned data key (as a writer does) leaves the entry able to unwrap it", async () => {
    const k = keyring();
    const { dataKey, entries } = await k.wrap({ encryptionContext });
    const copy = Buffer.from(dataKey);
    dataKey.fill(0);
    const unwrapped = await k.unwrap(entries, { encryptionContext });
    expect(Buffer.from(unwrapped as Uint8Array).equals(copy)).toBe(true);
  });

  it("wraps a data key it is given, with a fresh IV each time", async () => {
    const k = keyring();
    const given = randomBytes(32);
    const a = await k.wrap({ encryptionContext, dataKey: given });
    const b = await k.wrap({ encryptionContext, dataKey: given });
    expect(Buffer.from(a.dataKey).equals(given)).toBe(true);
    const ivA = Buffer.from((a.entries[0]?.body as Uint8Array).subarray(0, IV));
    const ivB = Buffer.from((b.entries[0]?.body as Uint8Array).subarray(0, IV));
    expect(ivA.equals(ivB)).toBe(false);
    expect(Buffer.from((await k.unwrap(b.entries, { encryptionContext })) as Uint8Array).equals(given)).toBe(
      true,
    );
  });
});
