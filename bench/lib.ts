/** Benchmark helpers: timing, chunked sources, discarding sinks, table printing. */
import { Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** A Readable of `total` bytes in `chunk`-sized slices of one random buffer (no per-chunk allocation). */
export function source(data: Buffer, total: number, chunk = 64 * 1024): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: chunk * 4,
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk, total - sent);
      const at = sent % data.length;
      this.push(data.subarray(at, Math.min(at + n, data.length)));
      sent += Math.min(n, data.length - at);
    },
  });
}

/** A Readable over a buffer in fixed chunks. */
export function bufferSource(data: Buffer, chunk = 64 * 1024): Readable {
  let at = 0;
  return new Readable({
    highWaterMark: chunk * 4,
    read() {
      if (at >= data.length) this.push(null);
      else {
        this.push(data.subarray(at, at + chunk));
        at += chunk;
      }
    },
  });
}

/** A sink that counts bytes, optionally collecting them. */
export function sink(collect?: Buffer[]): Writable & { bytes: number } {
  const w = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _e, cb) {
      (w as Writable & { bytes: number }).bytes += chunk.length;
      collect?.push(chunk);
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/** Runs `from -> ...transforms -> sink` and returns seconds. */
export async function timePipeline(from: Readable, transforms: Transform[], to: Writable): Promise<number> {
  const t = performance.now();
  await pipeline([from, ...transforms, to]);
  return (performance.now() - t) / 1000;
}

/** Best of `n` runs of an async measurement (seconds). */
export async function best(n: number, f: () => Promise<number>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < n; i++) b = Math.min(b, await f());
  return b;
}

/**
 * Best of `n` runs of two measurements taken in turn (a, b, a, b, …), so a drift of the machine's
 * speed during the run weighs on both sides of a ratio alike.
 */
export async function bestOfPair(
  n: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number, number]> {
  let ba = Infinity;
  let bb = Infinity;
  for (let i = 0; i < n; i++) {
    ba = Math.min(ba, await a());
    bb = Math.min(bb, await b());
  }
  return [ba, bb];
}

export async function seconds(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}

export const MiB = 1024 * 1024;
export const mbps = (bytes: number, s: number): number => bytes / s / 1e6;
export const fmt = (x: number, d = 0): string => x.toFixed(d);

/** Prints an aligned table. */
export function table(rows: (string | number)[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? "").length))) ?? [];
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join("  "));
}
