/**
 * Core SDK throughput, printed as ratios against baselines measured in the same run and at the
 * same frame size: raw node:crypto framed AES-256-GCM (`raw-gcm.ts`), the raw floor of a small
 * message, and @aws-crypto/client-node with the same raw AES wrapping key. Every pair is measured
 * in interleaved rounds (a, b, b, a, …), the same number for each side; a ratio is the median of
 * the per-round ratios, with their min and max.
 *
 * Run: `pnpm bench` (all), `pnpm bench stream small` (some sections; see bench/run.ts).
 * `REKEY_BENCH_QUICK=1` shrinks the payloads for a smoke run.
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import type { Transform } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from "@aws-crypto/client-node";
import {
  CachingKeyring,
  decrypt,
  decryptStream,
  encrypt,
  encryptChunks,
  encryptStream,
  parseMessagePrefix,
  RawAesKeyring,
} from "@rekey/core";
import {
  bufferSource,
  fmt,
  fmtRatio,
  fmtSpread,
  interleave,
  loop,
  MiB,
  rates,
  type Report,
  sink,
  source,
  speedRatios,
  spread,
  timePipeline,
} from "./lib.js";
import {
  rawDecrypt,
  rawDecryptStream,
  rawEncrypt,
  rawEncryptPieces,
  rawEncryptStream,
  formatFloorDecrypt,
  formatFloorEncrypt,
  formatFloorPieces,
  rawSmallDecrypt,
  rawSmallEncrypt,
} from "./raw-gcm.js";

const QUICK = process.env.REKEY_BENCH_QUICK === "1";
const BIG = QUICK ? 32 * MiB : 256 * MiB;
const ROUNDS = QUICK ? 3 : 5;

const key = randomBytes(32);
const keyring = new RawAesKeyring({ name: "bench", key });
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const esdkKeyring = new RawAesKeyringNode({
  keyName: "bench",
  keyNamespace: "bench",
  unencryptedMasterKey: new Uint8Array(key),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
const data = randomBytes(16 * MiB);
const kib = (n: number): string => (n >= MiB ? `${n / MiB} MiB` : `${n / 1024} KiB`);

async function collect(transforms: Transform[], total: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await timePipeline(source(data, total), transforms, sink(out));
  return Buffer.concat(out);
}

const mbs = (times: readonly number[], bytes: number) => rates(times, bytes / 1e6);

/** Interleaved times of a baseline and rekey, each way. */
interface EncDecTimes {
  readonly baseEnc: number[];
  readonly rkEnc: number[];
  readonly baseDec: number[];
  readonly rkDec: number[];
}

/** Table cells: MB/s of the baseline, of rekey and their ratio, for encryption then decryption. */
function encDecCells(t: EncDecTimes, bytes: number): string[] {
  return [
    fmtSpread(mbs(t.baseEnc, bytes)),
    fmtSpread(mbs(t.rkEnc, bytes)),
    fmtRatio(speedRatios(t.rkEnc, t.baseEnc)),
    fmtSpread(mbs(t.baseDec, bytes)),
    fmtSpread(mbs(t.rkDec, bytes)),
    fmtRatio(speedRatios(t.rkDec, t.baseDec)),
  ];
}

async function streaming(report: Report): Promise<void> {
  report.heading(`Core: streaming ${BIG / MiB} MiB in 64 KiB chunks`);
  report.para(
    `MB/s and ratio rekey / raw framed GCM at the same frame size: median (min–max) of ${ROUNDS} interleaved rounds.`,
  );
  const rows: string[][] = [["frame", "raw enc", "rekey enc", "ratio", "raw dec", "rekey dec", "ratio"]];
  for (const frame of [4 * 1024, 64 * 1024, 256 * 1024, MiB]) {
    const rawCt = await collect([rawEncryptStream(key, frame)], BIG);
    const rkCt = await collect([encryptStream({ keyring, frameLength: frame })], BIG);
    const t = await interleave(ROUNDS, {
      baseEnc: () => timePipeline(source(data, BIG), [rawEncryptStream(key, frame)], sink()),
      rkEnc: () => timePipeline(source(data, BIG), [encryptStream({ keyring, frameLength: frame })], sink()),
      baseDec: () => timePipeline(bufferSource(rawCt), [rawDecryptStream(key, frame)], sink()),
      rkDec: () => timePipeline(bufferSource(rkCt), [decryptStream({ keyring })], sink()),
    });
    rows.push([`${kib(frame)}${frame === MiB ? " (default)" : ""}`, ...encDecCells(t, BIG)]);
  }
  report.table(rows);
}

