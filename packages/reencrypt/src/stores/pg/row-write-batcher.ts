/**
 * `RowWriteBatcher`: gathers the compare-and-swap writes of concurrent tasks into batches, so a
 * job commits once per batch instead of once per row. A batch is sent when it holds `maxRows`
 * writes, or `windowMs` after its first write arrived, whichever comes first; batches already
 * sent do not hold the next one back (they run side by side, each on its own connection).
 * Each write learns its own outcome — written, or the row no longer held the value it was
 * read with (a conflict) — or the batch's error. Two writes of the same row never share a
 * batch: the second one starts the next batch.
 */

import { JobError } from "../../errors.js";

/** One row's compare-and-swap. */
export interface RowWrite {
  /** The row's key, as the listing printed it (`key::text`). */
  readonly key: string;
  /** The value the row held when it was read, as stored. */
  readonly old: Buffer | string;
  /** The value to store. */
  readonly next: Buffer | string;
}

/** A write's outcome in its batch: stored, the row no longer held `old`, or a failure of its own. */
export type RowWriteOutcome = "written" | "conflict" | { readonly error: unknown };

/** Runs one batch: one outcome per write, in the batch's order. Throws to fail them all. */
export type RunRowWrites = (writes: readonly RowWrite[]) => Promise<readonly RowWriteOutcome[]>;

/** How writes are gathered. */
export interface RowWriteBatchSettings {
  /** Most writes in one batch. @default 100 */
  readonly maxRows?: number;
  /** Longest wait of a batch's first write before the batch is sent. @default 2 */
  readonly windowMs?: number;
}

/** The batching defaults. */
export const DEFAULT_ROW_WRITE_BATCH: Required<RowWriteBatchSettings> = { maxRows: 100, windowMs: 2 };

interface Waiting {
  readonly write: RowWrite;
  readonly settle: (outcome: RowWriteOutcome) => void;
}

/**
 * Gathers writes into batches (see the module comment).
 *
 * @example
 * ```ts
 * const batcher = new RowWriteBatcher((writes) => runBatch(writes), { maxRows: 100, windowMs: 2 });
 * const outcome = await batcher.write({ key: "7", old, next }); // "written" | "conflict" | { error }
 * ```
 */
export class RowWriteBatcher {
  private readonly maxRows: number;
  private readonly windowMs: number;
  private waiting: Waiting[] = [];
  private readonly keys = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly run: RunRowWrites,
    settings: RowWriteBatchSettings = {},
  ) {
    this.maxRows = Math.max(1, Math.floor(settings.maxRows ?? DEFAULT_ROW_WRITE_BATCH.maxRows));
    this.windowMs = Math.max(0, settings.windowMs ?? DEFAULT_ROW_WRITE_BATCH.windowMs);
  }

  /** Queues one write; resolves with its outcome once its batch ran. */
  write(write: RowWrite): Promise<RowWriteOutcome> {
    if (this.keys.has(write.key)) this.flush();
    return new Promise<RowWriteOutcome>((settle) => {
      this.waiting.push({ write, settle });
      this.keys.add(write.key);
      if (this.waiting.length >= this.maxRows) this.flush();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Sends the gathered writes as one batch; every write's promise settles with its outcome. */
  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    this.keys.clear();
    if (batch.length === 0) return;
    // Never rejects: a failed batch is each of its writes' failure, delivered to its task.
    void this.run(batch.map((w) => w.write)).then(
      (outcomes) =>
        batch.forEach((w, i) =>
          w.settle(
            outcomes[i] ?? { error: new JobError("ERR_JOB_DATABASE", "the batch returned no outcome") },
          ),
        ),
      (error: unknown) => batch.forEach((w) => w.settle({ error })),
    );
  }
}
