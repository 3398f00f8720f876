/** Streams 4 GiB through rekey encrypt -> decrypt (or straight through) and prints peak RSS. */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { decryptStream, encryptStream, RawAesKeyring } from "@rekey/core";
import { sink, source } from "./lib.js";

const TOTAL = 4 * 1024 * 1024 * 1024;
const data = randomBytes(8 * 1024 * 1024);
const keyring = new RawAesKeyring({ name: "rss", key: randomBytes(32) });
const out = sink();
if (process.argv[2] === "rekey")
  await pipeline(source(data, TOTAL), encryptStream({ keyring }), decryptStream({ keyring }), out);
else await pipeline(source(data, TOTAL), out);
if (out.bytes !== TOTAL) throw new Error(`moved ${out.bytes} bytes, expected ${TOTAL}`);
console.log(JSON.stringify({ maxRssMiB: peakRssKiB() / 1024 }));

/**
 * This process's own peak RSS. On Linux `getrusage` (`process.resourceUsage().maxRSS`) carries the
 * parent's peak across fork + exec, so a child of a big parent would report the parent's figure;
 * `VmHWM` belongs to this process's address space alone.
 */
function peakRssKiB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm?.[1] !== undefined) return Number(hwm[1]);
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}
