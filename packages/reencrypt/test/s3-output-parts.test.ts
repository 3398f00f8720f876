/**
 * The part size of an S3 output: 8 MiB unless the input's known size needs more to fit S3's
 * 10,000 parts (with room for the encryption's growth).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_S3_OUTPUT_PART_BYTES, s3OutputPartBytes } from "../src/file-tools/s3-output.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("s3OutputPartBytes", () => {
  it("is 8 MiB for an unknown size and for anything up to 9,000 parts of 8 MiB", () => {
    expect(DEFAULT_S3_OUTPUT_PART_BYTES).toBe(8 * MiB);
    for (const size of [undefined, 0, 1, 8 * MiB, 9_000 * 8 * MiB])
      expect(s3OutputPartBytes(size)).toBe(8 * MiB);
  });

  it("grows in whole MiB so that a large input (and its output, a little larger) fits in 10,000 parts", () => {
    expect(s3OutputPartBytes(9_000 * 8 * MiB + 1)).toBe(9 * MiB);
    for (const size of [100 * GiB, 200 * GiB, 1024 * GiB, 5 * 1024 * GiB]) {
      const part = s3OutputPartBytes(size);
      expect(part % MiB).toBe(0);
      expect(Math.ceil((size * 1.1) / part)).toBeLessThanOrEqual(10_000);
      // Not larger than needed: one MiB less would take more than the 9,000 parts planned.
      expect(Math.ceil(size / (part - MiB))).toBeGreaterThan(9_000);
    }
    expect(s3OutputPartBytes(200 * GiB)).toBe(23 * MiB);
  });
});
