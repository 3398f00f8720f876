/** Streams 4 GiB through rekey encrypt -> decrypt (or straight through) and prints peak RSS. */
import { randomBytes } from "node:crypto";
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
console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
