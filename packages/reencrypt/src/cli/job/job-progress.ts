/**
 * Progress of a running job: a `cli-progress` bar on a terminal (objects, bytes, rate, ETA,
 * errors), JSON lines with `--json` (one `object` event per finished object, a `progress` event
 * every few seconds), and a plain line every 10 s otherwise (logs of a non-interactive run).
 */
import { SingleBar } from "cli-progress";
import { describeRef } from "../../model/object-ref.js";
import type { ObjectResult } from "../../model/object-result.js";
import type { JobCounters } from "../../support/job-counters.js";
import type { OutputStream } from "../util/context.js";
import { formatBytes } from "./parse-size.js";

/** Receives the job's events. */
export interface JobProgress {
  /** An entry came out of the source. */
  discovered(): void;
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
  const bytes = (): number => {
    const c = o.counters();
    return c ? c.bytes.read + c.bytes.written : 0;
  };
  const count = (failed: boolean): void => {
    done++;
    if (failed) errors++;
  };
  const rate = (): number => done / Math.max(0.001, (performance.now() - started) / 1000);
  const snapshot = () => ({
    event: "progress",
    discovered: seen,
    finished: done,
    errors,
    bytesThroughJob: bytes(),
    objectsPerSecond: Math.round(rate() * 10) / 10,
  });

  if (o.mode === "bar") {
    const bar = new SingleBar({
      stream: o.stderr,
      format:
        "{bar} {value}/{total} objects | {moved} | {rate} obj/s | ETA {eta_formatted} | errors {errors}",
      hideCursor: true,
      etaBuffer: 200,
      fps: 5,
      barsize: 24,
    });
    // The bar starts with the first object, after the job's first lines (its target) are out.
    let shown = false;
    const payload = () => ({ moved: formatBytes(bytes()), rate: rate().toFixed(1), errors });
    return {
      discovered() {
        seen++;
        if (!shown) {
          shown = true;
          bar.start(seen, done, payload());
        } else bar.setTotal(seen);
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
              `progress: ${done}/${seen} objects, ${formatBytes(bytes())} through the job, ${rate().toFixed(1)} obj/s, ${errors} error(s)\n`,
            );
        }, every);
  timer?.unref();
  return {
    discovered() {
      seen++;
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