/**
 * Rounds of the buffer section. 1 MiB messages go 20 to a round, in 110 rounds: on a shared
 * machine a round of 200 paired the sides loosely (the median ratio moved 0.79–0.90 between runs
 * of the same code). 256 MiB is one message a round.
 */
const SMALL_BUFFER = QUICK ? { messages: 20, rounds: 5 } : { messages: 20, rounds: 110 };
const BIG_BUFFER_ROUNDS = QUICK ? 3 : 11;

async function buffers(report: Report): Promise<void> {
  report.heading("Core: buffer API, 1 MiB frames");
  report.para(
    "MB/s and ratio to the raw loop doing the same AES-GCM work (the same bytes through one cipher " +
      "per frame, the same buffers allocated) without the per-message work of the format and the " +
      "keyring: a new data key and its wrapping, key derivation, the header. `encryptChunks` returns " +
      "the message as pieces, against raw encryption that keeps node:crypto's pieces; `encrypt` " +
      "returns one buffer, against raw encryption that joins its pieces into one (`raw + copy`); raw " +
      "decryption of one frame returns the cipher's output as it is and joins several, as `decrypt` " +
      `does. The three comparisons are measured one after the other, each in its own interleaved ` +
      `rounds. Median (min–max) of the per-round ratios: ${SMALL_BUFFER.rounds} rounds of ` +
      `${SMALL_BUFFER.messages} messages of 1 MiB, ${BIG_BUFFER_ROUNDS} of one message of ${BIG / MiB} MiB; ` +
      "targets ≥ 0.9× for both encryptions.",
  );
  const rows: string[][] = [
    [
      "size",
      "raw enc (pieces)",
      "rekey encryptChunks",
      "ratio",
      "raw + copy enc",
      "rekey encrypt",
      "ratio",
      "raw dec",
      "rekey dec",
      "ratio",
    ],
  ];
  const floorRows: string[][] = [
    [
      "size",
      "raw enc (pieces)",
      "format floor (pieces)",
      "rekey encryptChunks",
      "floor / raw",
      "rekey / floor",
    ],
  ];
  const targets: string[] = [];
  for (const size of [MiB, BIG]) {
    const pt =
      size <= data.length
        ? data.subarray(0, size)
        : Buffer.concat(Array.from({ length: size / data.length }, () => data));
    const n = size === MiB ? SMALL_BUFFER.messages : 1;
    const rawCt = rawEncrypt(key, pt, MiB);
    const rkCt = (await encrypt(pt, { keyring })).ciphertext;
    const parsed = parseMessagePrefix(rkCt);
    if (parsed.status !== "ok") throw new Error("the benchmark's own message does not parse");
    const header = randomBytes(parsed.value.header.authenticatedBytes.length);
    const rounds = size === MiB ? SMALL_BUFFER.rounds : BIG_BUFFER_ROUNDS;
    // A side pays for collecting the garbage the side before it left, and a joined encryption
    // leaves twice what the others leave: each comparison is interleaved only with sides that
    // leave as much as its own, one comparison after the other.
    const t = {
      ...(await interleave(rounds, {
        basePieces: loop(n, () => rawEncryptPieces(key, pt, MiB)),
        floorPieces: loop(n, () => formatFloorPieces(key, pt, header, MiB)),
        rkChunks: loop(n, () => encryptChunks(pt, { keyring })),
      })),
      ...(await interleave(rounds, {
        baseEnc: loop(n, () => rawEncrypt(key, pt, MiB)),
        rkEnc: loop(n, () => encrypt(pt, { keyring })),
      })),
      ...(await interleave(rounds, {
        baseDec: loop(n, () => rawDecrypt(key, rawCt, MiB)),
        rkDec: loop(n, () => decrypt(rkCt, { keyring })),
      })),
    };
    if (size === MiB) {
      const chunks = speedRatios(t.rkChunks, t.basePieces).median;
      const joined = speedRatios(t.rkEnc, t.baseEnc).median;
      targets.push(
        `encryptChunks / raw ${fmt(chunks, 2)}×, ${met(chunks >= 0.9)}`,
        `encrypt / raw + copy ${fmt(joined, 2)}×, ${met(joined >= 0.9)}`,
      );
    }
    rows.push([
      n > 1 ? `${kib(size)} (${n} messages a round)` : kib(size),
      fmtSpread(mbs(t.basePieces, size * n)),
      fmtSpread(mbs(t.rkChunks, size * n)),
      fmtRatio(speedRatios(t.rkChunks, t.basePieces)),
      ...encDecCells(t, size * n),
    ]);
    floorRows.push([
      n > 1 ? `${kib(size)} (${n} messages a round)` : kib(size),
      fmtSpread(mbs(t.basePieces, size * n)),
      fmtSpread(mbs(t.floorPieces, size * n)),
      fmtSpread(mbs(t.rkChunks, size * n)),
      fmtRatio(speedRatios(t.floorPieces, t.basePieces)),
      fmtRatio(speedRatios(t.rkChunks, t.floorPieces)),
    ]);
  }
  report.table(rows);
  report.para(`Targets at 1 MiB, ≥ 0.9× (medians): ${targets.join("; ")}.`);
  report.para(
    "Where the gap of the encryptions comes from: the format floor (`bench/raw-gcm.ts` " +
      "`formatFloorPieces`, measured in the same rounds) adds to the raw loop only the per-message " +
      "work the format and a raw AES keyring require — one random draw for the data key and the " +
      "wrapping IV, the key wrapped with AES-256-GCM, HKDF-SHA512 (an extract and two expands), the " +
      "header tag, the frame AAD. floor / raw is what that work costs at this size; rekey / floor " +
      "is what rekey adds.",
  );
  report.table(floorRows);
}

