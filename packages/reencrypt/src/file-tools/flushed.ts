/**
 * Waiting until a stream that is never ended (stdout, stderr) has handed every byte written so
 * far to the operating system. A pipeline into such a stream resolves when its source ends, while
 * the last chunks may still be queued: on a pipe, writes complete asynchronously once the reader
 * makes room, and `process.exit()` drops whatever is still queued.
 */
import type { Writable } from "node:stream";

/**
 * Resolves once every write issued before the call has completed, or at once when nothing is
 * pending or the stream can take no more (ended, destroyed). Never rejects: a write error is the
 * stream's `'error'` to report.
 *
 * @example
 * ```ts
 * await pipeline(input, decryptStream({ keyring }), process.stdout, { end: false });
 * await flushed(process.stdout);
 * process.exit(0);
 * ```
 */
export function flushed(stream: Writable): Promise<void> {
  if (stream.writableLength === 0 || stream.writableEnded || stream.destroyed) return Promise.resolve();
  // Writes complete in order: the callback of an empty write comes after those queued before it.
  return new Promise((resolve) => {
    stream.write("", () => resolve());
  });
}
