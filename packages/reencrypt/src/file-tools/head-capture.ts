/**
 * A pass-through that keeps a copy of the first bytes of a stream, so a failed decrypt can say
 * which keys the message was for (read from the header) even when the input was stdin.
 */
import { Transform, type TransformCallback } from "node:stream";

/** Header + wrapped-key section can be at most this long under the default limits. */
export const HEAD_CAPTURE_BYTES = 128 * 1024;

/**
 * Passes every chunk through unchanged and keeps the first `limit` bytes.
 *
 * @example
 * ```ts
 * const head = new HeadCapture();
 * await pipeline(input, head, decryptStream({ keyring }), output).catch(() => inspect(head.bytes()));
 * ```
 */
export class HeadCapture extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(private readonly limit = HEAD_CAPTURE_BYTES) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.kept < this.limit) {
      const part = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    callback(null, chunk);
  }

  /** The bytes kept so far. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