const ESDK_CONFIGS = [
  { name: "default (signed, ECDSA P-384)", suiteId: SIGNED, frame: 4096 },
  { name: "default (signed, ECDSA P-384)", suiteId: SIGNED, frame: MiB },
  { name: "unsigned committing", suiteId: UNSIGNED, frame: 4096 },
  { name: "unsigned committing", suiteId: UNSIGNED, frame: MiB },
] as const;

async function againstEsdk(report: Report): Promise<void> {
  report.heading("Core: against @aws-crypto/client-node 5.0.2");
  report.para(
    "The same raw AES-256 wrapping key on both sides. Each ESDK configuration is measured in " +
      `interleaved rounds with rekey at the same frame size (${ROUNDS} rounds each); a ratio is ` +
      "rekey's speed over the ESDK's, median (min–max) of the per-round ratios.",
  );
  const oneMiB = data.subarray(0, MiB);
  const bufRows: string[][] = [
    [
      "1 MiB messages, buffer API",
      "frame",
      "ESDK enc",
      "rekey enc",
      "rekey / ESDK",
      "ESDK dec",
      "rekey dec",
      "rekey / ESDK",
    ],
  ];
  for (const c of [ESDK_CONFIGS[3], ESDK_CONFIGS[0]]) {
    const n = c.suiteId === UNSIGNED ? 50 : 10;
    const opts = { suiteId: c.suiteId, frameLength: c.frame };
    const esCt = (await esdk.encrypt(esdkKeyring, oneMiB, opts)).result;
    const rkCt = (await encrypt(oneMiB, { keyring, frameLength: c.frame })).ciphertext;
    const t = await interleave(ROUNDS, {
      baseEnc: loop(n, () => esdk.encrypt(esdkKeyring, oneMiB, opts)),
      rkEnc: loop(n, () => encrypt(oneMiB, { keyring, frameLength: c.frame })),
      baseDec: loop(n, () => esdk.decrypt(esdkKeyring, esCt)),
      rkDec: loop(n, () => decrypt(rkCt, { keyring })),
    });
    bufRows.push([`ESDK ${c.name}`, kib(c.frame), ...encDecCells(t, MiB * n)]);
  }
  report.table(bufRows);

  const total = BIG / 2;
  report.para(`Streaming ${total / MiB} MiB in 64 KiB chunks (MB/s):`);
  const rows: string[][] = [
    ["ESDK suite", "frame", "ESDK enc", "rekey enc", "rekey / ESDK", "ESDK dec", "rekey dec", "rekey / ESDK"],
  ];
  for (const c of ESDK_CONFIGS) {
    const esEncrypt = () =>
      esdk.encryptStream(esdkKeyring, { suiteId: c.suiteId, frameLength: c.frame }) as unknown as Transform;
    const esDecrypt = () =>
      (c.suiteId === SIGNED
        ? esdk.decryptStream(esdkKeyring)
        : esdk.decryptUnsignedMessageStream(esdkKeyring)) as unknown as Transform;
    const esCt = await collect([esEncrypt()], total);
    const rkCt = await collect([encryptStream({ keyring, frameLength: c.frame })], total);
    const t = await interleave(ROUNDS, {
      baseEnc: () => timePipeline(source(data, total), [esEncrypt()], sink()),
      rkEnc: () =>
        timePipeline(source(data, total), [encryptStream({ keyring, frameLength: c.frame })], sink()),
      baseDec: () => timePipeline(bufferSource(esCt), [esDecrypt()], sink()),
      rkDec: () => timePipeline(bufferSource(rkCt), [decryptStream({ keyring })], sink()),
    });
    rows.push([c.name, kib(c.frame), ...encDecCells(t, total)]);
  }
  report.table(rows);
}

