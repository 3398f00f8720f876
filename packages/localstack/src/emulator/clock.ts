/**
 * The emulator's clock: real time plus an offset that tests move forward.
 *
 * Time keeps flowing (so creation dates differ and a long-running standalone emulator behaves
 * like a real service), but tests can jump months ahead to make automatic key rotations and
 * scheduled key deletions come due without waiting. The clock only moves forward: KMS state
 * (rotation dates, deletion dates) assumes time never runs backwards.
 */
import type { EmulatorClock } from "./contracts.js";

/** Called after the clock moved, with the new emulated time. */
export type ClockListener = (now: Date) => void | Promise<void>;

/** Options of {@link ManualClock}. */
export interface ManualClockOptions {
  /**
   * Where emulated time starts.
   * @default the real current time
   */
  start?: Date;
  /**
   * Source of real time in milliseconds since the epoch; tests of the clock itself replace it.
   * @default Date.now
   */
  realNow?: () => number;
}

/**
 * An {@link EmulatorClock} that follows real time from a movable starting point.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * clock.onAdvance((now) => kms.processDue(now));
 * await clock.advance(366 * 24 * 3600 * 1000); // a year later: yearly rotations fire
 * ```
 */
export class ManualClock implements EmulatorClock {
  readonly #realNow: () => number;
  #offsetMs: number;
  readonly #listeners = new Set<ClockListener>();

  constructor(options: ManualClockOptions = {}) {
    this.#realNow = options.realNow ?? Date.now;
    this.#offsetMs = options.start === undefined ? 0 : options.start.getTime() - this.#realNow();
  }

  /** Current emulated time (a fresh `Date` each call, safe to mutate). */
  now(): Date {
    return new Date(this.#realNow() + this.#offsetMs);
  }

  /**
   * Moves emulated time forward by `ms` and runs every listener (automatic rotations, deletions).
   *
   * @param ms - A finite, non-negative number of milliseconds.
   * @throws RangeError if `ms` is negative or not finite.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance expects a finite, non-negative number of ms, got ${ms}`);
    }
    this.#offsetMs += ms;
    await this.#notify();
  }

  /**
   * Moves emulated time forward to `date` and runs every listener.
   *
   * @throws RangeError if `date` is invalid or earlier than the current emulated time.
   */
  async set(date: Date): Promise<void> {
    const target = date.getTime();
    if (Number.isNaN(target)) throw new RangeError("clock.set expects a valid Date");
    const now = this.now().getTime();
    if (target < now) {
      throw new RangeError(
        `the emulated clock only moves forward (now ${new Date(now).toISOString()}, asked ${date.toISOString()})`,
      );
    }
    this.#offsetMs += target - now;
    await this.#notify();
  }

  /**
   * Registers a listener run after every {@link advance} or {@link set}.
   *
   * @returns A function that unregisters the listener.
   */
  onAdvance(listener: ClockListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async #notify(): Promise<void> {
    const now = this.now();
    for (const listener of this.#listeners) await listener(now);
  }
}
