/**
 * The in-memory shape of buckets, object versions and multipart uploads. Bytes live in blobs on
 * disk ({@link Extent}); everything else lives here.
 */
import type { Extent } from "./blobs.js";
import type { ChecksumType, StoredChecksum } from "./body.js";
import type { ChecksumAlgorithm } from "./checksum.js";

/** Storage classes a general purpose bucket accepts. */
export const STORAGE_CLASSES = [
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "DEEP_ARCHIVE",
  "GLACIER_IR",
] as const;

/** One of {@link STORAGE_CLASSES}. */
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/** Storage classes whose objects must be restored before their bytes can be read or copied. */
export const ARCHIVED_CLASSES: ReadonlySet<StorageClass> = new Set(["GLACIER", "DEEP_ARCHIVE"]);

/** One object tag. */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** Server-side encryption algorithms S3 accepts in `x-amz-server-side-encryption`. */
export const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"] as const;

/** One of {@link SSE_ALGORITHMS}. */
export type SseAlgorithm = (typeof SSE_ALGORITHMS)[number];

/**
 * How S3 says an object is encrypted at rest. The emulator stores bytes in the clear; it only
 * records and reports the settings, which a rewrite must carry over.
 */
export interface Encryption {
  readonly algorithm: SseAlgorithm;
  /** The KMS key of `aws:kms` / `aws:kms:dsse`, as the request named it. */
  readonly kmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
}

/** What S3 applies when a write names no encryption: SSE-S3, the default since 2023. */
export const DEFAULT_ENCRYPTION: Encryption = { algorithm: "AES256" };

/** The headers S3 keeps with an object and returns on GET and HEAD. */
export interface ObjectProps {
  readonly contentType: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentEncoding?: string;
  readonly contentLanguage?: string;
  /** Kept as sent (an HTTP date), as S3 does. */
  readonly expires?: string;
  /** User metadata: lower-case names without `x-amz-meta-`, in the order sent. */
  readonly metadata: ReadonlyArray<readonly [string, string]>;
  readonly storageClass: StorageClass;
  /** `x-amz-website-redirect-location`; not carried by a COPY directive, as in S3. */
  readonly websiteRedirectLocation?: string;
  /** Server-side encryption; SSE-S3 (`AES256`) unless the write asked otherwise, as in S3. */
  readonly encryption: Encryption;
}

/** The version id S3 gives objects written while versioning was never enabled or is suspended. */
export const NULL_VERSION = "null";

/** One version of a key: an object or a delete marker. */
export interface ObjectVersion {
  readonly key: string;
  /** A generated id, or {@link NULL_VERSION}. */
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly lastModified: Date;
  /** Without quotes: MD5 hex, or `<md5 of part md5s>-<part count>` for multipart objects. */
  readonly etag: string;
  readonly size: number;
  readonly extents: readonly Extent[];
  /** Part sizes of a multipart object, for `partNumber` reads and `x-amz-mp-parts-count`. */
  readonly partSizes?: readonly number[];
  readonly checksum?: StoredChecksum;
  readonly props: ObjectProps;
  /** Replaced by PutObjectTagging / DeleteObjectTagging. */
  tags: readonly Tag[];
}

/** Bucket versioning state; `Unversioned` is a bucket whose versioning was never configured. */
export type VersioningState = "Unversioned" | "Enabled" | "Suspended";

/** One uploaded part. */
export interface Part {
  readonly partNumber: number;
  /** MD5 hex of the part bytes, without quotes. */
  readonly etag: string;
  readonly size: number;
  readonly extents: readonly Extent[];
  readonly lastModified: Date;
  readonly checksum?: StoredChecksum;
}

/** A multipart upload in progress. */
export interface Upload {
  readonly uploadId: string;
  readonly key: string;
  readonly initiated: Date;
  readonly props: ObjectProps;
  readonly tags: readonly Tag[];
  /** `x-amz-checksum-algorithm` of CreateMultipartUpload: every part carries this checksum. */
  readonly checksumAlgorithm?: ChecksumAlgorithm;
  /** How the object's checksum is formed from the parts; set with `checksumAlgorithm`. */
  readonly checksumType?: ChecksumType;
  readonly parts: Map<number, Part>;
}

/** A bucket. */
export interface Bucket {
  readonly name: string;
  readonly created: Date;
  readonly region: string;
  versioning: VersioningState;
  /** Versions of each key, newest first. A key with no versions is removed. */
  readonly objects: Map<string, ObjectVersion[]>;
  readonly uploads: Map<string, Upload>;
  /** Keys in S3 order, rebuilt lazily after a key is added or removed. */
  sortedKeys: string[] | undefined;
}

/** The owner every bucket and object reports (the emulator has one account). */
export const OWNER = {
  id: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a",
  displayName: "rekey",
} as const;