/** Rounds of the 1 KiB section: each is a few tens of milliseconds, which one collection moves. */
const SMALL_ROUNDS = QUICK ? 3 : 15;

async function smallMessages(report: Report): Promise<void> {
  const N = QUICK ? 500 : 3000;
  const small = randomBytes(1024);
  report.heading("Core: 1 KiB messages, buffer API");
  report.para(
    "With a cached data key (`CachingKeyring` over a `RawAesKeyring`; every message after the first " +
      "a cache hit), against two floors (`bench/raw-gcm.ts`). The raw floor is the work the target " +
      "names: a random 32-byte message id (from a pool of random bytes, as rekey draws its own), " +
      "HKDF-SHA512 from it (an extract and one expand, two `createHmac`), one AES-256-GCM with the " +
      "id as AAD, the message in one buffer. The format floor adds only what rekey's format requires " +
      "on top: a second expand (the key commitment) and the header tag (a second AES-256-GCM, over " +
      "header bytes of the length rekey writes here), compared in constant time and verified on " +
      `decrypt. Messages/s of ${N} messages per round, median (min–max) of ${SMALL_ROUNDS} interleaved ` +
      "rounds; target ≥ 0.9× the raw floor and ≥ 20,000/s each way.",
  );
  const cached = new CachingKeyring({ keyring, maxAgeMs: 3_600_000, maxMessages: 1e9 });
  const rkMsgs = await Promise.all(
    Array.from({ length: 256 }, async () => (await encrypt(small, { keyring: cached })).ciphertext),
  );
  const parsed = parseMessagePrefix(rkMsgs[0] as Uint8Array);
  if (parsed.status !== "ok") throw new Error("the benchmark's own message does not parse");
  const header = randomBytes(parsed.value.header.authenticatedBytes.length);
  const rawMsgs = Array.from({ length: 256 }, () => rawSmallEncrypt(key, small));
  const floorMsgs = Array.from({ length: 256 }, () => formatFloorEncrypt(key, small, header));
  for (const m of rkMsgs) await decrypt(m, { keyring: cached });
  let i = 0;
  let j = 0;
  let k = 0;
  const t = await interleave(SMALL_ROUNDS, {
    baseEnc: loop(N, () => rawSmallEncrypt(key, small)),
    floorEnc: loop(N, () => formatFloorEncrypt(key, small, header)),
    rkEnc: loop(N, () => encrypt(small, { keyring: cached })),
    baseDec: loop(N, () => rawSmallDecrypt(key, rawMsgs[i++ & 255] as Buffer)),
    floorDec: loop(N, () => formatFloorDecrypt(key, floorMsgs[k++ & 255] as Buffer, header.length)),
    rkDec: loop(N, () => decrypt(rkMsgs[j++ & 255] as Buffer, { keyring: cached })),
  });
  const enc = speedRatios(t.rkEnc, t.baseEnc);
  const dec = speedRatios(t.rkDec, t.baseDec);
  const rkEncRate = rates(t.rkEnc, N);
  const rkDecRate = rates(t.rkDec, N);
  report.table([
    [
      "way",
      "raw floor (msgs/s)",
      "format floor (msgs/s)",
      "rekey, cached key (msgs/s)",
      "rekey / raw floor",
      "format floor / raw floor",
      "rekey / format floor",
      "target",
    ],
    [
      "encrypt",
      fmtSpread(rates(t.baseEnc, N)),
      fmtSpread(rates(t.floorEnc, N)),
      fmtSpread(rkEncRate),
      fmtRatio(enc),
      fmtRatio(speedRatios(t.floorEnc, t.baseEnc)),
      fmtRatio(speedRatios(t.rkEnc, t.floorEnc)),
      met(enc.median >= 0.9 && rkEncRate.median >= 20_000),
    ],
    [
      "decrypt",
      fmtSpread(rates(t.baseDec, N)),
      fmtSpread(rates(t.floorDec, N)),
      fmtSpread(rkDecRate),
      fmtRatio(dec),
      fmtRatio(speedRatios(t.floorDec, t.baseDec)),
      fmtRatio(speedRatios(t.rkDec, t.floorDec)),
      met(dec.median >= 0.9 && rkDecRate.median >= 20_000),
    ],
  ]);

  report.para(
    "Against the ESDK, the same raw AES wrapping key and no cache on either side, encrypt + decrypt " +
      "of each message (messages/s; ratio: rekey's speed over the ESDK's):",
  );
  const nSigned = Math.max(1, Math.round(N / 30));
  const nUnsigned = Math.round(N / 3);
  const es = await interleave(ROUNDS, {
    rkU: loop(nUnsigned, async () => decrypt((await encrypt(small, { keyring })).ciphertext, { keyring })),
    esU: loop(nUnsigned, async () => {
      const { result } = await esdk.encrypt(esdkKeyring, small, { suiteId: UNSIGNED });
      await esdk.decrypt(esdkKeyring, result);
    }),
    rkS: loop(nSigned, async () => decrypt((await encrypt(small, { keyring })).ciphertext, { keyring })),
    esS: loop(nSigned, async () => {
      const { result } = await esdk.encrypt(esdkKeyring, small);
      await esdk.decrypt(esdkKeyring, result);
    }),
  });
  report.table([
    ["ESDK suite", "ESDK (msgs/s)", "rekey (msgs/s)", "rekey / ESDK"],
    [
      "unsigned committing",
      fmtSpread(rates(es.esU, nUnsigned)),
      fmtSpread(rates(es.rkU, nUnsigned)),
      fmtRatio(speedRatios(es.rkU, es.esU)),
    ],
    [
      "default (signed)",
      fmtSpread(rates(es.esS, nSigned)),
      fmtSpread(rates(es.rkS, nSigned)),
      fmtRatio(speedRatios(es.rkS, es.esS)),
    ],
  ]);
}

