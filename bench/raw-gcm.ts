/**
 * The baseline: framed AES-256-GCM with node:crypto and nothing else — no header, no key
 * derivation, no AAD, no frame headers. Same frame buffering strategy as a careful hand-written
 * stream: whole frames of input slices fed to one cipher each, no copies of large chunks.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
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

/**
 * Buffer API baseline: encrypts a whole buffer into frames and returns the pieces as node:crypto
 * made them (ciphertext, tag, ciphertext, tag, …), without joining them.
 */
export function rawEncryptPieces(key: Buffer, data: Buffer, frameLength: number): Buffer[] {
  const out: Buffer[] = [];
  let seq = 1;
  for (let at = 0; at < data.length || at === 0; at += frameLength) {
    const c = createCipheriv("aes-256-gcm", key, iv(seq++));
    out.push(c.update(data.subarray(at, at + frameLength)));
    c.final();
    out.push(c.getAuthTag());
    if (data.length === 0) break;
  }
  return out;
}

/** Buffer API baseline: {@link rawEncryptPieces} joined into one buffer (one copy). */
export function rawEncrypt(key: Buffer, data: Buffer, frameLength: number): Buffer {
  return Buffer.concat(rawEncryptPieces(key, data, frameLength));
}

/**
 * Buffer API baseline: decrypts what {@link rawEncrypt} wrote. Like rekey's `decrypt`, a message
 * of one frame returns the cipher's output as is; only several frames are joined (one copy).
 */
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
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
}

const SMALL_INFO = Buffer.from("raw floor\x01", "latin1");
const ZERO_IV = Buffer.alloc(12);
const ONE_IV = Buffer.concat([Buffer.alloc(11), Buffer.of(1)]);

/**
 * HKDF-SHA512 (RFC 5869) of one 32-byte key: an extract and one expand block, the fastest way to
 * it on node:crypto (two `createHmac` take less time than one `hkdfSync` on Node 20).
 */
function hkdf32(dataKey: Buffer, salt: Buffer): Buffer {
  const prk = createHmac("sha512", salt).update(dataKey).digest();
  return createHmac("sha512", prk).update(SMALL_INFO).digest().subarray(0, 32);
}

let ids = Buffer.alloc(0);
let idAt = 0;
/** A random 32-byte id from a pool filled 128 ids at a time, as rekey draws its message ids. */
function nextId(): Buffer {
  if (idAt + 32 > ids.length) {
    ids = randomBytes(128 * 32);
    idAt = 0;
  }
  idAt += 32;
  return ids.subarray(idAt - 32, idAt);
}

/**
 * The floor of a small message with a known data key: a random 32-byte message id (drawn from a
 * pool, as rekey draws its own), a key
 * derived from it with HKDF-SHA512, one AES-256-GCM with the id as AAD; the message is
 * id || ciphertext || tag in one buffer.
 */
export function rawSmallEncrypt(dataKey: Buffer, plaintext: Buffer): Buffer {
  const id = nextId();
  const c = createCipheriv("aes-256-gcm", hkdf32(dataKey, id), ZERO_IV);
  c.setAAD(id);
  const ct = c.update(plaintext);
  c.final();
  return Buffer.concat([id, ct, c.getAuthTag()]);
}

/** Opens what {@link rawSmallEncrypt} wrote (the cipher's output, no copy). */
export function rawSmallDecrypt(dataKey: Buffer, message: Buffer): Buffer {
  const id = message.subarray(0, 32);
  const d = createDecipheriv("aes-256-gcm", hkdf32(dataKey, id), ZERO_IV);
  d.setAAD(id);
  d.setAuthTag(message.subarray(message.length - 16));
  const pt = d.update(message.subarray(32, message.length - 16));
  d.final();
  return pt;
}

const COMMIT_INFO = Buffer.from("raw commitment\x01", "latin1");

/** A message's keys in the format floor: HKDF-SHA512, an extract and two expand blocks. */
function floorKeys(dataKey: Buffer, id: Buffer): { key: Buffer; commitment: Buffer } {
  const prk = createHmac("sha512", id).update(dataKey).digest();
  const key = createHmac("sha512", prk).update(SMALL_INFO).digest().subarray(0, 32);
  const commitment = createHmac("sha512", prk).update(COMMIT_INFO).digest().subarray(0, 32);
  return { key, commitment };
}

