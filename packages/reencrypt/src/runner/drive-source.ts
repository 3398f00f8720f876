/**
 * The job's loop: pulls the source only as the queue drains (the queue never holds more than
 * `concurrency` waiting objects on top of the `concurrency` running ones, so the listing is
 * never enqueued whole), runs each object on one bounded `p-queue`, and stops taking new
 * objects when `stopSignal` fires: the objects in flight finish, those queued but not started are
 * dropped (not run, not reported, not checkpointed: a resumed job takes them), also while the
 * queue drains after the source has ended. Every task promise is tracked and awaited; an error
 * thrown by `onDone` (e.g. the checkpoint cannot be written) stops the loop, starts nothing more,
 * and is rethrown once the in-flight tasks have settled.
 */
import PQueue from "p-queue";
import type { InvalidSourceEntry, ObjectRef, SourceEntry } from "../model/object-ref.js";

/** Options of {@link driveSource}. */
export interface DriveOptions<T> {
  /** Objects in flight. */
  readonly concurrency: number;
  /** Stop taking new objects (graceful). */
  readonly stopSignal?: AbortSignal;
  /**
   * Called for every entry the job will run (after `accept`: not those of another shard or
   * already in the checkpoint) and every invalid entry — what a progress display counts.
   */
  readonly onEntry?: (entry: SourceEntry) => void;
  /**
   * Called once the source has been read to its end (not when the loop stopped early): the
   * `onEntry` count is final from then on.
   */
  readonly onSourceEnd?: () => void;
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
  const tasks = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let interrupted = false;
  let leftEarly = false;
  const stopped = (): boolean => options.stopSignal?.aborted === true;
  try {
    for await (const entry of source) {
      if (stopped()) {
        interrupted = true;
        leftEarly = true;
        break;
      }
      if (failure) {
        leftEarly = true;
        break;
      }
      if (entry.kind === "invalid") {
        options.onEntry?.(entry);
        options.onInvalid(entry);
        continue;
      }
      if (options.accept && !options.accept(entry)) continue;
      options.onEntry?.(entry);
      // Back-pressure: wait for room before pulling the next entry from the source.
      await queue.onSizeLessThan(concurrency);
      if (stopped()) {
        interrupted = true;
        leftEarly = true;
        break;
      }
      if (failure) {
        leftEarly = true;
        break;
      }
      const task = queue.add(async () => {
        // Checked as the task starts, not as it is queued: p-queue starts a queued task the
        // moment a running one settles, so a stop or a failure in between drops it here.
        if (stopped()) {
          interrupted = true;
          return;
        }
        if (failure) return;
        try {
          await options.onDone(await options.work(entry));
        } catch (error) {
          failure ??= { error };
        }
      });
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    }
    if (!leftEarly) options.onSourceEnd?.();
  } finally {
    // Every queued task settles (those dropped at once); none rejects, each catches its own.
    await Promise.all(tasks);
  }
  if (failure) throw failure.error;
  return { interrupted };
}
