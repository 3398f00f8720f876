/**
 * The job's loop: pulls the source only as the queue drains (the queue never holds more than
 * `concurrency` waiting objects on top of the `concurrency` running ones, so the listing is
 * never enqueued whole), runs each object on one bounded `p-queue`, and stops taking new
 * objects when `stopSignal` fires while the objects in flight finish. Every task promise is
 * tracked and awaited; an error thrown by `onDone` (e.g. the checkpoint cannot be written) stops
 * the loop and is rethrown once the in-flight tasks have settled.
 */
import PQueue from "p-queue";
import type { InvalidSourceEntry, ObjectRef, SourceEntry } from "../model/object-ref.js";

/** Options of {@link driveSource}. */
export interface DriveOptions<T> {
  /** Objects in flight. */
  readonly concurrency: number;
  /** Stop taking new objects (graceful). */
  readonly stopSignal?: AbortSignal;
  /** Called for every entry the source yields (progress displays count them). */
  readonly onEntry?: (entry: SourceEntry) => void;
  /** Source lines that name no object. */
  readonly onInvalid: (entry: InvalidSourceEntry) => void;
  /** Which objects to run (shard, checkpoint). @default all */
  readonly accept?: (ref: ObjectRef) => boolean;
  /** The work for one object; should not throw. */
  readonly work: (ref: ObjectRef) => Promise<T>;
  /** Called with each result, in completion order. */
  readonly onDone: (result: T) => void | Promise<void>;
}

/**
 * Runs `work` over the source.
 *
 * @returns whether the loop was stopped before the source was exhausted.
 * @example
 * ```ts
 * const { interrupted } = await driveSource(source, { concurrency: 16, work, onDone, onInvalid });
 * ```
 */
export async function driveSource<T>(
  source: AsyncIterable<SourceEntry>,
  options: DriveOptions<T>,
): Promise<{ interrupted: boolean }> {
  const concurrency = options.concurrency;
  const queue = new PQueue({ concurrency });
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let interrupted = false;
  const stopped = (): boolean => options.stopSignal?.aborted === true;
  try {
    for await (const entry of source) {
      options.onEntry?.(entry);
      if (stopped()) {
        interrupted = true;
        break;
      }
      if (failure) break;
      if (entry.kind === "invalid") {
        options.onInvalid(entry);
        continue;
      }
      if (options.accept && !options.accept(entry)) continue;
      // Back-pressure: wait for room before pulling the next entry from the source.
      await queue.onSizeLessThan(concurrency);
      if (stopped()) {
        interrupted = true;
        break;
      }
      const task = queue
        .add(async () => {
          const result = await options.work(entry);
          await options.onDone(result);
        })
        .catch((error: unknown) => {
          failure ??= { error };
        });
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
    }
  } finally {
    await queue.onIdle();
    await Promise.all(inflight);
  }
  if (failure) throw failure.error;
  return { interrupted };
}
