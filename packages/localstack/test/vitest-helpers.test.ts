/** The vitest glue: capability skips carry the backend's reason. */
import { describe, expect, it, vi } from "vitest";
import type { TestContext } from "vitest";
import type { LocalAws, LocalAwsCapability } from "../src/index.js";
import { requireCapability, useLocalAws } from "../src/vitest.js";

function fakeAws(missing: Partial<Record<LocalAwsCapability, string>>): LocalAws {
  return { missing: (capability: LocalAwsCapability) => missing[capability] } as unknown as LocalAws;
}

function fakeContext() {
  const skip = vi.fn((note?: string) => {
    throw new Error(`skipped: ${note}`);
  });
  return { ctx: { skip } as unknown as TestContext, skip };
}

describe("requireCapability", () => {
  it("does nothing when the backend has every capability", () => {
    const { ctx, skip } = fakeContext();
    requireCapability(ctx, fakeAws({}), "clock", "faults");
    expect(skip).not.toHaveBeenCalled();
  });

  it("skips with the backend's reason for the first missing capability", () => {
    const { ctx, skip } = fakeContext();
    const aws = fakeAws({ listKeyRotations: "LocalStack 4.14 does not implement ListKeyRotations (501)" });
    expect(() => requireCapability(ctx, aws, "clock", "listKeyRotations")).toThrow(/skipped/);
    expect(skip).toHaveBeenCalledWith(
      "needs listKeyRotations: LocalStack 4.14 does not implement ListKeyRotations (501)",
    );
  });
});

describe("useLocalAws", () => {
  const aws = useLocalAws({ backend: "builtin", log: false });

  it("hands out the started backend inside tests", () => {
    expect(aws.backend).toBe("builtin");
    expect(aws.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect("faults" in aws).toBe(true);
  });

  it("resets injected faults between tests (part 1: inject)", () => {
    aws.faults!.inject("kms:*", { error: "throttle" });
    expect(aws.faults!.targets()).toEqual(["kms:*"]);
  });

  it("resets injected faults between tests (part 2: gone)", () => {
    expect(aws.faults!.targets()).toEqual([]);
  });
});

describe("useLocalAws before its hooks ran", () => {
  const early = useLocalAws({ backend: "builtin", log: false });
  // Read at collection time, before beforeAll started anything.
  let message = "no error";
  try {
    void early.endpoint;
  } catch (error) {
    message = (error as Error).message;
  }

  it("throws a clear error when read at collection time", () => {
    expect(message).toMatch(/"endpoint" read before beforeAll/);
    expect(early.endpoint).toMatch(/^http:/);
  });
});
