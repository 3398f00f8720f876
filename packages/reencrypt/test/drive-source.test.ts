import { describe, expect, it } from "vitest";
import { type ObjectRef, type SourceEntry } from "../src/index.js";
import { driveSource } from "../src/runner/drive-source.js";
import { sleep } from "../src/support/sleep.js";

function refs(n: number): SourceEntry[] {
  return Array.from({ length: n }, (_, i) => ({ kind: "s3" as const, bucket: "data-bucket", key: `k${i}` }));
}

async function* listing(entries: readonly SourceEntry[]): AsyncGenerator<SourceEntry> {
  yield* entries;
}

/** A work function whose calls wait until released, and a log of which started. */
function gatedWork(): {
  work: (ref: ObjectRef) => Promise<ObjectRef>;
  started: string[];
  startedOnce: Promise<void>;
  release: () => void;
} {
  const started: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  let first: () => void = () => undefined;
  const startedOnce = new Promise<void>((r) => (first = r));
  return {
    started,
    startedOnce,
    release: () => release(),
    work: async (ref) => {
      started.push(ref.kind === "file" ? ref.path : ref.key);
      first();
      await gate;
      return ref;
    },
  };
}

describe("driveSource", () => {
  it("onSourceEnd: once the source is read to its end, with objects still to finish; never after a stop mid-listing", async () => {
    const events: string[] = [];
    const g = gatedWork();
    const run = driveSource<ObjectRef>(listing(refs(4)), {
      concurrency: 2,
      onEntry: () => void events.push("entry"),
      onSourceEnd: () => void events.push("end"),
      onInvalid: () => undefined,
      work: g.work,
      onDone: () => void events.push("done"),
    });
    await g.startedOnce;
    await sleep(20);
    expect(events).toEqual(["entry", "entry", "entry", "entry", "end"]);
    g.release();
    await run;
    expect(events.filter((e) => e === "done")).toHaveLength(4);

    const stop = new AbortController();
    const h = gatedWork();
    let ended = false;
    const stopped = driveSource<ObjectRef>(listing(refs(40)), {
      concurrency: 2,
      stopSignal: stop.signal,
      onSourceEnd: () => (ended = true),
      onInvalid: () => undefined,
      work: h.work,
      onDone: () => undefined,
    });
    await h.startedOnce;
    stop.abort();
    h.release();
    expect((await stopped).interrupted).toBe(true);
    expect(ended).toBe(false);
  });

  for (const objects of [40, 3] as const)
    it(`a stop starts no object: queued objects are dropped, running ones finish (${objects === 3 ? "the listing already ended" : "mid-listing"})`, async () => {
      const stop = new AbortController();
      const g = gatedWork();
      const done: string[] = [];
      const run = driveSource<ObjectRef>(listing(refs(objects)), {
        concurrency: 2,
        stopSignal: stop.signal,
        onInvalid: () => undefined,
        work: g.work,
        onDone: (ref) => void done.push(ref.kind === "file" ? ref.path : ref.key),
      });
      await g.startedOnce;
      // Let the loop fill the queue (2 running, up to 2 waiting), then stop and release.
      await sleep(20);
      stop.abort();
      g.release();
      const { interrupted } = await run;
      expect(interrupted).toBe(true);
      expect(g.started).toEqual(["k0", "k1"]);
      expect(done.sort()).toEqual(["k0", "k1"]);
    });

  it("a stop after the last object started is not an interruption", async () => {
    const stop = new AbortController();
    const g = gatedWork();
    const run = driveSource<ObjectRef>(listing(refs(2)), {
      concurrency: 2,
      stopSignal: stop.signal,
      onInvalid: () => undefined,
      work: g.work,
      onDone: () => undefined,
    });
    await g.startedOnce;
    await sleep(20);
    g.release();
    expect(await run).toEqual({ interrupted: false });
    expect(g.started).toEqual(["k0", "k1"]);
  });

  it("onEntry sees the entries the job runs and invalid lines, not those `accept` turns away", async () => {
    const entries: SourceEntry[] = [...refs(10), { kind: "invalid", where: "m.csv:3", reason: "bad" }];
    const seen: SourceEntry[] = [];
    const ran: SourceEntry[] = [];
    await driveSource<ObjectRef>(listing(entries), {
      concurrency: 3,
      onEntry: (e) => seen.push(e),
      onInvalid: () => undefined,
      accept: (ref) => ref.kind === "s3" && Number(ref.key.slice(1)) % 2 === 0,
      work: async (ref) => ref,
      onDone: (ref) => void ran.push(ref),
    });
    expect(ran).toHaveLength(5);
    expect(seen).toHaveLength(6);
    expect(seen.filter((e) => e.kind === "invalid")).toHaveLength(1);
  });

  it("an error of onDone stops the loop, starts nothing more, and is rethrown", async () => {
    const g = gatedWork();
    const failure = new Error("checkpoint cannot be written");
    const run = driveSource<ObjectRef>(listing(refs(30)), {
      concurrency: 2,
      onInvalid: () => undefined,
      work: g.work,
      onDone: () => {
        throw failure;
      },
    });
    await g.startedOnce;
    await sleep(20);
    g.release();
    await expect(run).rejects.toBe(failure);
    expect(g.started).toEqual(["k0", "k1"]);
  });
});
