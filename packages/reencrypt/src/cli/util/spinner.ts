/**
 * A one-line progress indicator on a terminal's stderr (nothing at all when stderr is not a
 * terminal, so logs and pipes stay clean).
 */
import type { OutputStream } from "./context.js";

const FRAMES = ["|", "/", "-", "\\"];

/** A running indicator. */
export interface Spinner {
  /** Changes the text after the indicator. */
  update(text: string): void;
  /** Clears the line and stops (idempotent). */
  stop(): void;
}

/**
 * Starts an indicator on `stream` if it is a terminal.
 *
 * @example
 * ```ts
 * const s = startSpinner(ctx.stderr, "waiting for new key material");
 * try { await work(); } finally { s.stop(); }
 * ```
 */
export function startSpinner(stream: OutputStream, text: string): Spinner {
  if (stream.isTTY !== true) return { update: () => {}, stop: () => {} };
  let frame = 0;
  let current = text;
  let stopped = false;
  const draw = () => {
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${current}`);
  };
  draw();
  const timer = setInterval(draw, 120);
  timer.unref();
  return {
    update: (t) => {
      current = t;
      draw();
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}
