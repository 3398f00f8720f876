/**
 * `encryptStream`: a Node Transform that encrypts a byte stream into a rekey message with memory
 * bounded by the frame length. Input chunks are fed to the cipher as they are (no copy) once a
 * whole frame is buffered; a frame is written only when full, and the final frame (possibly
 * empty) at the end, so the writer never needs to look ahead.
 */
import { Transform, type TransformCallback } from "node:stream";
import { LimitError } from "../errors.js";
import { concatBytes } from "../format/bytes.js";
import { MAX_SEQUENCE_NUMBER } from "../format/constants.js";
import { finalFrameHeader, regularFrameHeader } from "../format/frame.js";
import { sealFrame } from "../crypto/frame-cipher.js";
import { zeroize } from "../crypto/derive.js";
import type { EncryptOptions } from "./options.js";
import { resolveFrameLength, resolveSigned, startMessage, type SealedStart } from "./seal.js";
import { FrameBuffer } from "./frame-buffer.js";

/**
 * Creates an encrypting Transform stream. The KMS call happens when the first chunk (or the end)
 * arrives; its failure is the stream's error.
 *
 * @example
 * ```ts
 * await pipeline(createReadStream("in"), encryptStream({ keyring }), createWriteStream("in.rkey"));
 * ```
 */
export function encryptStream(options: EncryptOptions): Transform {
  return new EncryptTransform(options);
}

class EncryptTransform extends Transform {
  private readonly options: EncryptOptions;
  private started: SealedStart | undefined;
  private pending: FrameBuffer | undefined;
  private sequence = 1;

  constructor(options: EncryptOptions) {
    super();
    // A bad option fails here, when the stream is made, not when the first chunk arrives.
    resolveFrameLength(options.frameLength);
    resolveSigned(options.signed);
    this.options = options;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.started) {
      this.absorb(chunk, callback);
      return;
    }
    this.start().then((live) => (live ? this.absorb(chunk, callback) : callback()), callback);
  }

  override _flush(callback: TransformCallback): void {
    const finish = (): void => {
      try {
        const s = this.started as SealedStart;
        const pending = this.pending as FrameBuffer;
        const rest = pending.length;
        const pieces = pending.take(rest);
        this.body(finalFrameHeader(this.sequence, rest));
        for (const b of sealFrame(s.contentKey, s.messageId, this.sequence, true, pieces, rest)) this.body(b);
        if (s.signer) this.push(s.signer.finish());
        zeroize(s.contentKey);
        callback();
      } catch (e) {
        callback(e as Error);
      }
    };
    if (this.started) finish();
    else this.start().then((live) => (live ? finish() : callback()), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    zeroize(this.started?.contentKey);
    callback(error);
  }

  /** Starts the message; false when the stream was destroyed while the keyring worked. */
  private async start(): Promise<boolean> {
    const s = await startMessage(this.options);
    if (this.destroyed) {
      // _destroy has already run and could not zero a key that did not exist yet.
      zeroize(s.contentKey);
      return false;
    }
    this.started = s;
    this.pending = new FrameBuffer();
    this.push(concatBytes(s.prefix));
    return true;
  }

  /** Writes body bytes, which a signed message's signature covers. */
  private body(bytes: Uint8Array): void {
    this.started?.signer?.update(bytes);
    this.push(bytes);
  }

  private absorb(chunk: Buffer, callback: TransformCallback): void {
    try {
      const s = this.started as SealedStart;
      const pending = this.pending as FrameBuffer;
      pending.add(chunk);
      while (pending.length >= s.frameLength) {
        if (this.sequence >= MAX_SEQUENCE_NUMBER)
          throw new LimitError("stream needs more frames than the format allows");
        const pieces = pending.take(s.frameLength);
        this.body(regularFrameHeader(this.sequence));
        for (const b of sealFrame(s.contentKey, s.messageId, this.sequence, false, pieces, s.frameLength))
          this.body(b);
        this.sequence++;
      }
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }
}
