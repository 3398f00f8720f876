/**
 * A queue of byte chunks from which whole frames are taken as lists of slices, so large chunks
 * are never copied. Small chunks are copied once into a tail block instead of being queued one by
 * one: the number of pieces per frame, and the work per byte, stay bounded whatever the chunk
 * sizes (a stream of 1-byte writes costs one copy per byte, never a re-copy of what is queued).
 */

/** Chunks smaller than this are coalesced into the tail block. */
const COALESCE_BELOW = 16 * 1024;
/** Size of a tail block. */
const TAIL_BLOCK = 64 * 1024;

export class FrameBuffer {
  private readonly pieces: Buffer[] = [];
  private bytes = 0;
  private tail: Buffer | undefined;
  private tailLength = 0;

  /** Bytes held. */
  get length(): number {
    return this.bytes;
  }

  add(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.bytes += chunk.length;
    if (chunk.length >= COALESCE_BELOW) {
      this.sealTail();
      this.pieces.push(chunk);
      return;
    }
    if (!this.tail || this.tailLength + chunk.length > this.tail.length) {
      this.sealTail();
      this.tail = Buffer.allocUnsafe(TAIL_BLOCK);
    }
    chunk.copy(this.tail, this.tailLength);
    this.tailLength += chunk.length;
  }

  /** Removes and returns the first `n` bytes (n ≤ length) as slices of the held chunks. */
  take(n: number): Buffer[] {
    this.sealTail();
    const out: Buffer[] = [];
    let need = n;
    let i = 0;
    while (need > 0) {
      const p = this.pieces[i] as Buffer;
      if (p.length <= need) {
        out.push(p);
        i++;
        need -= p.length;
      } else {
        out.push(p.subarray(0, need));
        this.pieces[i] = p.subarray(need);
        need = 0;
      }
    }
    this.pieces.splice(0, i);
    this.bytes -= n;
    return out;
  }

  private sealTail(): void {
    if (this.tail && this.tailLength > 0) this.pieces.push(this.tail.subarray(0, this.tailLength));
    this.tail = undefined;
    this.tailLength = 0;
  }
}
