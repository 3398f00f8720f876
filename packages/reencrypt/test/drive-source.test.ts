import { describe, expect, it } from "vitest";
import { driveSource, sleep, type ObjectRef, type SourceEntry } from "../src/index.js";

function refs(n: number): SourceEntry[] {
  return Array.from({ length: n }, (_, i) => ({ kind: "s3" as const, bucket: "data-bucket", key: `k${i}` }));
}

async function* listing(entries: readonly SourceEntry[]): AsyncGenerator<SourceEntry> {
  yield* entries;
}

describe("driveSource", () => {
  for (const when of ["from a result", "from a timer"] as const)
    it(`a stop (${when}) starts no object: queued objects are dropped, running ones finish`, async () => {
      const stop = new AbortController();
      const started: string[] = [];
      const lateStarts: string[] = [];
      const done: string[] = [];
      const timer = when === "from a timer" ? setTimeout(() => stop.abort(), 45) : undefined;
      const { interrupted } = await driveSource<ObjectRef>(listing(refs(40)), {
        concurrency: 2,
        stopSignal: stop.signal,
        onInvalid: () => undefined,
        work: async (ref) => {
          const key = ref.kind === "s3" ? ref.key : ref.path;
          if (stop.signal.aborted) lateStarts.push(key);
          started.push(key);
          await sleep(30);
          return ref;
        },
        onDone: (ref) => {
          done.push(ref.kind === "s3" ? ref.key : ref.path);
          if (when === "from a result") stop.abort();
        },
      });
      clearTimeout(timer);
      expect(interrupted).toBe(true);
      expect(lateStarts).toEqual([]);
      // Every started object was finished and reported; none beyond those in flight at the stop.
      expect(done.sort()).toEqual([...started].sort());
      if (when === "from a result") expect(started).toHaveLength(2);
      else expect(started.length).toBeLessThanOrEqual(4);
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
    const started: string[] = [];
    const failure = new Error("checkpoint cannot be written");
    await expect(
      driveSource<ObjectRef>(listing(refs(30)), {
        concurrency: 2,
        onInvalid: () => undefined,
        work: async (ref) => {
          started.push(ref.kind === "s3" ? ref.key : ref.path);
          await sleep(10);
          return ref;
        },
        onDone: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(started.length).toBeLessThanOrEqual(2);
  });
});
