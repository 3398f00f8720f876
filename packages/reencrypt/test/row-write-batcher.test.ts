/**
 * RowWriteBatcher without a database: batches cut at maxRows or at the end of the window, two
 * writes of one row never in one batch, each write given its own outcome, a failed batch the
 * failure of each of its writes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RowWriteBatcher, type RowWrite, type RowWriteOutcome } from "../src/stores/pg/row-write-batcher.js";

const w = (key: string): RowWrite => ({ key, old: `old-${key}`, next: `new-${key}` });

/** A batch runner that records its batches; keys in `conflicts` come back as conflicts. */
function recorder(conflicts: ReadonlySet<string> = new Set()) {
  const batches: string[][] = [];
  const run = (writes: readonly RowWrite[]): Promise<RowWriteOutcome[]> => {
    batches.push(writes.map((x) => x.key));
    return Promise.resolve(writes.map((x) => (conflicts.has(x.key) ? "conflict" : "written")));
  };
  return { batches, run };
}

describe("RowWriteBatcher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends a batch as soon as it holds maxRows writes, without waiting for the window", async () => {
    const { batches, run } = recorder();
    const batcher = new RowWriteBatcher(run, { maxRows: 3, windowMs: 60_000 });
    const outcomes = Promise.all(["1", "2", "3"].map((k) => batcher.write(w(k))));
    await expect(outcomes).resolves.toEqual(["written", "written", "written"]);
    expect(batches).toEqual([["1", "2", "3"]]);
  });

  it("sends a partial batch when the window of its first write ends", async () => {
    const { batches, run } = recorder();
    const batcher = new RowWriteBatcher(run, { maxRows: 100, windowMs: 5 });
    const first = batcher.write(w("1"));
    const second = batcher.write(w("2"));
    await vi.advanceTimersByTimeAsync(4);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([["1", "2"]]);
    await expect(Promise.all([first, second])).resolves.toEqual(["written", "written"]);
    // The next write opens a new window.
    const third = batcher.write(w("3"));
    await vi.advanceTimersByTimeAsync(5);
    await expect(third).resolves.toBe("written");
    expect(batches).toEqual([["1", "2"], ["3"]]);
  });

  it("gives each write its own outcome: a conflict in a batch does not touch the others", async () => {
    const { run } = recorder(new Set(["2"]));
    const batcher = new RowWriteBatcher(run, { maxRows: 3, windowMs: 60_000 });
    const outcomes = await Promise.all(["1", "2", "3"].map((k) => batcher.write(w(k))));
    expect(outcomes).toEqual(["written", "conflict", "written"]);
  });

  it("never puts two writes of one row in one batch", async () => {
    const { batches, run } = recorder();
    const batcher = new RowWriteBatcher(run, { maxRows: 10, windowMs: 5 });
    const all = Promise.all([batcher.write(w("1")), batcher.write(w("2")), batcher.write(w("1"))]);
    await vi.advanceTimersByTimeAsync(5);
    await all;
    expect(batches).toEqual([["1", "2"], ["1"]]);
  });

  it("delivers a failed batch's error to every write of it, and to no other", async () => {
    const boom = new Error("connection lost for good");
    let calls = 0;
    const batcher = new RowWriteBatcher(
      (writes) =>
        ++calls === 1 ? Promise.reject(boom) : Promise.resolve(writes.map(() => "written" as const)),
      { maxRows: 2, windowMs: 60_000 },
    );
    const failed = await Promise.all([batcher.write(w("1")), batcher.write(w("2"))]);
    expect(failed).toEqual([{ error: boom }, { error: boom }]);
    const next = await Promise.all([batcher.write(w("3")), batcher.write(w("4"))]);
    expect(next).toEqual(["written", "written"]);
  });
});
