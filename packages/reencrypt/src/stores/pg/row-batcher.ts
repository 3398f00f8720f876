/**
 * `RowBatcher`: gathers the row operations of concurrent tasks — reads of a value, compare-and-swap
 * writes — into batches, so a job sends one statement (and commits once) per batch instead of
 * once per row. A batch is sent when it holds `maxRows` operations, or `windowMs` after its first
 * one arrived, whichever comes first; batches already sent do not hold the next one back (they
 * run side by side, each on its own connection). Each operation gets its own result, or its
 * batch's error. Two operations on the same row never share a batch: the second one starts the
 * next batch.
 */
import { JobError } from "../../errors.js";

/** How operations are gathered. */
export interface RowBatchSettings {
  /** Most operations in one batch. @default 100 */
  readonly maxRows?: number;
  /** Longest wait of a batch's first operation before the batch is sent, in ms. @default 2 */
  readonly windowMs?: number;
}

/** The batching defaults. */
export const DEFAULT_ROW_BATCH: Required<RowBatchSettings> = { maxRows: 100, windowMs: 2 };

/** Runs one batch: one result per item, in the batch's order. Throws to fail them all. */
export type RunRowBatch<I, O> = (items: readonly I[]) => Promise<readonly O[]>;

interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (result: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers row operations into batches (see the module comment).
 *
 * @example
 * ```ts
 * const writes = new RowBatcher((batch) => runWrites(batch), { maxRows: 100, windowMs: 2 });
 * const outcome = await writes.add({ key: "7", old, next });
 * ```
 */
export class RowBatcher<I extends { readonly key: string }, O> {
  private readonly maxRows: number;
  private readonly windowMs: number;
  private waiting: Waiting<I, O>[] = [];
  private readonly keys = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly run: RunRowBatch<I, O>,
    settings: RowBatchSettings = {},
  ) {
    this.maxRows = Math.max(1, Math.floor(settings.maxRows ?? DEFAULT_ROW_BATCH.maxRows));
    this.windowMs = Math.max(0, settings.windowMs ?? DEFAULT_ROW_BATCH.windowMs);
  }

  /** Queues one operation; settles with its result (or its batch's error) once its batch ran. */
  add(item: I): Promise<O> {
    if (this.keys.has(item.key)) this.flush();
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.keys.add(item.key);
      if (this.waiting.length >= this.maxRows) this.flush();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Sends the gathered operations as one batch; each one's promise settles with its result. */
  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    this.keys.clear();
    if (batch.length === 0) return;
    // Never rejects: a failed batch is the failure of each of its operations, given to its task.
    void this.run(batch.map((w) => w.item)).then(
      (results) =>
        batch.forEach((w, i) => {
          if (i < results.length) w.resolve(results[i] as O);
          else w.reject(new JobError("ERR_JOB_DATABASE", "the batch returned no result for this row"));
        }),
      (error: unknown) => batch.forEach((w) => w.reject(error)),
    );
  }
}
