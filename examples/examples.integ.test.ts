/** Each example runs as is and does what its README says. */
import { describe, expect, it } from "vitest";
import { main as appExample } from "./app-encrypt-decrypt/index.js";

describe("examples", () => {
  it("app-encrypt-decrypt writes, reads back and inspects records", async () => {
    const lines: string[] = [];
    const read = await appExample((l) => lines.push(l));
    expect(read).toEqual([
      { id: "c-1", name: "Ada", card: "4111 1111 1111 1111" },
      { id: "c-2", name: "Grace", card: "5500 0000 0000 0004" },
      { id: "c-3", name: "Edsger", card: "3400 0000 0000 009" },
    ]);
    expect(lines.some((l) => l.includes("named as alias/rekey-app-"))).toBe(true);
  });
});
