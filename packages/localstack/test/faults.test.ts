/** The fault injector without a network: seeds, fractions, rate cap, latency, counters. */
import { describe, expect, it } from "vitest";
import { FaultInjector, type FaultRule } from "../src/emulator/faults.js";
import { createPrng } from "../src/emulator/prng.js";

/** An injector on a fake clock that records sleeps instead of waiting. */
function injector(seed = 1) {
  let now = 0;
  const sleeps: number[] = [];
  const faults = new FaultInjector({
    seed,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { faults, sleeps, tick: (ms: number) => (now += ms) };
}

async function outcomes(faults: FaultInjector, operation: string, count: number): Promise<string[]> {
  const result: string[] = [];
  for (let i = 0; i < count; i++) {
    const fault = await faults.before("kms", operation);
    result.push(fault.kind === "none" ? "ok" : fault.code);
  }
  return result;
}

describe("createPrng", () => {
  it("repeats its sequence for a seed and spreads over [0, 1)", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(values);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(createPrng(43)()).not.toBe(createPrng(42)());
  });
});

describe("FaultInjector", () => {
  it("passes everything when no rule is set, counting each call", async () => {
    const { faults } = injector();
    expect(await outcomes(faults, "Decrypt", 3)).toEqual(["ok", "ok", "ok"]);
    expect(faults.calls("kms:Decrypt")).toBe(3);
    expect(faults.failures()).toBe(0);
  });

  it("fails the same calls for the same seed, and about the asked fraction of them", async () => {
    const run = async (seed: number) => {
      const { faults } = injector(seed);
      faults.inject("kms:ReEncrypt", { error: "throttle", errorRate: 0.25 });
      return outcomes(faults, "ReEncrypt", 2000);
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    const failed = first.filter((outcome) => outcome !== "ok").length;
    expect(failed).toBeGreaterThan(400);
    expect(failed).toBeLessThan(600);
  });

  it("reset(seed) restarts the same sequence and forgets rules and counters", async () => {
    const { faults } = injector(3);
    const rule: FaultRule = { error: "internal", errorRate: 0.5 };
    faults.inject("kms:*", rule);
    const first = await outcomes(faults, "Encrypt", 50);
    faults.reset();
    expect(faults.calls()).toBe(0);
    expect(faults.targets()).toEqual([]);
    expect(await outcomes(faults, "Encrypt", 5)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    faults.reset(3);
    faults.inject("kms:*", rule);
    expect(await outcomes(faults, "Encrypt", 50)).toEqual(first);
  });

  it("fails every matching call when only `error` is given, and only the next N with `times`", async () => {
    const { faults } = injector();
    faults.inject("kms:Decrypt", { error: "unavailable", times: 2 });
    expect(await outcomes(faults, "Encrypt", 1)).toEqual(["ok"]);
    expect(await outcomes(faults, "Decrypt", 3)).toEqual([
      "DependencyTimeoutException",
      "DependencyTimeoutException",
      "ok",
    ]);
    expect(faults.targets()).toEqual([]);
  });

  it("matches exact operations, service wildcards and the global wildcard", async () => {
    const { faults } = injector();
    faults.inject("s3:*", { error: "throttle" });
    expect((await faults.before("s3", "PutObject")).kind).toBe("error");
    expect((await faults.before("kms", "Encrypt")).kind).toBe("none");
    faults.clear("s3:*");
    faults.inject("*", { error: "throttle" });
    expect((await faults.before("kms", "Encrypt")).kind).toBe("error");
    faults.clear();
    expect((await faults.before("kms", "Encrypt")).kind).toBe("none");
  });

  it("maps error kinds onto each service's wire errors", async () => {
    const { faults } = injector();
    const expected = {
      throttle: [
        [400, "ThrottlingException"],
        [503, "SlowDown"],
      ],
      unavailable: [
        [503, "DependencyTimeoutException"],
        [503, "ServiceUnavailable"],
      ],
      internal: [
        [500, "KMSInternalException"],
        [500, "InternalError"],
      ],
      "key-unavailable": [
        [500, "KeyUnavailableException"],
        [500, "InternalError"],
      ],
    } as const;
    for (const [kind, [kms, s3]] of Object.entries(expected)) {
      faults.inject("*", { error: kind as keyof typeof expected });
      expect(await faults.before("kms", "Encrypt")).toMatchObject({
        kind: "error",
        status: kms[0],
        code: kms[1],
      });
      expect(await faults.before("s3", "GetObject")).toMatchObject({
        kind: "error",
        status: s3[0],
        code: s3[1],
      });
    }
  });

  it("adds the latency of every matching rule", async () => {
    const { faults, sleeps } = injector();
    faults.inject("kms:Decrypt", { latencyMs: 30 });
    faults.inject("kms:*", { latencyMs: 20 });
    await faults.before("kms", "Decrypt");
    await faults.before("kms", "Encrypt");
    expect(sleeps).toEqual([50, 20]);
  });

  it("admits at most maxRequestsPerSecond in any sliding second; throttled calls use no quota", async () => {
    const { faults, tick } = injector();
    faults.inject("kms:*", { maxRequestsPerSecond: 3 });
    expect(await outcomes(faults, "GenerateDataKey", 5)).toEqual([
      "ok",
      "ok",
      "ok",
      "ThrottlingException",
      "ThrottlingException",
    ]);
    tick(999);
    expect(await outcomes(faults, "Decrypt", 1)).toEqual(["ThrottlingException"]);
    tick(1);
    expect(await outcomes(faults, "Decrypt", 4)).toEqual(["ok", "ok", "ok", "ThrottlingException"]);
    expect(faults.calls("kms:*")).toBe(10);
    expect(faults.failures("kms:Decrypt")).toBe(2);
    expect(faults.counts()).toEqual({ "kms:GenerateDataKey": 5, "kms:Decrypt": 5 });
  });

  it("kms:cryptographic is one quota shared by the cryptographic operations, not by the others", async () => {
    const { faults, tick } = injector();
    faults.inject("kms:cryptographic", { maxRequestsPerSecond: 3 });
    const one = async (operation: string) => (await outcomes(faults, operation, 1))[0];
    expect([await one("Encrypt"), await one("Decrypt"), await one("GenerateDataKey")]).toEqual([
      "ok",
      "ok",
      "ok",
    ]);
    // The fourth cryptographic call in the same second is throttled, whatever its operation...
    for (const operation of ["ReEncrypt", "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "Encrypt"]) {
      expect(await one(operation), operation).toBe("ThrottlingException");
    }
    // ...while calls outside the group have no share in it.
    for (const operation of ["DescribeKey", "CreateKey", "ListKeys", "GetKeyRotationStatus"]) {
      expect(await one(operation), operation).toBe("ok");
    }
    tick(1000);
    expect(await one("ReEncrypt")).toBe("ok");
    expect(faults.calls("kms:cryptographic")).toBe(8);
    expect(faults.failures("kms:cryptographic")).toBe(4);
  });

  it("per-operation rules keep one window each (they cannot model a shared quota)", async () => {
    const { faults } = injector();
    faults.inject("kms:Encrypt", { maxRequestsPerSecond: 2 });
    faults.inject("kms:Decrypt", { maxRequestsPerSecond: 2 });
    expect(await outcomes(faults, "Encrypt", 2)).toEqual(["ok", "ok"]);
    expect(await outcomes(faults, "Decrypt", 2)).toEqual(["ok", "ok"]);
  });

  it("refuses malformed targets and out-of-range values", () => {
    const { faults } = injector();
    expect(() => faults.inject("kms", { error: "throttle" })).toThrow(RangeError);
    expect(() => faults.inject("dynamodb:*", { error: "throttle" })).toThrow(RangeError);
    expect(() => faults.inject("kms:symmetric", { error: "throttle" })).toThrow(RangeError);
    expect(() => faults.inject("s3:cryptographic", { error: "throttle" })).toThrow(RangeError);
    for (const name of ["toString", "constructor", "__proto__"])
      expect(() => faults.inject(name, { error: "throttle" })).toThrow(RangeError);
    expect(() => faults.inject("kms:*", { errorRate: 1.5 })).toThrow(RangeError);
    expect(() => faults.inject("kms:*", { latencyMs: -1 })).toThrow(RangeError);
    expect(() => faults.inject("kms:*", { maxRequestsPerSecond: 1.5 })).toThrow(RangeError);
    expect(() => faults.inject("kms:*", { times: 0 })).toThrow(RangeError);
    expect(() => faults.calls("nope")).toThrow(RangeError);
  });
});
