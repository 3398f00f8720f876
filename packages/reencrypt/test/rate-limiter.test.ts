import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { JobError } from "../src/index.js";
import { createRateLimiter } from "../src/support/rate-limiter.js";

// A fake clock: the limiter's waits are exact, and a loaded machine cannot stretch them.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("createRateLimiter", () => {
  it("lets a burst through, then spaces requests at the rate", async () => {
    const limiter = createRateLimiter({ ratePerSecond: 100, burst: 5, now: () => Date.now() });
    const started = Date.now();
    const times: number[] = [];
    const all = Promise.all(
      Array.from({ length: 25 }, () => limiter.acquire().then(() => times.push(Date.now() - started))),
    );
    await vi.runAllTimersAsync();
    await all;
    times.sort((a, b) => a - b);
    // 5 at once, then 20 more at 10 ms each: the last at 200 ms.
    expect(times.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(times[5]).toBe(10);
    expect(times[24]).toBe(200);
  });

  it("holds a sustained rate over a window", async () => {
    const limiter = createRateLimiter({ ratePerSecond: 200, burst: 1, now: () => Date.now() });
    const started = Date.now();
    const run = (async () => {
      for (let i = 0; i < 60; i++) await limiter.acquire();
    })();
    await vi.runAllTimersAsync();
    await run;
    // 60 requests at 200/s after the first: 295 ms.
    expect(Date.now() - started).toBe(295);
  });

  it("an aborted wait rejects with ERR_JOB_ABORTED", async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, now: () => Date.now() });
    await limiter.acquire();
    const c = new AbortController();
    const p = limiter.acquire(c.signal);
    c.abort();
    await expect(p).rejects.toSatisfy((e) => e instanceof JobError && e.code === "ERR_JOB_ABORTED");
  });

  it("Infinity means no cap: no request waits for a timer", async () => {
    const limiter = createRateLimiter({ ratePerSecond: Infinity });
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects a rate that is not positive", () => {
    expect(() => createRateLimiter({ ratePerSecond: 0 })).toThrow(RangeError);
  });
});
