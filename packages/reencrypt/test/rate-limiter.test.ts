import { describe, expect, it } from "vitest";
import { JobError } from "../src/index.js";
import { createRateLimiter } from "../src/support/rate-limiter.js";

describe("createRateLimiter", () => {
  it("lets a burst through, then spaces requests at the rate", async () => {
    const limiter = createRateLimiter({ ratePerSecond: 100, burst: 5 });
    const started = performance.now();
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 25 }, () => limiter.acquire().then(() => times.push(performance.now() - started))),
    );
    times.sort((a, b) => a - b);
    // 5 at once, then 20 more at 10 ms each: the last at ~200 ms.
    expect(times[4]).toBeLessThan(30);
    expect(times[24]).toBeGreaterThanOrEqual(180);
    expect(times[24]).toBeLessThan(600);
  });

  it("holds a sustained rate over a window", async () => {
    const limiter = createRateLimiter({ ratePerSecond: 200, burst: 1 });
    const started = performance.now();
    for (let i = 0; i < 60; i++) await limiter.acquire();
    const elapsed = performance.now() - started;
    // 60 requests at 200/s after the first: ≥ 295 ms.
    expect(elapsed).toBeGreaterThanOrEqual(290);
  });

  it("an aborted wait rejects with ERR_JOB_ABORTED", async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1 });
    await limiter.acquire();
    const c = new AbortController();
    const p = limiter.acquire(c.signal);
    c.abort();
    await expect(p).rejects.toSatisfy((e) => e instanceof JobError && e.code === "ERR_JOB_ABORTED");
  });

  it("Infinity means no cap", async () => {
    const limiter = createRateLimiter({ ratePerSecond: Infinity });
    const started = performance.now();
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("rejects a rate that is not positive", () => {
    expect(() => createRateLimiter({ ratePerSecond: 0 })).toThrow(RangeError);
  });
});
