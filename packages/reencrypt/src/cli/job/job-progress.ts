/**
 * Progress of a running job: a `cli-progress` bar on a terminal (objects, bytes, rate, ETA,
 * errors), JSON lines with `--json` (one `object` event per finished object, a `progress` event
 * every few seconds), and a plain line every 10 s otherwise (logs of a non-interactive run).
 *
 * The source is streamed, so its total is not known until it has been read to the end: until
 * then the display says "listing…" with the objects found so far and no ETA (an ETA against a
 * total that keeps growing is meaningless); from then on it shows the total and the ETA. The
 * bytes shown are the job's own counter of the objects' sizes — the number the summary and the
 * report give as the objects' bytes (`bytes.objects`, a plan's `bytes`).
 */
import cliProgress, { type Options, type Params } from "cli-progress";
import { describeRef } from "../../model/object-ref.js";
import type { ObjectResult } from "../../model/object-result.js";
import type { JobCounters } from "../../support/job-counters.js";
import type { OutputStream } from "../util/context.js";
import { formatBytes } from "./parse-size.js";

/** Receives the job's events. */
export interface JobProgress {
  /** An entry came out of the source. */
  discovered(): void;
  /** The source has been read to its end: the count of discovered entries is the total. */
  listed(): void;
  /** An object finished. */
  finished(result: ObjectResult): void;
  /** An object was planned (dry run); `failed` when its header could not be read. */
  planned(failed: boolean): void;
  /** Prints a message without breaking the bar. */
  message(line: string): void;
  /** Stops the display. */
  stop(): void;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  readonly mode: "bar" | "json" | "lines" | "none";
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly counters: () => JobCounters | undefined;
  /** Period of `progress` events / lines. @default 5000 (json), 10000 (lines) */
  readonly intervalMs?: number;
}

/** The bar while the source is still being read: what is done and found, no ETA. */
const LISTING_FORMAT =
  "listing… {value} done, {total} found so far | {bytes} | {rate} obj/s | errors {errors}";
/** The bar once the total is known. */
const TOTAL_FORMAT =
  "{bar} {value}/{total} objects | {bytes} | {rate} obj/s | ETA {eta_formatted} | errors {errors}";

// cli-progress is CommonJS, and Node's named-export detection does not see its `Format`.
const { Format, SingleBar } = cliProgress;

interface BarPayload {
  readonly listing: boolean;
  readonly bytes: string;
  readonly rate: string;
  readonly errors: number;
}

/**
 * Starts a progress display.
 *
 * @example
 * ```ts
 * const progress = startProgress({ mode: "bar", stdout, stderr, counters: () => ctx?.counters });
 * ```
 */
export function startProgress(o: ProgressOptions): JobProgress {
  const started = performance.now();
  let seen = 0;
  let done = 0;
  let errors = 0;
  let listing = true;
  const bytes = (): number => o.counters()?.bytes.objects ?? 0;
  const count = (failed: boolean): void => {
    done++;
    if (failed) errors++;
  };
  const rate = (): number => done / Math.max(0.001, (performance.now() - started) / 1000);
  const snapshot = () => ({
    event: "progress",
    listing,
    discovered: seen,
    finished: done,
    errors,
    objectBytes: bytes(),
    objectsPerSecond: Math.round(rate() * 10) / 10,
  });

  if (o.mode === "bar") {
    const bar = new SingleBar({
      stream: o.stderr,
      format: (options: Options, params: Params, payload: BarPayload) =>
        Format.Formatter(
          { ...options, format: payload.listing ? LISTING_FORMAT : TOTAL_FORMAT },
          params,
          payload,
        ),
      hideCursor: true,
      etaBuffer: 200,
      fps: 5,
      barsize: 24,
    });
    // The bar starts with the first object, after the job's first lines (its target) are out.
    let shown = false;
    const payload = (): BarPayload => ({
      listing,
      bytes: formatBytes(bytes()),
      rate: rate().toFixed(1),
      errors,
    });
    return {
      discovered() {
        seen++;
        if (!shown) {
          shown = true;
          bar.start(seen, done, payload());
        } else bar.setTotal(seen);
      },
      listed() {
        listing = false;
        if (shown) {
          bar.setTotal(seen);
          bar.update(done, payload());
        }
      },
      finished(r) {
        count(isError(r));
        bar.update(done, payload());
      },
      planned(failed) {
        count(failed);
        bar.update(done, payload());
      },
      message(line) {
        // Clear the bar's line, print, and save the cursor again: cli-progress restores the
        // position it saved at start when it stops, which a printed line has moved.
        o.stderr.write(`\r\x1b[2K${line}\n${shown ? "\x1b7" : ""}`);
      },
      stop() {
        if (!shown) return;
        bar.update(done, payload());
        bar.stop();
      },
    };
  }

  const every = o.intervalMs ?? (o.mode === "json" ? 5000 : 10_000);
  const timer =
    o.mode === "none"
      ? undefined
      : setInterval(() => {
          if (o.mode === "json") o.stdout.write(`${JSON.stringify(snapshot())}\n`);
          else
            o.stderr.write(
              `progress: ${listing ? `${done} done, ${seen} found so far (listing…)` : `${done}/${seen}`} objects, ${formatBytes(bytes())}, ${rate().toFixed(1)} obj/s, ${errors} error(s)\n`,
            );
        }, every);
  timer?.unref();
  return {
    discovered() {
      seen++;
    },
    listed() {
      listing = false;
    },
    planned: count,
    finished(r) {
      count(isError(r));
      if (o.mode === "json")
        o.stdout.write(
          `${JSON.stringify({
            event: "object",
            object: describeRef(r.ref),
            outcome: r.outcome,
            ...(r.code ? { code: r.code } : {}),
            ...(r.outcome === "rewrapped" || r.outcome === "reencrypted" || r.outcome === "current"
              ? {}
              : { reason: r.reason }),
            ...(r.newEtag ? { newEtag: r.newEtag } : {}),
            durationMs: Math.round(r.durationMs),
          })}\n`,
        );
    },
    message(line) {
      if (o.mode === "json") o.stdout.write(`${JSON.stringify({ event: "message", message: line })}\n`);
      else o.stderr.write(`${line}\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

/** Outcomes the display counts as errors. */
function isError(r: ObjectResult): boolean {
  return r.outcome === "failed" || r.outcome === "conflict" || r.outcome === "unreadable";
}
