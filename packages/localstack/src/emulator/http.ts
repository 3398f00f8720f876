/** Small HTTP helpers shared by the emulator's server and handlers. */
import type { IncomingMessage } from "node:http";

/** A request body read up to a size limit. */
export interface ReadBody {
  /** The bytes read, at most the limit. */
  body: Buffer;
  /** True when the request carried more than the limit; the excess was read and dropped. */
  tooLarge: boolean;
}

/**
 * Reads a request body completely, keeping at most `limit` bytes.
 *
 * The rest is still consumed rather than left on the socket: an answer sent before the body is
 * drained would leave unread bytes in a keep-alive connection and corrupt the next request.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      if (size + chunk.length > limit) {
        tooLarge = true;
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    req.on("end", () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("request aborted")));
  });
}
