/** The emulator clock: real time plus a forward-only offset, with listeners. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../src/emulator/clock.js";

describe("ManualClock", () => {
  it("starts at real now by default, or at the given date, and follows real time", () => {
    let real = Date.UTC(2030, 0, 1);
    const clock = new ManualClock({ realNow: () => real });
    expect(clock.now().getTime()).toBe(real);
    const started = new ManualClock({ start: new Date(Date.UTC(2020, 5, 1)), realNow: () => real });
    real += 5000;
    expect(started.now().toISOString()).toBe("2020-06-01T00:00:05.000Z");
  });

  it("advances and sets forward, running listeners with the new time", async () => {
    const clock = new ManualClock({ start: new Date(0), realNow: () => 0 });
    const seen: number[] = [];
    const unsubscribe = clock.onAdvance((now) => {
      seen.push(now.getTime());
    });
    await clock.advance(1000);
    await clock.set(new Date(5000));
    unsubscribe();
    await clock.advance(1);
    expect(seen).toEqual([1000, 5000]);
    expect(clock.now().getTime()).toBe(5001);
  });

  it("never moves backwards", async () => {
    const clock = new ManualClock({ start: new Date(10_000), realNow: () => 0 });
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.advance(Number.NaN)).rejects.toThrow(RangeError);
    await expect(clock.set(new Date(9_999))).rejects.toThrow(RangeError);
    await expect(clock.set(new Date(Number.NaN))).rejects.toThrow(RangeError);
    expect(clock.now().getTime()).toBe(10_000);
  });

  it("hands out copies of the date", () => {
    const clock = new ManualClock({ start: new Date(0), realNow: () => 0 });
    clock.now().setTime(123);
    expect(clock.now().getTime()).toBe(0);
  });
});
