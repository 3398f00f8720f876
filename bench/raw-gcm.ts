/**
 * The baseline: framed AES-256-GCM with node:crypto and nothing else — no header, no key
 * derivation, no AAD, no frame headers. Same frame buffering strategy as a careful hand-written
 * stream: whole frames of input slices fed to one cipher each, no copies of large chunks.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

function iv(seq: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(seq, 8);
  return b;
}

class Pending {
  pieces: Buffer[] = [];
  bytes = 0;
  add(c: Buffer): void {
    this.pieces.push(c);
    this.bytes += c.length;
  }
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

/** Encrypts frames of `frameLength` (the last may be shorter): ciphertext || tag per frame. */
export function rawEncryptStream(key: Buffer, frameLength: number): Transform {
  const pending = new Pending();
  let seq = 1;
  const seal = (t: Transform, pieces: Buffer[]): void => {
    const c = createCipheriv("aes-256-gcm", key, iv(seq++));
    for (const p of pieces) t.push(c.update(p));
    c.final();
    t.push(c.getAuthTag());
  };
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      pending.add(chunk);
      while (pending.bytes >= frameLength) seal(this, pending.take(frameLength));
      cb();
    },
    flush(cb) {
      seal(this, pending.take(pending.bytes));
      cb();
    },
  });
}

/** Decrypts what {@link rawEncryptStream} wrote, releasing a frame only after its tag verifies. */
export function rawDecryptStream(key: Buffer, frameLength: number): Transform {
  const pending = new Pending();
  let seq = 1;
  const open = (t: Transform, n: number): void => {
    const pieces = pending.take(n);
    const tag = Buffer.concat(pending.take(16));
    const d = createDecipheriv("aes-256-gcm", key, iv(seq++));
    d.setAuthTag(tag);
    const out = pieces.map((p) => d.update(p));
    d.final();
    for (const o of out) t.push(o);
  };
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      pending.add(chunk);
      try {
        while (pending.bytes > frameLength + 16) open(this, frameLength);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      try {
        if (pending.bytes >= 16) open(this, pending.bytes - 16);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

/** Buffer API baseline: encrypts a whole buffer into frames. */
export function rawEncrypt(key: Buffer, data: Buffer, frameLength: number): Buffer {
  const out: Buffer[] = [];
  let seq = 1;
  for (let at = 0; at < data.length || at === 0; at += frameLength) {
    const c = createCipheriv("aes-256-gcm", key, iv(seq++));
    out.push(c.update(data.subarray(at, at + frameLength)));
    c.final();
    out.push(c.getAuthTag());
    if (data.length === 0) break;
  }
  return Buffer.concat(out);
}

/** Buffer API baseline: decrypts what {@link rawEncrypt} wrote. */
export function rawDecrypt(key: Buffer, data: Buffer, frameLength: number): Buffer {
  const out: Buffer[] = [];
  let seq = 1;
  for (let at = 0; at < data.length;) {
    const n = Math.min(frameLength, data.length - at - 16);
    const d = createDecipheriv("aes-256-gcm", key, iv(seq++));
    d.setAuthTag(data.subarray(at + n, at + n + 16));
    out.push(d.update(data.subarray(at, at + n)));
    d.final();
    at += n + 16;
  }
  return Buffer.concat(out);
}
