/**
 * Decoder of the `aws-chunked` content encoding, fed as bytes arrive so a body is never held
 * whole. The wire form (after HTTP's own transfer decoding) is:
 *
 * ```
 * <hex size>[;chunk-signature=<sig>]\r\n <size bytes>\r\n   ... repeated ...
 * 0[;chunk-signature=<sig>]\r\n
 * <trailer name>:<value>\r\n ...                              (optional)
 * \r\n                                                        (optional when no trailer)
 * ```
 *
 * Data comes out as sub-arrays of the input chunks (no copy). Only the small framing lines are
 * buffered, and they are bounded, so a hostile body cannot grow memory. Chunk signatures are
 * not verified: the emulator does not check request signatures at all.
 */
import { S3Error } from "./errors.js";

const CR = 0x0d;
const LF = 0x0a;
/** Longest framing line accepted: a size plus a 64-hex-digit signature fits easily. */
const MAX_LINE = 4096;
/** Most trailer bytes accepted (a few checksum and signature trailers). */
const MAX_TRAILERS = 16 * 1024;

type State = "size" | "data" | "data-crlf" | "trailer" | "done";

function malformed(detail: string): S3Error {
  return new S3Error("IncompleteBody", { message: `The aws-chunked body is malformed: ${detail}.` });
}

/**
 * Incremental `aws-chunked` decoder.
 *
 * @example
 * ```ts
 * const decoder = new AwsChunkedDecoder();
 * for await (const chunk of req) for (const data of decoder.push(chunk)) sink(data);
 * const trailers = decoder.finish();
 * ```
 */
export class AwsChunkedDecoder {
  private state: State = "size";
  private line: number[] = [];
  private remaining = 0;
  private crlfSeen = 0;
  private trailerBytes = 0;
  private readonly trailerMap = new Map<string, string>();

  /** Feeds bytes; returns the decoded data they contained (possibly none). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case "data": {
          const take = Math.min(this.remaining, chunk.length - i);
          out.push(chunk.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.state = "data-crlf";
            this.crlfSeen = 0;
          }
          break;
        }
        case "data-crlf": {
          const expected = this.crlfSeen === 0 ? CR : LF;
          if (chunk[i] !== expected) throw malformed("a chunk is not followed by CRLF");
          i++;
          if (++this.crlfSeen === 2) this.state = "size";
          break;
        }
        case "size":
        case "trailer": {
          const line = this.readLine(chunk, i);
          i = line.next;
          if (line.text !== undefined) this.onLine(line.text);
          break;
        }
        case "done":
          throw malformed("bytes follow the final chunk");
      }
    }
    return out;
  }

  /**
   * Ends the body. Returns the trailers (lower-case names); throws if the body stopped
   * mid-chunk or before the final zero-size chunk.
   */
  finish(): ReadonlyMap<string, string> {
    // Without a trailer the SDK ends right after "0\r\n", with no closing empty line.
    const endedBetweenLines = this.state === "trailer" && this.line.length === 0;
    if (this.state !== "done" && !endedBetweenLines) throw malformed("the body ended early");
    return this.trailerMap;
  }

  /** Accumulates up to a CRLF; returns the line once complete. */
  private readLine(chunk: Buffer, start: number): { next: number; text?: string } {
    const end = chunk.indexOf(LF, start);
    const stop = end === -1 ? chunk.length : end + 1;
    for (let j = start; j < stop; j++) this.line.push(chunk[j]!);
    if (this.line.length > MAX_LINE) throw malformed("a framing line is too long");
    if (end === -1) return { next: stop };
    const bytes = this.line;
    this.line = [];
    if (bytes.length < 2 || bytes[bytes.length - 2] !== CR) throw malformed("a line does not end in CRLF");
    return { next: stop, text: Buffer.from(bytes.slice(0, -2)).toString("latin1") };
  }

  private onLine(text: string): void {
    if (this.state === "size") {
      const sizeText = text.split(";", 1)[0]!.trim();
      if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) throw malformed(`bad chunk size "${sizeText}"`);
      const size = parseInt(sizeText, 16);
      if (size === 0) {
        this.state = "trailer";
      } else {
        this.state = "data";
        this.remaining = size;
      }
      return;
    }
    // Trailer section: "name:value" lines, then an empty line.
    if (text === "") {
      this.state = "done";
      return;
    }
    this.trailerBytes += text.length;
    if (this.trailerBytes > MAX_TRAILERS) throw malformed("trailers are too long");
    const colon = text.indexOf(":");
    if (colon <= 0) throw new S3Error("MalformedTrailerError");
    this.trailerMap.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
  }
}
