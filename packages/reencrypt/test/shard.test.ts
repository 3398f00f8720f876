/** Sharding: `--shard i/n` parsing, and every object in exactly one shard. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JobError, type ObjectRef } from "../src/index.js";
import { inShard, parseShard } from "../src/runner/shard.js";

const ref = fc.oneof(
  fc.record({
    kind: fc.constant("s3" as const),
    bucket: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/),
    key: fc.string({ minLength: 1, unit: "grapheme" }),
    versionId: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant("file" as const), path: fc.string({ minLength: 1, unit: "grapheme" }) }),
) as fc.Arbitrary<ObjectRef>;

describe("parseShard", () => {
  it("reads i/n as 1-based on the command line", () => {
    expect(parseShard("1/1")).toEqual({ index: 0, count: 1 });
    expect(parseShard("2/8")).toEqual({ index: 1, count: 8 });
    expect(parseShard("8/8")).toEqual({ index: 7, count: 8 });
  });

  for (const bad of ["", "1", "0/8", "9/8", "1/0", "-1/4", "a/b", "1/8/2", " 1/8", "1 /8", "1.5/8", "2/8x"])
    it(`refuses ${JSON.stringify(bad)} with a clear error`, () => {
      expect(() => parseShard(bad)).toThrow(
        expect.objectContaining({ code: "ERR_JOB_INVALID_OPTION", message: expect.stringMatching(/i\/n/) }),
      );
      expect(() => parseShard(bad)).toThrow(JobError);
    });
});

describe("inShard", () => {
  it("puts every object in exactly one shard of n", () => {
    fc.assert(
      fc.property(ref, fc.integer({ min: 1, max: 64 }), (r, count) => {
        let owners = 0;
        for (let index = 0; index < count; index++) if (inShard(r, { index, count })) owners++;
        expect(owners).toBe(1);
      }),
      { numRuns: 500 },
    );
  });

  it("is stable (the same object always lands in the same shard) and spreads objects evenly", () => {
    const count = 8;
    const sizes = new Array<number>(count).fill(0);
    for (let i = 0; i < 8000; i++) {
      const r: ObjectRef = { kind: "s3", bucket: "data-bucket", key: `2024/05/${i}.rkey` };
      const at = Array.from({ length: count }, (_, index) => index).filter((index) =>
        inShard(r, { index, count }),
      );
      expect(at).toHaveLength(1);
      expect(inShard({ ...r }, { index: at[0]!, count })).toBe(true);
      sizes[at[0]!]!++;
    }
    for (const n of sizes) expect(n).toBeGreaterThan(800);
  });
});
