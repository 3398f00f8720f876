/**
 * The S3 "additional checksums" (`x-amz-checksum-*`), computed incrementally while a body
 * streams to disk. CRC32 uses `node:zlib`'s native `crc32`; CRC32C and CRC64NVME have no native
 * Node implementation, so they are table-driven here (a few hundred MB/s, enough for tests);
 * SHA-1 and SHA-256 use `node:crypto`.
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";

/** The checksum algorithms S3 accepts. */
export const CHECKSUM_ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const;

/** One of {@link CHECKSUM_ALGORITHMS}. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A running checksum. */
export interface Checksum {
  update(data: Uint8Array): void;
  /** The checksum bytes (big-endian for CRCs), as S3 base64-encodes them. */
  digest(): Buffer;
}

/** The header (and trailer) that carries a checksum, e.g. `x-amz-checksum-crc32`. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm named by a header (`x-amz-checksum-crc32c`) or a value (`crc32c`), if any. */
export function checksumAlgorithmOf(name: string): ChecksumAlgorithm | undefined {
  const upper = name
    .toLowerCase()
    .replace(/^x-amz-checksum-/, "")
    .toUpperCase();
  return CHECKSUM_ALGORITHMS.find((algorithm) => algorithm === upper);
}

/** The number of bytes of each algorithm's digest, to reject malformed values early. */
export const CHECKSUM_LENGTH: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

/**
 * A new running checksum.
 *
 * @example
 * ```ts
 * const sum = createChecksum("CRC32");
 * sum.update(Buffer.from("123456789"));
 * sum.digest().toString("hex"); // "cbf43926"
 * ```
 */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case "CRC32":
      return crc32Checksum();
    case "CRC32C":
      return crc32cChecksum();
    case "CRC64NVME":
      return crc64NvmeChecksum();
    case "SHA1":
    case "SHA256": {
      const hash = createHash(algorithm === "SHA1" ? "sha1" : "sha256");
      return { update: (data) => void hash.update(data), digest: () => hash.digest() };
    }
  }
}

function crc32Checksum(): Checksum {
  let value = 0;
  return {
    update(data) {
      value = crc32(data, value);
    },
    digest() {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out;
    },
  };
}

/** Reflected CRC-32C (Castagnoli) table. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32cChecksum(): Checksum {
  let crc = 0xffffffff;
  const table = CRC32C_TABLE;
  return {
    update(data) {
      let c = crc;
      for (let i = 0; i < data.length; i++) c = (table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
      crc = c;
    },
    digest() {
      const out = Buffer.alloc(4);
      out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
      return out;
    },
  };
}

/**
 * Reflected CRC-64/NVME (polynomial 0xad93d23594c93659, reflected 0x9a6c9329ac4bc9b5), as two
 * 32-bit halves so the inner loop stays on small integers instead of BigInt.
 */
const CRC64_TABLES = (() => {
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  const polyLo = 0xac4bc9b5;
  const polyHi = 0x9a6c9329;
  for (let n = 0; n < 256; n++) {
    let l = n;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry) {
        l = (l ^ polyLo) >>> 0;
        h = (h ^ polyHi) >>> 0;
      }
    }
    lo[n] = l;
    hi[n] = h;
  }
  return { lo, hi };
})();

function crc64NvmeChecksum(): Checksum {
  let lo = 0xffffffff;
  let hi = 0xffffffff;
  const { lo: tableLo, hi: tableHi } = CRC64_TABLES;
  return {
    update(data) {
      let l = lo;
      let h = hi;
      for (let i = 0; i < data.length; i++) {
        const index = (l ^ data[i]!) & 0xff;
        l = (((l >>> 8) | (h << 24)) ^ tableLo[index]!) >>> 0;
        h = ((h >>> 8) ^ tableHi[index]!) >>> 0;
      }
      lo = l;
      hi = h;
    },
    digest() {
      const out = Buffer.alloc(8);
      out.writeUInt32BE((hi ^ 0xffffffff) >>> 0, 0);
      out.writeUInt32BE((lo ^ 0xffffffff) >>> 0, 4);
      return out;
    },
  };
}
