/**
 * `decryptStream`: a Node Transform that decrypts a rekey message with memory bounded by the frame
 * length. A frame's plaintext is released only after its tag verifies; a stream that ends before
 * the final frame, or carries bytes after it, errors instead of ending quietly.
 *
 * States: `prefix` (collect header + wrapped keys, bounded by the header limits) → `opening`
 * (unwrap, commitment, header tag) → per frame `frame-header` → `ciphertext` → `tag` → … →
 * (signed messages) `signature` → `done`. A signed message's frames are released as they verify;
 * its signature is checked after the final frame, and a failure there errors the stream.
 */
import { Transform, type TransformCallback } from "node:stream";
import { DecryptError, FormatError, LimitError } from "../errors.js";
import {
  FINAL_FRAME_HEADER,
  HEADER_FIXED,
  resolveLimits,
  SIGNATURE_LENGTH,
  TAG_LENGTH,
  type FormatLimits,
} from "../format/constants.js";
import type { MessageHeader } from "../format/header.js";
import { parseMessagePrefix, type MessagePrefix } from "../format/message.js";
import { FrameOpener } from "../crypto/frame-cipher.js";
import { zeroize } from "../crypto/derive.js";
import { MessageVerifier } from "../crypto/signature.js";
import { nextFrameHeader, openMessage } from "./open.js";
import { FrameBuffer } from "./frame-buffer.js";
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

type State = "prefix" | "frame-header" | "ciphertext" | "tag" | "signature" | "done";

/** Ciphertext is handed to the cipher once this much is staged (or the frame's ciphertext ends). */
const STAGE_BYTES = 64 * 1024;

class DecryptTransform extends Transform {
  private readonly options: DecryptOptions;
  private readonly limits: FormatLimits;
  private state: State = "prefix";
  /** Prefix bytes collected so far, and how many the parser needs before it can say more. */
  private readonly head = new FrameBuffer();
  private headNeed: number = HEADER_FIXED.context;
  /** Small ciphertext slices waiting to be fed to the cipher together (see `feed`). */
  private readonly staged = new FrameBuffer();
  private header: MessageHeader | undefined;
  private contentKey: Buffer | undefined;
  private sequence = 1;
  private small = Buffer.alloc(Math.max(FINAL_FRAME_HEADER, TAG_LENGTH));
  private smallLength = 0;
  private opener: FrameOpener | undefined;
  private final = false;
  private remaining = 0;
  /** Signed messages: the signature check, fed the header and every body byte. */
  private verifier: MessageVerifier | undefined;
  private readonly signature = Buffer.alloc(SIGNATURE_LENGTH);
  private signatureLength = 0;

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
    // Parse only once enough bytes arrived for the parser to make progress: re-parsing on every
    // small chunk would make a hostile sender's 1-byte writes quadratic.
    this.head.add(chunk);
    if (this.head.length < this.headNeed) {
      callback();
      return;
    }
    const bytes = Buffer.concat(this.head.take(this.head.length));
    let parsed;
    try {
      parsed = parseMessagePrefix(bytes, this.limits);
    } catch (e) {
      callback(e as Error);
      return;
    }
    if (parsed.status === "need") {
      this.headNeed = parsed.minBytes;
      this.head.add(bytes);
      callback();
      return;
    }
    const prefix = parsed.value;
    const rest = bytes.subarray(prefix.bodyOffset);
    openMessage(prefix, this.options).then((key) => {
      if (this.destroyed) {
        // Destroyed while KMS answered: _destroy has run, so the key is zeroed here.
        zeroize(key);
        return;
      }
      this.contentKey = key;
      this.header = prefix.header;
      if (prefix.header.signingKey !== undefined) {
        this.verifier = new MessageVerifier(prefix.header.signingKey);
        this.verifier.update(bytes.subarray(0, prefix.header.headerLength));
      }
      this.state = "frame-header";
      try {
        this.emit("header", prefix);
      } catch (e) {
        callback(e as Error);
        return;
      }
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
          this.verifier?.update(chunk.subarray(at, at + n));
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
          const piece = chunk.subarray(at, at + n);
          this.verifier?.update(piece);
          this.remaining -= n;
          at += n;
          // Feed the cipher in large pieces: one held output buffer per tiny input chunk would
          // let a sender of 4-byte chunks inflate a frame's memory many times over. A piece that
          // is large, or ends the frame with nothing staged, goes to the cipher as it is (no copy).
          const opener = this.opener as FrameOpener;
          if (this.staged.length === 0 && (this.remaining === 0 || n >= STAGE_BYTES)) opener.update(piece);
          else {
            this.staged.add(piece);
            if (this.remaining === 0 || this.staged.length >= STAGE_BYTES) {
              for (const p of this.staged.take(this.staged.length)) opener.update(p);
            }
          }
          if (this.remaining === 0) this.state = "tag";
          break;
        }
        case "tag": {
          const n = Math.min(TAG_LENGTH - this.smallLength, chunk.length - at);
          this.verifier?.update(chunk.subarray(at, at + n));
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
            this.state = this.verifier ? "signature" : "done";
            zeroize(this.contentKey);
          } else this.state = "frame-header";
          break;
        }
        case "signature": {
          // Frames already released verified one by one; the message as a whole verifies here,
          // and the stream fails (at its end at the latest) if it does not.
          const n = Math.min(SIGNATURE_LENGTH - this.signatureLength, chunk.length - at);
          chunk.copy(this.signature, this.signatureLength, at, at + n);
          this.signatureLength += n;
          at += n;
          if (this.signatureLength < SIGNATURE_LENGTH) break;
          if (!(this.verifier as MessageVerifier).finish(this.signature)) throw new DecryptError();
          this.state = "done";
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
