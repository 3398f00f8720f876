/**
 * `decryptStream`: a Node Transform that decrypts a rekey message with memory bounded by the frame
 * length. A frame's plaintext is released only after its tag verifies; a stream that ends before
 * the final frame, or carries bytes after it, errors instead of ending quietly.
 *
 * States: `prefix` (collect header + wrapped keys, bounded by the header limits) → `opening`
 * (unwrap, commitment, header tag) → per frame `frame-header` → `ciphertext` → `tag` → … → `done`.
 */
import { Transform, type TransformCallback } from "node:stream";
import { DecryptError, FormatError, LimitError } from "../errors.js";
import { FINAL_FRAME_HEADER, resolveLimits, TAG_LENGTH, type FormatLimits } from "../format/constants.js";
import type { MessageHeader } from "../format/header.js";
import { parseMessagePrefix, type MessagePrefix } from "../format/message.js";
import { FrameOpener } from "../crypto/frame-cipher.js";
import { zeroize } from "../crypto/derive.js";
import { nextFrameHeader, openMessage } from "./open.js";
import type { DecryptOptions } from "./options.js";

/** A decrypting Transform; emits `header` once the message is authenticated. */
export interface DecryptStream extends Transform {
  on(event: "header", listener: (prefix: MessagePrefix) => void): this;
  on(event: string | symbol, listener: (...args: never[]) => void): this;
}

/**
 * Creates a decrypting Transform stream. It emits `header` (the parsed, authenticated prefix)
 * before the first plaintext byte.
 *
 * @example
 * ```ts
 * await pipeline(createReadStream("in.rkey"), decryptStream({ keyring }), createWriteStream("out"));
 * ```
 */
export function decryptStream(options: DecryptOptions): DecryptStream {
  return new DecryptTransform(options) as DecryptStream;
}

type State = "prefix" | "frame-header" | "ciphertext" | "tag" | "done";

class DecryptTransform extends Transform {
  private readonly options: DecryptOptions;
  private readonly limits: FormatLimits;
  private state: State = "prefix";
  private head: Buffer = Buffer.alloc(0);
  private header: MessageHeader | undefined;
  private contentKey: Buffer | undefined;
  private sequence = 1;
  private small = Buffer.alloc(Math.max(FINAL_FRAME_HEADER, TAG_LENGTH));
  private smallLength = 0;
  private opener: FrameOpener | undefined;
  private final = false;
  private remaining = 0;

  constructor(options: DecryptOptions) {
    super();
    this.options = options;
    this.limits = resolveLimits(options.limits);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.state !== "prefix") {
      this.run(chunk, callback);
      return;
    }
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    let parsed;
    try {
      parsed = parseMessagePrefix(this.head, this.limits);
    } catch (e) {
      callback(e as Error);
      return;
    }
    if (parsed.status === "need") {
      callback();
      return;
    }
    const prefix = parsed.value;
    const rest = this.head.subarray(prefix.bodyOffset);
    this.head = Buffer.alloc(0);
    openMessage(prefix, this.options).then((key) => {
      this.contentKey = key;
      this.header = prefix.header;
      this.state = "frame-header";
      this.emit("header", prefix);
      this.run(rest, callback);
    }, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.state === "done") callback();
    else if (this.state === "prefix") callback(new FormatError("message is truncated before its body"));
    else callback(new DecryptError());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    zeroize(this.contentKey);
    callback(error);
  }

  private run(chunk: Buffer, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  private consume(chunk: Buffer): void {
    const header = this.header as MessageHeader;
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case "frame-header": {
          // Four bytes tell a regular frame from the final one; the final needs eight more.
          const want = this.smallLength < 4 ? 4 : FINAL_FRAME_HEADER;
          const n = Math.min(want - this.smallLength, chunk.length - at);
          chunk.copy(this.small, this.smallLength, at, at + n);
          this.smallLength += n;
          at += n;
          const fh = nextFrameHeader(
            this.small.subarray(0, this.smallLength),
            this.sequence,
            header.frameLength,
          );
          if (!fh) break;
          if (this.sequence > this.limits.maxFrames)
            throw new LimitError("message has more frames than the limit");
          this.final = fh.final;
          this.remaining = fh.contentLength;
          this.opener = new FrameOpener(
            this.contentKey as Buffer,
            header.messageId,
            this.sequence,
            fh.final,
            fh.contentLength,
          );
          this.smallLength = 0;
          this.state = this.remaining > 0 ? "ciphertext" : "tag";
          break;
        }
        case "ciphertext": {
          const n = Math.min(this.remaining, chunk.length - at);
          (this.opener as FrameOpener).update(chunk.subarray(at, at + n));
          this.remaining -= n;
          at += n;
          if (this.remaining === 0) this.state = "tag";
          break;
        }
        case "tag": {
          const n = Math.min(TAG_LENGTH - this.smallLength, chunk.length - at);
          chunk.copy(this.small, this.smallLength, at, at + n);
          this.smallLength += n;
          at += n;
          if (this.smallLength < TAG_LENGTH) break;
          const plain = (this.opener as FrameOpener).finish(this.small.subarray(0, TAG_LENGTH));
          this.smallLength = 0;
          this.opener = undefined;
          if (!plain) throw new DecryptError();
          for (const p of plain) this.push(p);
          this.sequence++;
          if (this.final) {
            this.state = "done";
            zeroize(this.contentKey);
          } else this.state = "frame-header";
          break;
        }
        case "done":
          throw new DecryptError();
        case "prefix":
          throw new FormatError("internal: frame data before the header");
      }
    }
  }
}
