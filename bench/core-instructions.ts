/**
 * `pnpm bench:instructions core` (needs valgrind): the instructions rekey executes per small
 * message against the format floor of the same message (`raw-gcm.ts`), counted by callgrind: a
 * measure of the work a change to rekey adds or removes that the machine's other work does not
 * inflate, as it inflates the time of the 1 KiB section of `pnpm bench`.
 *
 * Each side runs in a process of its own, twice: {@link WARM_UP} messages then {@link BASE} more,
 * and the same warm-up then {@link BASE} + {@link COUNTED}; the difference over {@link COUNTED}
 * is the side's instructions per message. Node runs single-threaded and `--predictable` with fixed
 * hash and random seeds. Runs of the same code still differ: three runs counted rekey's cached
 * 1 KiB encryption at 184.0 k, 177.9 k and 184.5 k and the format floor's at 153.2 k, 154.1 k and
 * 166.0 k (rekey / floor 1.20, 1.15, 1.11). Read a difference of several percent as noise unless
 * it holds over several runs.
 *
 * A count is not a time: instructions differ in cost. While those counts put rekey at 1.11–1.20
 * times the format floor's, three `pnpm bench` runs on the same machine timed rekey at 0.53×,
 * 0.55× and 0.88× the floor's speed. The speed ratio is `pnpm bench`'s.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  CachingKeyring,
  decrypt,
  encrypt,
  encryptChunks,
  parseMessagePrefix,
  RawAesKeyring,
} from "@rekey/core";
import { extraInstructions, isMain } from "./callgrind.js";
import { formatFloorDecrypt, formatFloorEncrypt, formatFloorPieces } from "./raw-gcm.js";

const WARM_UP = 3000;
const BASE = 1000;
const COUNTED = 4000;

/** The measured pairs: rekey's side and the floor doing the format's work for the same message. */
const PAIRS = [
  { name: "1 KiB encrypt, cached key", rekey: "rkEnc", floor: "floorEnc" },
  { name: "1 KiB decrypt, cached key", rekey: "rkDec", floor: "floorDec" },
  { name: "16 B encryptChunks, raw AES key", rekey: "rkChunks", floor: "floorPieces" },
] as const;

/** The child: builds every side's inputs, runs one side `WARM_UP + count` times, then stops. */
async function child(side: string, count: number): Promise<void> {
  const key = randomBytes(32);
  const keyring = new RawAesKeyring({ name: "bench", key });
  const cached = new CachingKeyring({ keyring, maxAgeMs: 3_600_000, maxMessages: 1e9 });
  const small = randomBytes(1024);
  const tiny = randomBytes(16);
  const rkMsgs = await Promise.all(
    Array.from({ length: 256 }, async () => (await encrypt(small, { keyring: cached })).ciphertext),
  );
  const parsed = parseMessagePrefix(rkMsgs[0] as Uint8Array);
  if (parsed.status !== "ok") throw new Error("the benchmark's own message does not parse");
  const header = randomBytes(parsed.value.header.authenticatedBytes.length);
  const floorMsgs = Array.from({ length: 256 }, () => formatFloorEncrypt(key, small, header));
  const sides: Record<string, (i: number) => unknown> = {
    rkEnc: () => encrypt(small, { keyring: cached }),
    floorEnc: () => formatFloorEncrypt(key, small, header),
    rkDec: (i) => decrypt(rkMsgs[i & 255] as Buffer, { keyring: cached }),
    floorDec: (i) => formatFloorDecrypt(key, floorMsgs[i & 255] as Buffer, header.length),
    rkChunks: () => encryptChunks(tiny, { keyring }),
    floorPieces: () => formatFloorPieces(key, tiny, header, 1 << 20),
  };
  const run = sides[side];
  if (!run) throw new Error(`unknown side ${side}`);
  for (let i = 0; i < WARM_UP + count; i++) await run(i);
}

/** Instructions per message of one side. */
async function perMessage(side: string): Promise<number> {
  const extra = await extraInstructions(
    fileURLToPath(import.meta.url),
    ["--child", side, String(BASE)],
    ["--child", side, String(BASE + COUNTED)],
  );
  return extra / COUNTED;
}

/** Prints instructions per message of rekey and of the format floor, and their ratio, per pair. */
export async function coreInstructions(): Promise<void> {
  for (const pair of PAIRS) {
    const rekey = await perMessage(pair.rekey);
    const floor = await perMessage(pair.floor);
    const k = (n: number) => `${(n / 1000).toFixed(1)} k`;
    console.log(
      `${pair.name}: rekey ${k(rekey)}, format floor ${k(floor)} instructions per message; rekey / floor ${(rekey / floor).toFixed(3)}`,
    );
  }
}

// Run directly: the count (the same as `pnpm bench:instructions core`), or one child under callgrind.
if (isMain(import.meta.url)) {
  if (process.argv[2] === "--child") await child(process.argv[3] as string, Number(process.argv[4]));
  else await coreInstructions();
}