/** The header tag of the format floor: one AES-256-GCM with `header` as AAD and no plaintext. */
function floorHeaderTag(key: Buffer, header: Buffer): Buffer {
  const h = createCipheriv("aes-256-gcm", key, ZERO_IV);
  h.setAAD(header);
  h.final();
  return h.getAuthTag();
}

/**
 * The floor of rekey's own format for one small message with a known data key: the primitive work
 * the format requires and nothing else — a random 32-byte id, HKDF-SHA512 with two outputs (an
 * extract and two expand blocks: the content key and the key commitment), the header tag (one
 * AES-256-GCM over `header` as AAD, no plaintext) and the body (one AES-256-GCM with the id as
 * AAD), in one buffer. What separates it from {@link rawSmallEncrypt} is the format's cost; what
 * separates rekey from it is rekey's.
 */
export function formatFloorEncrypt(dataKey: Buffer, plaintext: Buffer, header: Buffer): Buffer {
  const id = nextId();
  const { key, commitment } = floorKeys(dataKey, id);
  const headerTag = floorHeaderTag(key, header);
  const c = createCipheriv("aes-256-gcm", key, ONE_IV);
  c.setAAD(id);
  const ct = c.update(plaintext);
  c.final();
  return Buffer.concat([id, commitment, header, headerTag, ct, c.getAuthTag()]);
}

/**
 * The floor of rekey's format for a message of any size with a new data key wrapped by a raw AES
 * key, returned as pieces (as {@link rawEncryptPieces} returns its own): one random draw for the
 * data key and the wrapping IV, the key wrapped with one AES-256-GCM (`header` as AAD), the keys
 * and header tag of {@link formatFloorEncrypt}, then frames of `frameLength` with the format's
 * frame AAD (id, sequence number, final flag, length). The last frame is the final one even when
 * full, as rekey's buffer API writes it, so a plaintext of exactly one frame is one cipher. What separates it from {@link rawEncryptPieces} is the per-message work
 * the format and the keyring require; what separates rekey from it is rekey's.
 */
export function formatFloorPieces(
  wrapKey: Buffer,
  plaintext: Buffer,
  header: Buffer,
  frameLength: number,
): Buffer[] {
  const random = randomBytes(12 + 32);
  const wrapIv = random.subarray(0, 12);
  const dataKey = random.subarray(12);
  const w = createCipheriv("aes-256-gcm", wrapKey, wrapIv);
  w.setAAD(header);
  const wrapped = w.update(dataKey);
  w.final();
  const id = nextId();
  const { key, commitment } = floorKeys(dataKey, id);
  const out = [id, commitment, header, floorHeaderTag(key, header), wrapIv, wrapped, w.getAuthTag()];
  for (let seq = 1, at = 0; ; seq++, at += frameLength) {
    const end = Math.min(at + frameLength, plaintext.length);
    const final = end === plaintext.length;
    const aad = Buffer.allocUnsafe(41);
    id.copy(aad);
    aad.writeUInt32BE(seq, 32);
    aad[36] = final ? 1 : 0;
    aad.writeUInt32BE(end - at, 37);
    const c = createCipheriv("aes-256-gcm", key, iv(seq));
    c.setAAD(aad);
    out.push(c.update(plaintext.subarray(at, end)));
    c.final();
    out.push(c.getAuthTag());
    if (final) return out;
  }
}

/** Opens what {@link formatFloorEncrypt} wrote: commitment compared, both tags verified. */
export function formatFloorDecrypt(dataKey: Buffer, message: Buffer, headerLength: number): Buffer {
  const id = message.subarray(0, 32);
  const { key, commitment } = floorKeys(dataKey, id);
  if (!timingSafeEqual(commitment, message.subarray(32, 64))) throw new Error("commitment");
  const headerEnd = 64 + headerLength;
  const h = createDecipheriv("aes-256-gcm", key, ZERO_IV);
  h.setAAD(message.subarray(64, headerEnd));
  h.setAuthTag(message.subarray(headerEnd, headerEnd + 16));
  h.final();
  const d = createDecipheriv("aes-256-gcm", key, ONE_IV);
  d.setAAD(id);
  d.setAuthTag(message.subarray(message.length - 16));
  const pt = d.update(message.subarray(headerEnd + 16, message.length - 16));
  d.final();
  return pt;
}
