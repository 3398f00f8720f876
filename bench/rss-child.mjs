// @ts-check
/**
 * Streams N GiB through a pipeline in a fresh process and prints its peak RSS. Plain JavaScript on
 * the compiled packages (`pnpm build`), so the figure is what an application sees, without a
 * TypeScript loader in the process.
 *
 *   node bench/rss-child.mjs <passthrough|raw|rekey> <GiB>
 *
 * - passthrough: source -> sink, the process's floor (Node + the imported package + the source).
 * - raw: node:crypto AES-256-GCM, 1 MiB frames, encrypt -> decrypt (the baseline).
 * - rekey: encryptStream -> decryptStream with the default 1 MiB frames.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { decryptStream, encryptStream, RawAesKeyring } from "@rekey/core";

const [mode = "rekey", gib = "4"] = process.argv.slice(2);
const TOTAL = Number(gib) * 1024 ** 3;
const CHUNK = 64 * 1024;
const FRAME = 1024 * 1024;
const data = randomBytes(8 * 1024 * 1024);

let sent = 0;
const source = new Readable({
  highWaterMark: 4 * CHUNK,
  read() {
    if (sent >= TOTAL) return void this.push(null);
    const at = sent % data.length;
    this.push(data.subarray(at, at + CHUNK));
    sent += CHUNK;
  },
});
let received = 0;
const sink = new Writable({
  highWaterMark: 4 * CHUNK,
  write(chunk, _encoding, callback) {
    received += chunk.length;
    callback();
  },
});

/**
 * The baseline: whole frames of input slices through one GCM cipher each, nothing else and no
 * copy — ciphertext || tag per frame on the way in, the same split on the way out.
 * @param {boolean} seal
 */
function rawGcm(seal) {
  const key = Buffer.alloc(32, 7);
  const span = seal ? FRAME : FRAME + 16;
  /** @type {Buffer[]} */
  let held = [];
  let bytes = 0;
  let seq = 0;
  /** @param {number} n */
  const take = (n) => {
    /** @type {Buffer[]} */
    const pieces = [];
    let need = n;
    while (need > 0) {
      const p = /** @type {Buffer} */ (held[0]);
      if (p.length <= need) {
        pieces.push(p);
        held.shift();
        need -= p.length;
      } else {
        pieces.push(p.subarray(0, need));
        held[0] = p.subarray(need);
        need = 0;
      }
    }
    bytes -= n;
    return pieces;
  };
  /** @param {Transform} t @param {number} n bytes of this frame, its tag included when opening */
  const frame = (t, n) => {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(++seq, 8);
    if (seal) {
      const c = createCipheriv("aes-256-gcm", key, iv);
      for (const p of take(n)) t.push(c.update(p));
      c.final();
      t.push(c.getAuthTag());
      return;
    }
    const d = createDecipheriv("aes-256-gcm", key, iv);
    const out = take(n - 16).map((p) => d.update(p));
    // The tag: 16 bytes, at most two slices.
    d.setAuthTag(Buffer.concat(take(16)));
    d.final();
    for (const o of out) t.push(o);
  };
  return new Transform({
    transform(chunk, _encoding, callback) {
      held.push(chunk);
      bytes += chunk.length;
      while (bytes >= span) frame(this, span);
      callback();
    },
    flush(callback) {
      if (bytes > 0) frame(this, bytes);
      held = [];
      callback();
    },
  });
}

const keyring = new RawAesKeyring({ name: "rss", key: randomBytes(32) });
const stages =
  mode === "rekey"
    ? [encryptStream({ keyring }), decryptStream({ keyring })]
    : mode === "raw"
      ? [rawGcm(true), rawGcm(false)]
      : [];
await pipeline([source, ...stages, sink]);
if (received !== TOTAL) throw new Error(`moved ${received} bytes, expected ${TOTAL}`);

// VmHWM, not getrusage: on Linux `process.resourceUsage().maxRSS` carries the parent's peak
// across fork + exec, so a child of a big parent would report the parent's figure.
const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
const peakKiB = hwm === undefined ? process.resourceUsage().maxRSS : Number(hwm);
console.log(JSON.stringify({ mode, gib: Number(gib), maxRssMiB: peakKiB / 1024 }));
