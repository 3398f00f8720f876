/**
 * Benchmark helpers: chunked sources, discarding sinks, interleaved rounds with their
 * min/median/max, and a report printed as it runs and kept as Markdown for BENCHMARKS.md.
 */
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

/** Seconds taken by `f`. */
export async function seconds(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}

/** CPU seconds (user + system) of this process while `f` runs, and `f`'s result. */
export async function withCpu<T>(f: () => Promise<T>): Promise<{ value: T; cpu: number }> {
  const before = process.cpuUsage();
  const value = await f();
  const used = process.cpuUsage(before);
  return { value, cpu: (used.user + used.system) / 1e6 };
}

/** Seconds taken by `n` sequential calls of `f`. */
export function loop(n: number, f: () => unknown): () => Promise<number> {
  return () =>
    seconds(async () => {
      for (let i = 0; i < n; i++) await f();
    });
}

/** The smallest, middle and largest of a set of measurements. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** {@link Spread} of `xs` (the median of an even count is the mean of the middle two). */
export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { min: s[0] as number, median, max: s[s.length - 1] as number };
}

/**
 * Runs every measurement once per round, in turn, the order reversed every other round (a, b, c,
 * c, b, a, a, b, c, …), for `rounds` rounds, and returns each one's results in round order. Every
 * side gets the same number of rounds; a drift of the machine's speed during the run weighs on
 * all of them alike, and no side always comes right after the same other one (the collection of
 * what a side left behind falls on the side that follows it).
 */
export async function interleave<K extends string>(
  rounds: number,
  sides: Record<K, () => Promise<number>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(sides) as K[];
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++)
    for (const n of r % 2 === 0 ? names : [...names].reverse()) out[n].push(await sides[n]());
  return out;
}

/**
 * Per-round ratios `base[i] / measured[i]` of two interleaved series of times: the speed of the
 * measured side relative to the baseline of the same round (above 1: faster than the baseline).
 */
export function speedRatios(measured: readonly number[], base: readonly number[]): Spread {
  return spread(measured.map((t, i) => (base[i] as number) / t));
}

/** Rates `work / seconds` of a series of times. */
export function rates(times: readonly number[], work: number): Spread {
  return spread(times.map((t) => work / t));
}

export const MiB = 1024 * 1024;
export const fmt = (x: number, d = 0): string =>
  d === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(d);

/** `median (min–max)`, e.g. for MB/s. */
export function fmtSpread(s: Spread, d = 0): string {
  return `${fmt(s.median, d)} (${fmt(s.min, d)}–${fmt(s.max, d)})`;
}

/** A ratio as `0.97× (0.91–1.02)`. */
export function fmtRatio(s: Spread): string {
  return `${fmt(s.median, 2)}× (${fmt(s.min, 2)}–${fmt(s.max, 2)})`;
}

/**
 * What a run prints, kept as Markdown: headings, paragraphs and tables go to the console as they
 * are measured and into {@link Report.markdown} for BENCHMARKS.md.
 */
export class Report {
  private readonly lines: string[] = [];

  heading(text: string, level = 2): void {
    console.log(`\n${"#".repeat(level)} ${text}`);
    this.lines.push(`${"#".repeat(level)} ${text}`, "");
  }

  para(text: string): void {
    console.log(text);
    this.lines.push(text, "");
  }

  table(rows: readonly (readonly (string | number)[])[]): void {
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? "").length))) ?? [];
    for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join("  "));
    const [head, ...body] = rows;
    if (!head) return;
    this.lines.push(`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`);
    for (const r of body) this.lines.push(`| ${r.join(" | ")} |`);
    this.lines.push("");
  }

  markdown(): string {
    return this.lines.join("\n");
  }
}
