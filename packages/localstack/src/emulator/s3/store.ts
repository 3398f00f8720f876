/**
 * Buckets and object versions in memory, with S3's versioning rules. Every mutation is
 * synchronous: a precondition check and the write it guards run without an `await` between
 * them, so of two conditional writers racing on the same ETag exactly one wins.
 */
import { randomBytes } from "node:crypto";
import type { BlobStore } from "./blobs.js";
import { S3Error } from "./errors.js";
import { DEFAULT_ENCRYPTION, NULL_VERSION } from "./model.js";
import type { Bucket, ObjectVersion, Upload } from "./model.js";

/**
 * Orders keys as S3 lists them: by UTF-8 bytes, which is Unicode code point order (plain
 * string comparison uses UTF-16 units and puts astral characters before U+E000–U+FFFF).
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    // Surrogates encode code points above U+FFFF, which sort after every BMP character.
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Index of the first key in `sorted` that is greater than `key` (or ≥ when `inclusive`). */
export function searchKeys(sorted: readonly string[], key: string, inclusive: boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compareKeys(sorted[mid]!, key);
    if (order < 0 || (order === 0 && !inclusive)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A new version id: 32 URL-safe characters, like S3's. */
export function newVersionId(): string {
  return randomBytes(24).toString("base64url");
}

/** What a DeleteObject did. */
export interface DeleteOutcome {
  /** The version removed or the delete marker created; undefined for unversioned deletes. */
  readonly versionId?: string;
  /** True when a delete marker was created or removed. */
  readonly deleteMarker: boolean;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The S3 data model.
 *
 * @example
 * ```ts
 * const store = new S3Store(blobs);
 * store.createBucket("b", "us-east-1", new Date());
 * ```
 */
export class S3Store {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly blobs: BlobStore) {}

  /** Buckets in name order. */
  listBuckets(): Bucket[] {
    return [...this.buckets.values()].sort((a, b) => compareKeys(a.name, b.name));
  }

  /** The bucket, or `NoSuchBucket`. */
  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw new S3Error("NoSuchBucket", { details: { BucketName: name } });
    return bucket;
  }

  /** Creates a bucket; `BucketAlreadyOwnedByYou` if it exists, `InvalidBucketName` if misnamed. */
  createBucket(name: string, region: string, now: Date): Bucket {
    if (!BUCKET_NAME.test(name) || name.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
      throw new S3Error("InvalidBucketName", { details: { BucketName: name } });
    }
    if (this.buckets.has(name))
      throw new S3Error("BucketAlreadyOwnedByYou", { details: { BucketName: name } });
    const bucket: Bucket = {
      name,
      created: now,
      region,
      versioning: "Unversioned",
      objects: new Map(),
      uploads: new Map(),
      sortedKeys: [],
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  /** Deletes an empty bucket (no versions, no delete markers); its pending uploads go with it. */
  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0) throw new S3Error("BucketNotEmpty", { details: { BucketName: name } });
    for (const upload of bucket.uploads.values()) this.dropUpload(bucket, upload);
    this.buckets.delete(name);
  }

  /** Keys of the bucket in S3 order (cached until a key is added or removed). */
  sortedKeys(bucket: Bucket): readonly string[] {
    bucket.sortedKeys ??= [...bucket.objects.keys()].sort(compareKeys);
    return bucket.sortedKeys;
  }

  /** The newest version of a key, which may be a delete marker. */
  latest(bucket: Bucket, key: string): ObjectVersion | undefined {
    return bucket.objects.get(key)?.[0];
  }

  /** The current object of a key: its newest version unless that is a delete marker. */
  current(bucket: Bucket, key: string): ObjectVersion | undefined {
    const latest = this.latest(bucket, key);
    return latest === undefined || latest.deleteMarker ? undefined : latest;
  }

  /**
   * The version a read addresses: the current object, or the given version. Errors follow S3:
   * `NoSuchKey` (with `x-amz-delete-marker` when the newest version is a marker),
   * `NoSuchVersion`, and 405 `MethodNotAllowed` when the given version is a delete marker.
   */
  resolve(bucket: Bucket, key: string, versionId: string | undefined): ObjectVersion {
    const versions = bucket.objects.get(key);
    if (versionId === undefined) {
      const latest = versions?.[0];
      if (latest === undefined) throw new S3Error("NoSuchKey", { details: { Key: key } });
      if (latest.deleteMarker) {
        throw new S3Error("NoSuchKey", {
          details: { Key: key },
          headers: { "x-amz-delete-marker": "true", ...versionHeader(bucket, latest.versionId) },
        });
      }
      return latest;
    }
    const version = versions?.find((v) => v.versionId === versionId);
    if (version === undefined) {
      throw new S3Error("NoSuchVersion", { details: { Key: key, VersionId: versionId } });
    }
    if (version.deleteMarker) {
      throw new S3Error("MethodNotAllowed", {
        message: "The specified method is not allowed against this resource.",
        details: { Method: "GET", ResourceType: "DeleteMarker" },
        headers: { "x-amz-delete-marker": "true", "x-amz-version-id": versionId, allow: "DELETE" },
      });
    }
    return version;
  }

  /**
   * Stores a new version of `draft.key` as the bucket's versioning state says: a new version
   * id when enabled, otherwise the `null` version, replacing the previous `null` version.
   * `precondition` runs first, on the current object, in the same synchronous step.
   * The version's extents are retained; those of a replaced version are released.
   */
  put(
    bucket: Bucket,
    draft: Omit<ObjectVersion, "versionId">,
    precondition: (current: ObjectVersion | undefined) => void = () => undefined,
  ): ObjectVersion {
    precondition(this.current(bucket, draft.key));
    const versionId = bucket.versioning === "Enabled" ? newVersionId() : NULL_VERSION;
    const version: ObjectVersion = { ...draft, versionId };
    this.blobs.retain(version.extents);
    let versions = bucket.objects.get(draft.key);
    if (versions === undefined) {
      versions = [];
      bucket.objects.set(draft.key, versions);
      bucket.sortedKeys = undefined;
    }
    if (versionId === NULL_VERSION) {
      const index = versions.findIndex((v) => v.versionId === NULL_VERSION);
      if (index !== -1) this.blobs.release(versions.splice(index, 1)[0]!.extents);
    }
    versions.unshift(version);
    return version;
  }

  /**
   * Deletes as S3 does. Without a version id: unversioned buckets remove the object; enabled
   * buckets add a delete marker; suspended buckets replace the `null` version with a `null`
   * delete marker. With a version id: that version is removed for good (a no-op if absent).
   */
  delete(bucket: Bucket, key: string, versionId: string | undefined, now: Date): DeleteOutcome {
    const versions = bucket.objects.get(key) ?? [];
    if (versionId !== undefined) {
      const index = versions.findIndex((v) => v.versionId === versionId);
      if (index === -1) return { versionId, deleteMarker: false };
      const [removed] = versions.splice(index, 1);
      this.blobs.release(removed!.extents);
      this.dropKeyIfEmpty(bucket, key);
      return { versionId, deleteMarker: removed!.deleteMarker };
    }
    if (bucket.versioning === "Unversioned") {
      for (const version of versions) this.blobs.release(version.extents);
      if (bucket.objects.delete(key)) bucket.sortedKeys = undefined;
      return { deleteMarker: false };
    }
    const marker = this.put(bucket, {
      key,
      deleteMarker: true,
      lastModified: now,
      etag: "",
      size: 0,
      extents: [],
      props: { contentType: "", metadata: [], storageClass: "STANDARD", encryption: DEFAULT_ENCRYPTION },
      tags: [],
    });
    return { versionId: marker.versionId, deleteMarker: true };
  }

  /** Registers a multipart upload. */
  addUpload(bucket: Bucket, upload: Upload): void {
    bucket.uploads.set(upload.uploadId, upload);
  }

  /** The upload, or `NoSuchUpload` (also when it belongs to another key). */
  upload(bucket: Bucket, key: string, uploadId: string): Upload {
    const upload = bucket.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key) {
      throw new S3Error("NoSuchUpload", { details: { UploadId: uploadId } });
    }
    return upload;
  }

  /** Removes an upload and releases its parts. */
  dropUpload(bucket: Bucket, upload: Upload): void {
    for (const part of upload.parts.values()) this.blobs.release(part.extents);
    upload.parts.clear();
    bucket.uploads.delete(upload.uploadId);
  }

  /** Removes every bucket and releases every blob. */
  clear(): void {
    for (const bucket of this.buckets.values()) {
      for (const upload of bucket.uploads.values()) this.dropUpload(bucket, upload);
      for (const versions of bucket.objects.values()) {
        for (const version of versions) this.blobs.release(version.extents);
      }
    }
    this.buckets.clear();
  }

  private dropKeyIfEmpty(bucket: Bucket, key: string): void {
    if (bucket.objects.get(key)?.length === 0) {
      bucket.objects.delete(key);
      bucket.sortedKeys = undefined;
    }
  }
}

/**
 * `x-amz-version-id` for a version: left out in a bucket whose versioning was never configured,
 * `null` for the null version of a versioned or suspended bucket, as S3 does.
 */
export function versionHeader(bucket: Bucket, versionId: string): Record<string, string> {
  return bucket.versioning === "Unversioned" ? {} : { "x-amz-version-id": versionId };
}
