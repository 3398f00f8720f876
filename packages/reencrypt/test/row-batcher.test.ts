/**
 * RowBatcher without a database: batches cut at maxRows or at the end of the window, two
 * operations on one row never in one batch, each operation given its own result, a failed batch
 * the failure of each of its operations and of no other.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RowBatcher } from "../src/stores/pg/row-batcher.js";

interface RowWrite {
  readonly key: string;
  readonly next: string;
}
type Outcome = "written" | "conflict";
const w = (key: string): RowWrite => ({ key, next: `new-${key}` });

/** A batch runner that records its batches; keys in `conflicts` come back as conflicts. */
function recorder(conflicts: ReadonlySet<string> = new Set()) {
  const batches: string[][] = [];
  const run = (writes: readonly RowWrite[]): Promise<Outcome[]> => {
    batches.push(writes.map((x) => x.key));
    return Promise.resolve(writes.map((x) => (conflicts.has(x.key) ? "conflict" : "written")));
  };
  return { batches, run };
}

describe("RowBatcher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends a batch as soon as it holds maxRows operations, without waiting for the window", async () => {
    const { batches, run } = recorder();
    const batcher = new RowBatcher(run, { maxRows: 3, windowMs: 60_000 });
    const outcomes = Promise.all(["1", "2", "3"].map((k) => batcher.add(w(k))));
    await expect(outcomes).resolves.toEqual(["written", "written", "written"]);
    expect(batches).toEqual([["1", "2", "3"]]);
  });

  it("sends a partial batch when the window of its first operation ends", async () => {
    const { batches, run } = recorder();
    const batcher = new RowBatcher(run, { maxRows: 100, windowMs: 5 });
    const first = batcher.add(w("1"));
    const second = batcher.add(w("2"));
    await vi.advanceTimersByTimeAsync(4);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([["1", "2"]]);
    await expect(Promise.all([first, second])).resolves.toEqual(["written", "written"]);
    // The next operation opens a new window.
    const third = batcher.add(w("3"));
    await vi.advanceTimersByTimeAsync(5);
    await expect(third).resolves.toBe("written");
    expect(batches).toEqual([["1", "2"], ["3"]]);
  });

  it("gives each operation its own result: a conflict in a batch does not touch the others", async () => {
    const { run } = recorder(new Set(["2"]));
    const batcher = new RowBatcher(run, { maxRows: 3, windowMs: 60_000 });
    const outcomes = await Promise.all(["1", "2", "3"].map((k) => batcher.add(w(k))));
    expect(outcomes).toEqual(["written", "conflict", "written"]);
  });

  it("never puts two operations on one row in one batch", async () => {
    const { batches, run } = recorder();
    const batcher = new RowBatcher(run, { maxRows: 10, windowMs: 5 });
    const all = Promise.all([batcher.add(w("1")), batcher.add(w("2")), batcher.add(w("1"))]);
    await vi.advanceTimersByTimeAsync(5);
    await all;
    expect(batches).toEqual([["1", "2"], ["1"]]);
  });

  it("delivers a failed batch's error to every operation of it, and to no other", async () => {
    const boom = new Error("connection lost for good");
    let calls = 0;
    const batcher = new RowBatcher<RowWrite, Outcome>(
      (writes) =>
        ++calls === 1 ? Promise.reject(boom) : Promise.resolve(writes.map(() => "written" as const)),
      { maxRows: 2, windowMs: 60_000 },
    );
    const failed = await Promise.allSettled([batcher.add(w("1")), batcher.add(w("2"))]);
    expect(failed).toEqual([
      { status: "rejected", reason: boom },
      { status: "rejected", reason: boom },
    ]);
    const next = await Promise.all([batcher.add(w("3")), batcher.add(w("4"))]);
    expect(next).toEqual(["written", "written"]);
  });
});
