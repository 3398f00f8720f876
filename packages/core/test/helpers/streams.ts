/** Stream helpers for tests: feed a buffer in given chunk sizes, collect a stream. */
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Splits `data` into chunks of the given sizes (cycling), as a Readable. */
export function chunked(data: Uint8Array, sizes: readonly number[]): Readable {
  const chunks: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    chunks.push(Buffer.from(data.subarray(at, at + n)));
    at += n;
  }
  return Readable.from(chunks);
}

/** Runs `data` through `transform` in chunks and returns the output. */
export async function through(
  transform: Transform,
  data: Uint8Array,
  sizes: readonly number[] = [65536],
): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(chunked(data, sizes), transform, async function (src: AsyncIterable<Buffer>) {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}
