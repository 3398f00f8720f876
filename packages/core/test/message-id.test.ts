import { describe, expect, it } from "vitest";
import { newMessageId } from "../src/crypto/message-id.js";

describe("message ids from the pool", () => {
  it("are 32 bytes and never repeat, across several refills of the pool", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newMessageId();
      expect(id.length).toBe(32);
      seen.add(id.toString("hex"));
    }
    expect(seen.size).toBe(1000);
  });

  it("keep their bytes after the pool is refilled (a refill never writes over ids handed out)", () => {
    const id = newMessageId();
    const copy = Buffer.from(id);
    for (let i = 0; i < 500; i++) newMessageId();
    expect(id.equals(copy)).toBe(true);
  });
});
