/**
 * Resume cost of the job's checkpoint after N finished objects (default 2,000,000): the time and
 * the memory `openCheckpoint` takes to resume, and the file's size. Objects finish out of order,
 * 16 in flight, as in a job at the default concurrency.
 *
 *   pnpm exec tsx --conditions=rekey-source bench/checkpoint.ts [objects]
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, type CheckpointHeader } from "../packages/reencrypt/src/runner/checkpoint.js";
import type { ObjectResult } from "../packages/reencrypt/src/model/object-result.js";

const objects = Number(process.argv[2] ?? 2_000_000);
const header: CheckpointHeader = {
  rekeyCheckpoint: 3,
  mode: "rewrap",
  target: "current",
  fromKeys: [],
  olderThanMaterial: false,
  includeCurrent: false,
  source: "s3://bench/",
};
const result = (key: string): ObjectResult => ({
  ref: { kind: "s3", bucket: "bench", key },
  outcome: "rewrapped",
  planClass: "rewrap",
  reason: "",
  size: 1024,
  sourceKeyArns: [],
  sourceMaterialIds: [],
  materialUnproven: false,
  durationMs: 1,
});

const dir = await mkdtemp(join(tmpdir(), "rekey-bench-cp-"));
const path = join(dir, "job.checkpoint.jsonl");
try {
  const cp = await openCheckpoint(path, header);
  const inFlight: [number, string][] = [];
  let seed = 1;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const t0 = performance.now();
  for (let i = 0; i < objects || inFlight.length > 1; i++) {
    if (i < objects) {
      const key = `data/${String(i).padStart(10, "0")}.rkey`;
      inFlight.push([cp.begin(key), key]);
    }
    if (inFlight.length === 16 || i >= objects) {
      const [s, k] = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
      await cp.end(s, result(k));
    }
  }
  // One object still in flight, as when a job is killed.
  const writing = (performance.now() - t0) / 1000;
  const size = (await stat(path)).size;
  const rss0 = process.memoryUsage().rss;
  const t1 = performance.now();
  const resumed = await openCheckpoint(path, header);
  const resumeMs = performance.now() - t1;
  const rss1 = process.memoryUsage().rss;
  console.log(
    `${objects.toLocaleString("en")} objects finished in ${writing.toFixed(1)} s; checkpoint ${size} bytes; ` +
      `resume ${resumeMs.toFixed(1)} ms, +${((rss1 - rss0) / 1024 / 1024).toFixed(1)} MiB RSS, after ${resumed.resumeAfter}`,
  );
  await resumed.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
