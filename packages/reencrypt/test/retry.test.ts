import { describe, expect, it, vi } from "vitest";
import { JobError } from "../src/index.js";
import { isRetryableError, retry } from "../src/support/retry.js";

const named = (name: string, status?: number): Error =>
  Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

describe("isRetryableError", () => {
  it.each([
    ["ThrottlingException", 400, true],
    ["SlowDown", 503, true],
    ["ServiceUnavailable", 503, true],
    ["InternalError", 500, true],
    ["BadGateway", 502, true],
    ["GatewayTimeout", 504, true],
    ["ConditionalRequestConflict", 409, true],
    ["OperationAborted", 409, true],
    ["PreconditionFailed", 412, false],
    ["NoSuchKey", 404, false],
    ["DisabledException", 400, false],
    ["AccessDeniedException", 400, false],
  ])("%s (HTTP %d) → %s", (name, status, expected) => {
    expect(isRetryableError(named(name, status))).toBe(expected);
  });

  // node-postgres' DatabaseError: name "error", the SQLSTATE as `code`.
  const database = (code: string): Error =>
    Object.assign(new Error(`SQLSTATE ${code}`), { name: "error", code });
  it.each([
    ["57P01", true], // a backend terminated by an administrator (pg_terminate_backend)
    ["57P02", true],
    ["57P03", true],
    ["08006", true], // connection failure (class 08)
    ["08003", true],
    ["40001", true], // serialization failure
    ["40P01", true], // deadlock
    ["53300", true], // too many connections
    ["42P01", false], // undefined table
    ["42703", false], // undefined column
    ["22P02", false], // invalid text representation
    ["23505", false], // unique violation
    ["P0001", false], // a trigger's RAISE EXCEPTION
  ])("PostgreSQL SQLSTATE %s → %s", (code, expected) => {
    expect(isRetryableError(database(code))).toBe(expected);
    expect(isRetryableError(new JobError("ERR_JOB_DATABASE", "q", { cause: database(code) }))).toBe(expected);
  });

  it("retries a connection node-postgres saw end", () => {
    expect(isRetryableError(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(
      isRetryableError(new Error("Client has encountered a connection error and is not queryable")),
    ).toBe(true);
  });

  it("retries network errors found in the cause chain", () => {
    const e = new Error("fetch failed", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) });
    expect(isRetryableError(e)).toBe(true);
  });
});

describe("retry", () => {
  it("retries a retryable error with full-jitter backoff, then succeeds", async () => {
    const delays: number[] = [];
    let n = 0;
    const out = await retry(
      async () => {
        if (++n < 4) throw named("ThrottlingException", 400);
        return "ok";
      },
      { baseDelayMs: 100, maxDelayMs: 250, random: () => 0.999, onRetry: (e) => delays.push(e.delayMs) },
    );
    expect(out).toBe("ok");
    expect(n).toBe(4);
    // random() * min(cap, base * 2^(attempt-1)): 99, 199, 249 (capped).
    expect(delays).toEqual([99, 199, 249]);
  });

  it("does not retry a final error", async () => {
    let n = 0;
    await expect(
      retry(async () => {
        n++;
        throw named("PreconditionFailed", 412);
      }),
    ).rejects.toThrow("PreconditionFailed");
    expect(n).toBe(1);
  });

  it("gives up after the attempts and throws the last error", async () => {
    let n = 0;
    await expect(
      retry(
        async () => {
          n++;
          throw named("SlowDown", 503);
        },
        { attempts: 3, baseDelayMs: 1 },
      ),
    ).rejects.toThrow("SlowDown");
    expect(n).toBe(3);
  });

  it("stops backing off at once when the signal aborts", async () => {
    // A fake clock: 20 ms pass, not the 10 s backoff, and a loaded machine changes nothing.
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      const p = retry(
        async () => {
          throw named("ThrottlingException", 400);
        },
        { baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.9, signal: controller.signal },
      );
      let outcome: unknown;
      p.catch((e: unknown) => (outcome = e));
      setTimeout(() => controller.abort(), 20);
      await vi.advanceTimersByTimeAsync(20);
      expect(outcome).toSatisfy((e) => e instanceof JobError && e.code === "ERR_JOB_ABORTED");
    } finally {
      vi.useRealTimers();
    }
  });
});
