import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { decryptWebStream, encryptWebStream, RawAesKeyring, RekeyError } from "@rekey/core";

const keyring = new RawAesKeyring({ name: "web", key: randomBytes(32) });

async function collect(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) parts.push(c);
  return Buffer.concat(parts);
}

function from(data: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.length) c.close();
      else {
        c.enqueue(data.slice(at, at + chunk));
        at += chunk;
      }
    },
  });
}

describe("web streams", () => {
  it("round-trips through pipeThrough", async () => {
    const pt = randomBytes(200_000);
    const ct = await collect(from(pt, 7000).pipeThrough(encryptWebStream({ keyring, frameLength: 4096 })));
    const back = await collect(from(ct, 5000).pipeThrough(decryptWebStream({ keyring })));
    expect(back.equals(pt)).toBe(true);
  });

  it("errors the readable side on a truncated message", async () => {
    const ct = await collect(
      from(randomBytes(10_000), 4000).pipeThrough(encryptWebStream({ keyring, frameLength: 4096 })),
    );
    await expect(
      collect(from(ct.subarray(0, ct.length - 5), 3000).pipeThrough(decryptWebStream({ keyring }))),
    ).rejects.toBeInstanceOf(RekeyError);
  });
});