const met = (ok: boolean): string => (ok ? "met" : "not met");

/** Peak RSS (MiB) of a fresh process: `node -e` of a line that prints its own VmHWM, or rss-child.mjs. */
function peakRss(args: readonly string[]): number {
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rss child failed (run \`pnpm build\` first?): ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop() as string;
  return (JSON.parse(line) as { maxRssMiB: number }).maxRssMiB;
}

const NODE_E_0 = [
  "-e",
  "const m=/^VmHWM:\\s+(\\d+) kB/m.exec(require('fs').readFileSync('/proc/self/status','utf8'));" +
    "console.log(JSON.stringify({maxRssMiB:Number(m[1])/1024}))",
];

async function rss(report: Report): Promise<void> {
  const gib = QUICK ? 1 : 4;
  const rounds = 3;
  report.heading(`Core: peak RSS streaming ${gib} GiB, 1 MiB frames, encrypt → decrypt`);
  report.para(
    "Each figure from a fresh plain-Node process on the compiled packages (`bench/rss-child.mjs`, " +
      "peak from `VmHWM`; `getrusage` would report the parent's peak, which it inherits across " +
      `fork + exec): median (min–max) of ${rounds} runs, the runs of each pipeline taken in turn. ` +
      "The floor is `node -e 0` (a process that prints its own peak and nothing else).",
  );
  const child = fileURLToPath(new URL("./rss-child.mjs", import.meta.url));
  const t = await interleave(rounds, {
    node: async () => peakRss(NODE_E_0),
    passthrough: async () => peakRss([child, "passthrough", String(gib)]),
    raw: async () => peakRss([child, "raw", String(gib)]),
    rekey: async () => peakRss([child, "rekey", String(gib)]),
    rekeyQuarter: async () => peakRss([child, "rekey", String(gib / 4)]),
  });
  const node = spread(t.node).median;
  const raw = spread(t.raw).median;
  const row = (name: string, xs: number[]): string[] => {
    const s = spread(xs);
    return [name, `${fmtSpread(s)} MiB`, `${fmt(s.median - node)} MiB`, `${fmt(s.median - raw)} MiB`];
  };
  report.table([
    ["process", "peak RSS", "over `node -e 0`", "over the raw pipeline"],
    row("`node -e 0`", t.node),
    row(`${gib} GiB source → sink, no crypto (\`@rekey/core\` loaded, an 8 MiB source)`, t.passthrough),
    row(`${gib} GiB raw node:crypto GCM encrypt → decrypt (baseline)`, t.raw),
    row(`${gib} GiB rekey encryptStream → decryptStream`, t.rekey),
    row(`${gib / 4} GiB rekey, the same`, t.rekeyQuarter),
  ]);
  const rk = spread(t.rekey);
  report.para(
    `rekey / raw pipeline, median peak: ${fmt(rk.median / raw, 2)}×; target peak ≤ 80 MiB: ${met(rk.max <= 80)} (worst run ${fmt(rk.max)} MiB).`,
  );
}

