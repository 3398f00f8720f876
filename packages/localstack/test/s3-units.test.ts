/**
 * Unit tests of the emulator's S3 building blocks: aws-chunked decoding, checksums, ranges,
 * key order, listing walks, XML and conditions. No network.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { sliceExtents } from "../src/emulator/s3/blobs.js";
import type { Extent } from "../src/emulator/s3/blobs.js";
import { CHECKSUM_ALGORITHMS, createChecksum } from "../src/emulator/s3/checksum.js";
import { AwsChunkedDecoder } from "../src/emulator/s3/chunked.js";
import { etagMatches } from "../src/emulator/s3/conditions.js";
import { S3Error } from "../src/emulator/s3/errors.js";
import { urlEncodeKey, walkKeys } from "../src/emulator/s3/listing.js";
import type { ListItem } from "../src/emulator/s3/listing.js";
import { parseCopySourceRange, parseRange } from "../src/emulator/s3/range.js";
import { compareKeys, searchKeys } from "../src/emulator/s3/store.js";
import { childList, childText, el, parseXmlBody, renderDocument } from "../src/emulator/s3/xml.js";

function encodeChunked(data: Buffer, chunkSize: number, trailer?: string, signed = false): Buffer {
  const parts: Buffer[] = [];
  const sig = signed ? `;chunk-signature=${"a".repeat(64)}` : "";
  for (let i = 0; i < data.length; i += chunkSize) {
    const chunk = data.subarray(i, i + chunkSize);
    parts.push(Buffer.from(`${chunk.length.toString(16)}${sig}\r\n`), chunk, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from(`0${sig}\r\n`));
  if (trailer !== undefined) parts.push(Buffer.from(`${trailer}\r\n\r\n`));
  return Buffer.concat(parts);
}

function decodeInPieces(
  wire: Buffer,
  cuts: number[],
): { data: Buffer; trailers: ReadonlyMap<string, string> } {
  const decoder = new AwsChunkedDecoder();
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < wire.length)]
    .sort((a, b) => a - b)
    .concat(wire.length)) {
    out.push(...decoder.push(wire.subarray(from, cut)));
    from = cut;
  }
  return { data: Buffer.concat(out), trailers: decoder.finish() };
}

describe("AwsChunkedDecoder", () => {
  test("decodes the SDK's unsigned form with a checksum trailer", () => {
    const data = Buffer.from("hello, chunked world");
    const wire = encodeChunked(data, 7, "x-amz-checksum-crc32:AAAAAA==");
    const { data: decoded, trailers } = decodeInPieces(wire, []);
    expect(decoded).toEqual(data);
    expect(trailers.get("x-amz-checksum-crc32")).toBe("AAAAAA==");
  });

  test("decodes signed chunks and a body that ends right after the last chunk", () => {
    const data = Buffer.from("0123456789".repeat(10));
    const { data: decoded, trailers } = decodeInPieces(encodeChunked(data, 33, undefined, true), []);
    expect(decoded).toEqual(data);
    expect(trailers.size).toBe(0);
  });

  test("gives the same bytes however the wire is split (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.boolean(),
        (bytes, chunkSize, cuts, signed) => {
          const data = Buffer.from(bytes);
          const wire = encodeChunked(data, chunkSize, "x-amz-checksum-sha256:abc", signed);
          const points = cuts.map((c) => c % (wire.length + 1));
          const { data: decoded, trailers } = decodeInPieces(wire, points);
          expect(decoded).toEqual(data);
          expect(trailers.get("x-amz-checksum-sha256")).toBe("abc");
        },
      ),
    );
  });

  test.each([
    ["a bad size line", "zz\r\nabc\r\n0\r\n\r\n"],
    ["a missing CRLF after data", "3\r\nabcX0\r\n\r\n"],
    ["a body cut mid-chunk", "a\r\nabc"],
    ["a body with no final chunk", "3\r\nabc\r\n"],
    ["bytes after the end", "3\r\nabc\r\n0\r\n\r\nextra"],
  ])("rejects %s", (_name, wire) => {
    const decoder = new AwsChunkedDecoder();
    expect(() => {
      decoder.push(Buffer.from(wire));
      decoder.finish();
    }).toThrow(S3Error);
  });

  test("bounds a framing line that never ends", () => {
    const decoder = new AwsChunkedDecoder();
    expect(() => decoder.push(Buffer.alloc(10_000, 0x31))).toThrow(S3Error);
  });
});

describe("checksums", () => {
  // Check values of the CRC catalogue for the ASCII string "123456789".
  test.each([
    ["CRC32", "cbf43926"],
    ["CRC32C", "e3069283"],
    ["CRC64NVME", "ae8b14860a799888"],
  ] as const)("%s check value", async (algorithm, hex) => {
    const sum = createChecksum(algorithm);
    sum.update(Buffer.from("12345"));
    sum.update(Buffer.from("6789"));
    expect((await sum.digest()).toString("hex")).toBe(hex);
  });

  test("SHA1 and SHA256 match node:crypto", async () => {
    for (const [algorithm, name] of [
      ["SHA1", "sha1"],
      ["SHA256", "sha256"],
    ] as const) {
      const sum = createChecksum(algorithm);
      sum.update(Buffer.from("abc"));
      expect(await sum.digest()).toEqual(createHash(name).update("abc").digest());
    }
  });

  test("property: a body fed in any chunks has the digest of the whole body", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CHECKSUM_ALGORITHMS),
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(300), { maxLength: 6 }),
        async (algorithm, bytes, cuts) => {
          const whole = createChecksum(algorithm);
          whole.update(bytes);
          const pieces = createChecksum(algorithm);
          let at = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            pieces.update(bytes.subarray(at, Math.max(at, cut)));
            at = Math.max(at, cut);
          }
          pieces.update(bytes.subarray(at));
          expect(await pieces.digest()).toEqual(await whole.digest());
        },
      ),
    );
  });
});

describe("ranges", () => {
  test.each([
    ["bytes=0-9", 100, { start: 0, end: 9 }],
    ["bytes=90-", 100, { start: 90, end: 99 }],
    ["bytes=-10", 100, { start: 90, end: 99 }],
    ["bytes=-500", 100, { start: 0, end: 99 }],
    ["bytes=50-5000", 100, { start: 50, end: 99 }],
    ["bytes=5-1", 100, undefined],
    ["bytes=0-1,5-6", 100, undefined],
    ["items=0-1", 100, undefined],
    [undefined, 100, undefined],
  ] as const)("Range %s of %d bytes", (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  test.each([
    ["bytes=100-", 100],
    ["bytes=-0", 100],
    ["bytes=0-", 0],
  ])("Range %s of %d bytes is InvalidRange", (header, size) => {
    expect(() => parseRange(header, size)).toThrow(
      expect.objectContaining({ code: "InvalidRange", status: 416 }),
    );
  });

  test("copy-source ranges must be complete and inside the source", () => {
    expect(parseCopySourceRange("bytes=0-9", 10)).toEqual({ start: 0, end: 9 });
    for (const bad of ["bytes=0-10", "bytes=5-", "bytes=-5", "bytes=4-3"]) {
      expect(() => parseCopySourceRange(bad, 10)).toThrow(
        expect.objectContaining({ code: "InvalidArgument" }),
      );
    }
  });
});

describe("key order", () => {
  test("is UTF-8 byte order, astral characters after the rest of the BMP", () => {
    const keys = ["b", "\u{1F600}", "\uFF21", "a", "a/", "A", "é", "a0"];
    const sorted = [...keys].sort(compareKeys);
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(sorted).toEqual(byBytes);
  });

  test("matches Buffer.compare on random strings (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
  });

  test("searchKeys finds exclusive and inclusive starts", () => {
    const sorted = ["a", "b", "b", "c"];
    expect(searchKeys(sorted, "b", true)).toBe(1);
    expect(searchKeys(sorted, "b", false)).toBe(3);
    expect(searchKeys(sorted, "z", false)).toBe(4);
  });
});

describe("walkKeys", () => {
  const keys = ["a/1", "a/2", "b", "c/x/1", "c/y", "d"].sort(compareKeys);
  const walk = (after?: string, prefix = "", delimiter = "/"): ListItem[] => [
    ...walkKeys(keys, { prefix, delimiter, ...(after === undefined ? {} : { after }), eligible: () => true }),
  ];

  test("rolls keys up into common prefixes", () => {
    expect(walk()).toEqual([
      { kind: "prefix", prefix: "a/" },
      { kind: "key", key: "b" },
      { kind: "prefix", prefix: "c/" },
      { kind: "key", key: "d" },
    ]);
  });

  test("resumes after a common prefix without repeating it", () => {
    expect(walk("a/")).toEqual([
      { kind: "key", key: "b" },
      { kind: "prefix", prefix: "c/" },
      { kind: "key", key: "d" },
    ]);
  });

  test("nests under a prefix", () => {
    expect(walk(undefined, "c/")).toEqual([
      { kind: "prefix", prefix: "c/x/" },
      { kind: "key", key: "c/y" },
    ]);
  });
});

describe("XML", () => {
  test("escapes text so keys with markup and control characters round-trip", () => {
    const key = `a<b>&"c'\r\n\tz`;
    const xml = renderDocument(el("Delete", [el("Object", [el("Key", key)])]));
    const root = parseXmlBody(Buffer.from(xml), "Delete");
    expect(childText(childList(root, "Object")[0]!, "Key")).toBe(key);
  });

  test.each([
    "",
    "garbage",
    "<Delete><Object></Delete>",
    "<Other/>",
    '<!DOCTYPE x [<!ENTITY a "b">]><Delete/>',
  ])("refuses %j as MalformedXML", (text) => {
    expect(() => parseXmlBody(Buffer.from(text), "Delete")).toThrow(
      expect.objectContaining({ code: "MalformedXML" }),
    );
  });
});

describe("entity tags and key encoding", () => {
  test("etagMatches accepts quoted, weak, bare, lists and *", () => {
    expect(etagMatches('"abc"', "abc")).toBe(true);
    expect(etagMatches('W/"abc"', "abc")).toBe(true);
    expect(etagMatches('"x", "abc"', "abc")).toBe(true);
    expect(etagMatches("*", "abc")).toBe(true);
    expect(etagMatches('"abd"', "abc")).toBe(false);
  });

  test("urlEncodeKey encodes as S3 does for encoding-type=url", () => {
    expect(urlEncodeKey("a b.txt")).toBe("a+b.txt");
    expect(urlEncodeKey("a+b.txt")).toBe("a%2Bb.txt");
    expect(urlEncodeKey("100%.csv")).toBe("100%25.csv");
    expect(urlEncodeKey("한글/x.txt")).toBe("%ED%95%9C%EA%B8%80/x.txt");
  });
});

describe("sliceExtents", () => {
  test("a slice of extents reads the same bytes as a slice of their concatenation (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.nat(),
        (files, a, b) => {
          // Each "file" contributes a sub-range, as parts copied from ranges of other objects do.
          const contents = new Map<string, Buffer>();
          const extents: Extent[] = files.map((bytes, i) => {
            const path = `f${i}`;
            contents.set(path, Buffer.from(bytes));
            const start = i % 2 === 0 ? 0 : Math.min(1, bytes.length - 1);
            return { blob: { path, size: bytes.length, refs: 0 }, start, length: bytes.length - start };
          });
          const materialize = (list: readonly Extent[]): Buffer =>
            Buffer.concat(list.map((e) => contents.get(e.blob.path)!.subarray(e.start, e.start + e.length)));
          const whole = materialize(extents);
          const start = a % (whole.length + 1);
          const length = b % (whole.length - start + 1);
          const sliced = sliceExtents(extents, start, length);
          expect(materialize(sliced)).toEqual(whole.subarray(start, start + length));
          for (const extent of sliced) expect(extent.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
