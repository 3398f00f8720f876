/**
 * A queue of byte chunks from which whole frames are taken as lists of slices, so large chunks
 * are never copied. Many tiny chunks are coalesced, which bounds the number of pieces per frame.
 */

const COALESCE_BELOW = 16 * 1024;
const MAX_PIECES = 64;

export class FrameBuffer {
  private pieces: Buffer[] = [];
  private bytes = 0;

  /** Bytes held. */
  get length(): number {
    return this.bytes;
  }

  add(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pieces.push(chunk);
    this.bytes += chunk.length;
    if (this.pieces.length > MAX_PIECES && chunk.length < COALESCE_BELOW) {
      this.pieces = [Buffer.concat(this.pieces, this.bytes)];
    }
  }

  /** Removes and returns the first `n` bytes (n ≤ length) as slices of the held chunks. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const p = this.pieces[0] as Buffer;
      if (p.length <= need) {
        out.push(p);
        this.pieces.shift();
        need -= p.length;
      } else {
        out.push(p.subarray(0, need));
        this.pieces[0] = p.subarray(need);
        need = 0;
      }
    }
    this.bytes -= n;
    return out;
  }
}