/**
 * The cost of signing (suite 2, ECDSA P-384): rekey signed against rekey unsigned, and against
 * the ESDK's signed default suite, at the same frame size, for 1 KiB messages and a 16 MiB stream.
 */
async function signedSuite(report: Report): Promise<void> {
  report.heading("Core: the signed suite");
  report.para(
    "rekey's signed suite (ECDSA P-384 over header and body; a rewrap keeps it valid) against rekey " +
      "unsigned, and against the AWS Encryption SDK's signed default suite, same raw AES key, same " +
      `frame size; ${ROUNDS} interleaved rounds, median (min–max). A ratio over 1 is rekey signed faster.`,
  );
  const small = data.subarray(0, 1024);
  const n = 200;
  const frame = 4096;
  const rkSigned = (await encrypt(small, { keyring, frameLength: frame, signed: true })).ciphertext;
  const rkUnsigned = (await encrypt(small, { keyring, frameLength: frame })).ciphertext;
  const esSigned = (await esdk.encrypt(esdkKeyring, small, { suiteId: SIGNED, frameLength: frame })).result;
  const t = await interleave(ROUNDS, {
    unsignedEnc: loop(n, () => encrypt(small, { keyring, frameLength: frame })),
    signedEnc: loop(n, () => encrypt(small, { keyring, frameLength: frame, signed: true })),
    esdkEnc: loop(n, () => esdk.encrypt(esdkKeyring, small, { suiteId: SIGNED, frameLength: frame })),
    unsignedDec: loop(n, () => decrypt(rkUnsigned, { keyring })),
    signedDec: loop(n, () => decrypt(rkSigned, { keyring })),
    esdkDec: loop(n, () => esdk.decrypt(esdkKeyring, esSigned)),
  });
  const per = (xs: readonly number[]): string => fmtSpread(rates(xs, n));
  report.table([
    [
      "1 KiB messages (messages/s)",
      "rekey unsigned",
      "rekey signed",
      "signed / unsigned",
      "ESDK signed",
      "rekey signed / ESDK signed",
    ],
    [
      "encrypt",
      per(t.unsignedEnc),
      per(t.signedEnc),
      fmtRatio(speedRatios(t.signedEnc, t.unsignedEnc)),
      per(t.esdkEnc),
      fmtRatio(speedRatios(t.signedEnc, t.esdkEnc)),
    ],
    [
      "decrypt",
      per(t.unsignedDec),
      per(t.signedDec),
      fmtRatio(speedRatios(t.signedDec, t.unsignedDec)),
      per(t.esdkDec),
      fmtRatio(speedRatios(t.signedDec, t.esdkDec)),
    ],
  ]);
  const total = 16 * MiB;
  const big = MiB;
  const rkSignedCt = await collect([encryptStream({ keyring, frameLength: big, signed: true })], total);
  const rkUnsignedCt = await collect([encryptStream({ keyring, frameLength: big })], total);
  const esCt = await collect(
    [esdk.encryptStream(esdkKeyring, { suiteId: SIGNED, frameLength: big }) as unknown as Transform],
    total,
  );
  const s = await interleave(ROUNDS, {
    unsignedEnc: () =>
      timePipeline(source(data, total), [encryptStream({ keyring, frameLength: big })], sink()),
    signedEnc: () =>
      timePipeline(source(data, total), [encryptStream({ keyring, frameLength: big, signed: true })], sink()),
    esdkEnc: () =>
      timePipeline(
        source(data, total),
        [esdk.encryptStream(esdkKeyring, { suiteId: SIGNED, frameLength: big }) as unknown as Transform],
        sink(),
      ),
    unsignedDec: () => timePipeline(bufferSource(rkUnsignedCt), [decryptStream({ keyring })], sink()),
    signedDec: () => timePipeline(bufferSource(rkSignedCt), [decryptStream({ keyring })], sink()),
    esdkDec: () =>
      timePipeline(bufferSource(esCt), [esdk.decryptStream(esdkKeyring) as unknown as Transform], sink()),
  });
  const mb = (xs: readonly number[]): string => fmtSpread(rates(xs, total / 1e6));
  report.table([
    [
      "16 MiB stream, 1 MiB frames (MB/s)",
      "rekey unsigned",
      "rekey signed",
      "signed / unsigned",
      "ESDK signed",
      "rekey signed / ESDK signed",
    ],
    [
      "encrypt",
      mb(s.unsignedEnc),
      mb(s.signedEnc),
      fmtRatio(speedRatios(s.signedEnc, s.unsignedEnc)),
      mb(s.esdkEnc),
      fmtRatio(speedRatios(s.signedEnc, s.esdkEnc)),
    ],
    [
      "decrypt",
      mb(s.unsignedDec),
      mb(s.signedDec),
      fmtRatio(speedRatios(s.signedDec, s.unsignedDec)),
      mb(s.esdkDec),
      fmtRatio(speedRatios(s.signedDec, s.esdkDec)),
    ],
  ]);
}

/** The core sections, by the name `bench/run.ts` selects them with, in the order they run. */
export const coreSections = {
  stream: streaming,
  buffer: buffers,
  esdk: againstEsdk,
  small: smallMessages,
  signed: signedSuite,
  rss,
} as const;
