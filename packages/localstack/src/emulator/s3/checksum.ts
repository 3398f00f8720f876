/**
 * The S3 "additional checksums" (`x-amz-checksum-*`), computed incrementally while a body
 * streams to disk, by the AWS SDK's own implementations (`@aws-sdk/checksums`: CRC32 on
 * `node:zlib`, CRC32C and CRC64NVME in JavaScript, SHA-1 and SHA-256 on `node:crypto`) — the
 * emulator computes what the SDK that talks to it computes.
 */
import { Crc32, Crc32c, Crc64Nvme } from "@aws-sdk/checksums/crc";
import { Sha1, Sha256 } from "@aws-sdk/checksums/sha";

/** The checksum algorithms S3 accepts. */
export const CHECKSUM_ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const;

/** One of {@link CHECKSUM_ALGORITHMS}. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A running checksum. */
export interface Checksum {
  update(data: Uint8Array): void;
  /** The checksum bytes (big-endian for CRCs), as S3 base64-encodes them. */
  digest(): Promise<Buffer>;
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

const IMPLEMENTATIONS: Readonly<
  Record<ChecksumAlgorithm, new () => { update(data: Uint8Array): void; digest(): Promise<Uint8Array> }>
> = { CRC32: Crc32, CRC32C: Crc32c, CRC64NVME: Crc64Nvme, SHA1: Sha1, SHA256: Sha256 };

/**
 * A new running checksum.
 *
 * @example
 * ```ts
 * const sum = createChecksum("CRC32");
 * sum.update(Buffer.from("123456789"));
 * (await sum.digest()).toString("hex"); // "cbf43926"
 * ```
 */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  const sum = new IMPLEMENTATIONS[algorithm]();
  return {
    update: (data) => sum.update(data),
    digest: async () => Buffer.from(await sum.digest()),
  };
}
