import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { multipartLayout, S3_MULTIPART } from "../src/stores/s3/multipart-layout.js";

const MiB = 1024 * 1024;

describe("multipartLayout", () => {
  it("1 GiB: part 1 is 5 MiB with the new prefix, the rest is copied server-side", () => {
    const parts = multipartLayout({
      prefixLength: 800,
      bodyOffset: 700,
      size: 1024 * MiB,
      copyPartBytes: 256 * MiB,
    });
    expect(parts[0]).toEqual({ partNumber: 1, kind: "upload", start: 700, end: 700 + 5 * MiB - 800 });
    expect(parts.slice(1).every((p) => p.kind === "copy")).toBe(true);
    expect(parts.length).toBe(1 + Math.ceil((1024 * MiB - (700 + 5 * MiB - 800)) / (256 * MiB)));
    expect(parts.at(-1)?.end).toBe(1024 * MiB);
  });

  it("raises the part size to stay within 10,000 parts", () => {
    const size = 5 * 1024 * 1024 * MiB; // 5 TiB
    const parts = multipartLayout({ prefixLength: 800, bodyOffset: 700, size, copyPartBytes: 64 * MiB });
    expect(parts.length).toBeLessThanOrEqual(S3_MULTIPART.maxParts);
  });

  it("property: parts are contiguous, cover the body, and respect the S3 size rules", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 70_000 }),
        fc.integer({ min: 100, max: 70_000 }),
        fc.integer({ min: 5 * MiB + 1, max: 50 * 1024 * MiB }),
        fc.integer({ min: 5, max: 600 }),
        (prefixLength, bodyOffset, size, copyMiB) => {
          const parts = multipartLayout({ prefixLength, bodyOffset, size, copyPartBytes: copyMiB * MiB });
          expect(parts[0]?.start).toBe(bodyOffset);
          expect(parts.at(-1)?.end).toBe(size);
          for (let i = 1; i < parts.length; i++) expect(parts[i]?.start).toBe(parts[i - 1]?.end);
          parts.forEach((p, i) => {
            expect(p.partNumber).toBe(i + 1);
            const bytes = (p.kind === "upload" ? prefixLength : 0) + p.end - p.start;
            if (i < parts.length - 1) expect(bytes).toBeGreaterThanOrEqual(S3_MULTIPART.minPartBytes);
            expect(bytes).toBeLessThanOrEqual(S3_MULTIPART.maxPartBytes);
          });
          expect(parts.length).toBeLessThanOrEqual(S3_MULTIPART.maxParts);
        },
      ),
      { numRuns: 60 },
    );
  });
});
