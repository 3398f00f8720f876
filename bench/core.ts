/**
 * Core SDK throughput, printed as ratios against baselines measured in the same run:
 * raw node:crypto framed AES-256-GCM at the same frame size, and @aws-crypto/client-node.
 * Run: `pnpm bench` (all) or `pnpm exec tsx --conditions=rekey-source bench/core.ts`.
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
import { decrypt, decryptStream, encrypt, encryptStream, RawAesKeyring } from "@rekey/core";
import {
  best,
  bestOfPair,
  bufferSource,
  fmt,
  MiB,
  mbps,
  seconds,
  sink,
  source,
  table,
  timePipeline,
} from "./lib.js";
import { rawDecrypt, rawDecryptStream, rawEncrypt, rawEncryptStream } from "./raw-gcm.js";

const QUICK = process.env.REKEY_BENCH_QUICK === "1";
const BIG = QUICK ? 32 * MiB : 256 * MiB;
const REPS = QUICK ? 1 : 5;

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

async function collect(transforms: Transform[], total: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await timePipeline(source(data, total), transforms, sink(out));
  return Buffer.concat(out);
}

export interface CoreResults {
  stream: { frame: number; encRatio: number; decRatio: number; encMBs: number; decMBs: number }[];
  esdkBest: { encMBs: number; decMBs: number };
  rssMiB?: { rekey: number; passthrough: number };
}

export async function run(): Promise<CoreResults> {
  console.log(
    `\n## Core: streaming ${BIG / MiB} MiB in 64 KiB chunks, best of ${REPS} (MB/s, ratio to raw framed GCM at the same frame)`,
  );
  const streamRows: (string | number)[][] = [
    ["frame", "raw enc", "rekey enc", "ratio", "raw dec", "rekey dec", "ratio"],
  ];
  const stream: CoreResults["stream"] = [];
  for (const frame of [4 * 1024, 64 * 1024, 256 * 1024, MiB]) {
    const [rawEnc, rkEnc] = await bestOfPair(
      REPS,
      () => timePipeline(source(data, BIG), [rawEncryptStream(key, frame)], sink()),
      () => timePipeline(source(data, BIG), [encryptStream({ keyring, frameLength: frame })], sink()),
    );
    const rawCt = await collect([rawEncryptStream(key, frame)], BIG);
    const rkCt = await collect([encryptStream({ keyring, frameLength: frame })], BIG);
    const [rawDec, rkDec] = await bestOfPair(
      REPS,
      () => timePipeline(bufferSource(rawCt), [rawDecryptStream(key, frame)], sink()),
      () => timePipeline(bufferSource(rkCt), [decryptStream({ keyring })], sink()),
    );
    const r = {
      frame,
      encMBs: mbps(BIG, rkEnc),
      decMBs: mbps(BIG, rkDec),
      encRatio: rawEnc / rkEnc,
      decRatio: rawDec / rkDec,
    };
    stream.push(r);
    streamRows.push([
      `${frame / 1024} KiB`,
      fmt(mbps(BIG, rawEnc)),
      fmt(r.encMBs),
      `${fmt(r.encRatio, 2)}x`,
      fmt(mbps(BIG, rawDec)),
      fmt(r.decMBs),
      `${fmt(r.decRatio, 2)}x`,
    ]);
  }
  table(streamRows);

  console.log(`\n## Core: buffer API (MB/s, ratio to raw framed GCM, 1 MiB frames)`);
  const bufRows: (string | number)[][] = [
    ["size", "raw enc", "rekey enc", "ratio", "raw dec", "rekey dec", "ratio"],
  ];
  let rk1MiBBuffer = { enc: 0, dec: 0 };
  for (const size of [MiB, BIG]) {
    const pt =
      size <= data.length
        ? data.subarray(0, size)
        : Buffer.concat(Array.from({ length: size / data.length }, () => data));
    const n = size === MiB ? 200 : 1;
    const [rawE, rkE] = await bestOfPair(
      REPS,
      () =>
        seconds(async () => {
          for (let i = 0; i < n; i++) rawEncrypt(key, pt, MiB);
        }),
      () =>
        seconds(async () => {
          for (let i = 0; i < n; i++) await encrypt(pt, { keyring });
        }),
    );
    const rawCt = rawEncrypt(key, pt, MiB);
    const rkCt = (await encrypt(pt, { keyring })).ciphertext;
    const [rawD, rkD] = await bestOfPair(
      REPS,
      () =>
        seconds(async () => {
          for (let i = 0; i < n; i++) rawDecrypt(key, rawCt, MiB);
        }),
      () =>
        seconds(async () => {
          for (let i = 0; i < n; i++) await decrypt(rkCt, { keyring });
        }),
    );
    if (size === MiB) rk1MiBBuffer = { enc: mbps(size * n, rkE), dec: mbps(size * n, rkD) };
    bufRows.push([
      `${size / MiB} MiB`,
      fmt(mbps(size * n, rawE)),
      fmt(mbps(size * n, rkE)),
      `${fmt(rawE / rkE, 2)}x`,
      fmt(mbps(size * n, rawD)),
      fmt(mbps(size * n, rkD)),
      `${fmt(rawD / rkD, 2)}x`,
    ]);
  }
  table(bufRows);

  console.log(`\n## 1 MiB messages, buffer API: rekey vs @aws-crypto/client-node (MB/s)`);
  const oneMiB = data.subarray(0, MiB);
  const esdkBufRows: (string | number)[][] = [
    ["implementation", "enc", "dec", "rekey enc / it", "rekey dec / it"],
    ["rekey (1 MiB frames)", fmt(rk1MiBBuffer.enc), fmt(rk1MiBBuffer.dec), "1.00x", "1.00x"],
  ];
  for (const c of [
    { name: "ESDK unsigned committing, 1 MiB frames", suiteId: UNSIGNED, n: 50 },
    { name: "ESDK default (signed), 4 KiB frames", suiteId: SIGNED, n: 10 },
  ]) {
    const opts = { suiteId: c.suiteId, frameLength: c.suiteId === UNSIGNED ? MiB : 4096 };
    const ct = (await esdk.encrypt(esdkKeyring, oneMiB, opts)).result;
    const e = await best(REPS, () =>
      seconds(async () => {
        for (let i = 0; i < c.n; i++) await esdk.encrypt(esdkKeyring, oneMiB, opts);
      }),
    );
    const d = await best(REPS, () =>
      seconds(async () => {
        for (let i = 0; i < c.n; i++) await esdk.decrypt(esdkKeyring, ct);
      }),
    );
    const eM = mbps(MiB * c.n, e);
    const dM = mbps(MiB * c.n, d);
    esdkBufRows.push([
      c.name,
      fmt(eM),
      fmt(dM),
      `${fmt(rk1MiBBuffer.enc / eM, 1)}x`,
      `${fmt(rk1MiBBuffer.dec / dM, 1)}x`,
    ]);
  }
  table(esdkBufRows);

  console.log(
    `\n## @aws-crypto/client-node 5.0.2 streaming ${BIG / MiB} MiB (MB/s), same raw AES wrapping key`,
  );
  const esdkRows: (string | number)[][] = [
    ["suite", "frame", "esdk enc", "esdk dec", "rekey enc / esdk", "rekey dec / esdk"],
  ];
  const rk1M = stream.find((s) => s.frame === MiB) as CoreResults["stream"][0];
  let esdkBest = { encMBs: 0, decMBs: 0 };
  const configs = [
    { name: "default (signed, ECDSA P-384)", suiteId: SIGNED, frame: 4096 },
    { name: "default (signed, ECDSA P-384)", suiteId: SIGNED, frame: MiB },
    { name: "unsigned committing", suiteId: UNSIGNED, frame: 4096 },
    { name: "unsigned committing", suiteId: UNSIGNED, frame: MiB },
  ];
  for (const c of configs) {
    const reps = Math.max(1, REPS - 1);
    const enc = await best(reps, () =>
      timePipeline(
        source(data, BIG),
        [esdk.encryptStream(esdkKeyring, { suiteId: c.suiteId, frameLength: c.frame }) as never],
        sink(),
      ),
    );
    const ct = await collect(
      [esdk.encryptStream(esdkKeyring, { suiteId: c.suiteId, frameLength: c.frame }) as never],
      BIG,
    );
    const dec = await best(reps, () =>
      timePipeline(
        bufferSource(ct),
        [
          (c.suiteId === SIGNED
            ? esdk.decryptStream(esdkKeyring)
            : esdk.decryptUnsignedMessageStream(esdkKeyring)) as never,
        ],
        sink(),
      ),
    );
    const e = mbps(BIG, enc);
    const d = mbps(BIG, dec);
    if (e + d > esdkBest.encMBs + esdkBest.decMBs) esdkBest = { encMBs: e, decMBs: d };
    esdkRows.push([
      c.name,
      `${c.frame / 1024} KiB`,
      fmt(e),
      fmt(d),
      `${fmt(rk1M.encMBs / e, 1)}x`,
      `${fmt(rk1M.decMBs / d, 1)}x`,
    ]);
  }
  table(esdkRows);
  console.log(
    `rekey (1 MiB frames) vs ESDK best streaming configuration: encrypt ${fmt(rk1M.encMBs / esdkBest.encMBs, 2)}x, decrypt ${fmt(rk1M.decMBs / esdkBest.decMBs, 2)}x`,
  );

  console.log(`\n## 1 KiB messages, buffer API, raw AES wrapping (messages/s, encrypt + decrypt)`);
  const small = randomBytes(1024);
  const N = QUICK ? 500 : 3000;
  const rk = await best(REPS, () =>
    seconds(async () => {
      for (let i = 0; i < N; i++) await decrypt((await encrypt(small, { keyring })).ciphertext, { keyring });
    }),
  );
  const es = await best(REPS, () =>
    seconds(async () => {
      for (let i = 0; i < N; i++) {
        const { result } = await esdk.encrypt(esdkKeyring, small, { suiteId: UNSIGNED });
        await esdk.decrypt(esdkKeyring, result);
      }
    }),
  );
  const esSigned = await best(1, () =>
    seconds(async () => {
      for (let i = 0; i < N / 5; i++) {
        const { result } = await esdk.encrypt(esdkKeyring, small);
        await esdk.decrypt(esdkKeyring, result);
      }
    }),
  );
  table([
    ["implementation", "msgs/s", "ratio"],
    ["rekey", fmt(N / rk), "1.00x"],
    ["ESDK unsigned committing", fmt(N / es), `${fmt(es / rk, 2)}x slower`],
    ["ESDK default (signed)", fmt(N / 5 / esSigned), `${fmt((esSigned * 5) / rk, 2)}x slower`],
  ]);

  const results: CoreResults = { stream, esdkBest };
  if (!QUICK || process.env.REKEY_BENCH_RSS === "1") {
    const gib = QUICK ? 1 : 4;
    console.log(
      `\n## Peak RSS streaming ${gib} GiB, 1 MiB frames, encrypt -> decrypt (a fresh plain-Node process on the compiled packages; worst of 3)`,
    );
    // Peak RSS depends on when the garbage collector runs, so each figure is the worst of three.
    const child = (mode: string, size: number): number => {
      let worst = 0;
      for (let i = 0; i < 3; i++) {
        const r = spawnSync(
          process.execPath,
          [fileURLToPath(new URL("./rss-child.mjs", import.meta.url)), mode, String(size)],
          {
            encoding: "utf8",
          },
        );
        if (r.status !== 0) throw new Error(`rss child failed (run \`pnpm build\` first?): ${r.stderr}`);
        const line = r.stdout.trim().split("\n").pop() as string;
        worst = Math.max(worst, (JSON.parse(line) as { maxRssMiB: number }).maxRssMiB);
      }
      return worst;
    };
    const passthrough = child("passthrough", gib);
    const raw = child("raw", gib);
    const rekeyRss = child("rekey", gib);
    const rekeyQuarter = child("rekey", gib / 4);
    table([
      ["pipeline", "peak RSS", "over the floor"],
      [
        `${gib} GiB source -> sink (no crypto: Node, @rekey/core loaded, the source)`,
        `${fmt(passthrough)} MiB`,
        "-",
      ],
      [
        `${gib} GiB raw node:crypto GCM encrypt -> decrypt (baseline)`,
        `${fmt(raw)} MiB`,
        `${fmt(raw - passthrough)} MiB`,
      ],
      [
        `${gib} GiB rekey encryptStream -> decryptStream`,
        `${fmt(rekeyRss)} MiB`,
        `${fmt(rekeyRss - passthrough)} MiB`,
      ],
      [
        `${gib / 4} GiB rekey (the same, a quarter of the bytes)`,
        `${fmt(rekeyQuarter)} MiB`,
        `${fmt(rekeyQuarter - passthrough)} MiB`,
      ],
    ]);
    console.log(
      `rekey / raw GCM peak RSS: ${fmt(rekeyRss / raw, 2)}x; target peak ≤ 80 MiB: ${rekeyRss <= 80 ? "met" : "not met"}`,
    );
    results.rssMiB = { rekey: rekeyRss, passthrough };
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
