/**
 * The S3 store: {@link ObjectStore} over an S3-compatible bucket. Heads are ranged GETs; every
 * read that feeds a write is pinned to the planned ETag (and version) and compared with the plan;
 * writes are conditional (`If-Match`) and happen only after the bucket's capability probe found
 * that it honours them (or the user said every writer is stopped).
 */
import { Readable } from "node:stream";
import type { FormatLimits } from "@rekey/core";
import { JobError } from "../../errors.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import type { ObjectRef, S3ObjectRef } from "../../model/object-ref.js";
import type {
  HeadBytes,
  ObjectStore,
  StoreWriteMode,
  StoredHead,
  WrittenVersion,
} from "../../model/object-store.js";
import { totalSizeOf } from "./content-range.js";
import { restoreTags, s3AttributesOf, writeParamsFor } from "./object-attributes.js";
import { openPinned, readPinned, sameEtag } from "./pinned-read.js";
import { readS3Head } from "./read-s3-head.js";
import { replaceS3Prefix, type S3WriteSettings } from "./replace-prefix.js";
import { asObjectError, getObjectBytes, s3RefOf, writtenVersionOf, type S3Runtime } from "./s3-runtime.js";
import { recheckBeforeWrite, StoreGuard, type StoreGuardOptions } from "./store-guard.js";
import { uploadStream } from "./stream-upload.js";

/** Options of an {@link S3Store}. */
export interface S3StoreOptions extends StoreGuardOptions, S3WriteSettings {
  /** First header read, in bytes. */
  readonly headerReadBytes: number;
  /** Format limits for parsing headers. */
  readonly limits?: Partial<FormatLimits>;
}

/**
 * An S3-compatible bucket (or several: the store serves any bucket its client reaches).
 *
 * @example
 * ```ts
 * const store = new S3Store({ client, counters }, { headerReadBytes: 4096, multipartThreshold, copyPartBytes, uploadPartBytes });
 * const head = await store.readHead({ kind: "s3", bucket: "data", key: "a.rkey" });
 * ```
 */
export class S3Store implements ObjectStore {
  /** Probes each bucket once and decides how the job writes there. */
  readonly guard: StoreGuard;

  constructor(
    /** The requests' runtime: client, counters, retries, cancellation. */
    readonly runtime: S3Runtime,
    private readonly options: S3StoreOptions,
  ) {
    this.guard = new StoreGuard(runtime, options);
  }

  readHead(ref: ObjectRef): Promise<StoredHead> {
    return readS3Head(s3RefOf(ref), this.runtime, this.options);
  }

  writeMode(ref: ObjectRef): Promise<StoreWriteMode> {
    return this.guard.writeModeFor(s3RefOf(ref).bucket);
  }

  openPinned(plan: ObjectPlan): Promise<Readable> {
    // A small object the head read covered whole: no second GET.
    if (plan.whole && plan.whole.length === plan.size)
      return Promise.resolve(Readable.from([Buffer.from(plan.whole)]));
    return openPinned(this.runtime, s3RefOf(plan.ref), plan);
  }

  async replacePrefix(plan: ObjectPlan, prefix: Uint8Array, mode: StoreWriteMode): Promise<WrittenVersion> {
    const caps = await this.guard.capabilities(s3RefOf(plan.ref).bucket);
    return replaceS3Prefix(this.runtime, plan, prefix, mode, caps, this.options);
  }

  async replaceWhole(
    plan: ObjectPlan,
    source: AsyncIterable<Buffer>,
    mode: StoreWriteMode,
  ): Promise<WrittenVersion & { size: number }> {
    const ref = s3RefOf(plan.ref);
    const rt = this.runtime;
    if (!plan.etag) throw new JobError("ERR_JOB_NOT_REWRAPPABLE", "the plan has no ETag");
    const caps = await this.guard.capabilities(ref.bucket);
    const params = await writeParamsFor(ref, s3AttributesOf(plan), rt, caps);
    let written;
    try {
      written = await uploadStream(source, rt, {
        ref,
        ifMatch: plan.etag,
        params,
        partBytes: this.options.uploadPartBytes,
        beforeCommit: () => recheckBeforeWrite(mode, rt, ref, plan),
      });
    } catch (e) {
      throw asObjectError(e, "write");
    }
    await restoreTags(ref, written, params, caps, rt);
    return written;
  }

  async readCurrent(ref: ObjectRef, length: number): Promise<(HeadBytes & WrittenVersion) | undefined> {
    const r = s3RefOf(ref);
    try {
      const { bytes, output } = await getObjectBytes(this.runtime, {
        Bucket: r.bucket,
        Key: r.key,
        Range: `bytes=0-${length - 1}`,
      });
      return {
        bytes,
        size: totalSizeOf(output.ContentRange) ?? output.ContentLength ?? bytes.length,
        ...writtenVersionOf(output),
      };
    } catch {
      // Gone or unreadable: nothing there to claim.
      return undefined;
    }
  }

  async readBack(ref: ObjectRef, written: WrittenVersion, length: number): Promise<HeadBytes> {
    const r = s3RefOf(ref);
    let read;
    try {
      read = await getObjectBytes(this.runtime, {
        Bucket: r.bucket,
        Key: r.key,
        Range: `bytes=0-${length - 1}`,
        ...(written.versionId
          ? { VersionId: written.versionId }
          : written.etag
            ? { IfMatch: written.etag }
            : {}),
      });
    } catch (e) {
      throw asObjectError(e, "verify (another writer replaced the object after the rewrite)");
    }
    // A store that ignores the read's condition answers with whatever is there now: the answer
    // must be the version the job wrote.
    if (written.etag !== undefined && !sameEtag(read.output.ETag, written.etag))
      throw new JobError(
        "ERR_JOB_CONFLICT",
        "verify: another writer replaced the object after the rewrite (its ETag is not the written one)",
      );
    return {
      bytes: read.bytes,
      size: totalSizeOf(read.output.ContentRange) ?? read.output.ContentLength ?? -1,
    };
  }

  openWritten(
    ref: ObjectRef,
    written: WrittenVersion,
    expected: { size: number; headBytes: Uint8Array },
  ): Promise<Readable> {
    const r = s3RefOf(ref);
    const mine: S3ObjectRef = {
      kind: "s3",
      bucket: r.bucket,
      key: r.key,
      ...(written.versionId ? { versionId: written.versionId } : {}),
    };
    return openPinned(this.runtime, mine, {
      size: expected.size,
      headBytes: expected.headBytes,
      ...(written.etag ? { etag: written.etag } : {}),
    });
  }
}

/** Re-exported for the store's callers that read a pinned range directly. */
export { readPinned };
