/**
 * The object-store boundary. The job's operations (rewrap, full re-encrypt, migration of AWS
 * Encryption SDK messages) are written once against {@link ObjectStore}; each storage (S3, a
 * local directory, …) implements it. A store reads an object's head, streams the planned
 * version, and replaces the object — its prefix, or the whole of it — only if it is still the
 * planned version. The rules of when to write, what to compare and how to verify live with the
 * operations, not in each store.
 */
import type { EsdkHeader, FormatLimits, MessagePrefix } from "@rekey/core";
import type { Readable } from "node:stream";
import type { ObjectRef } from "./object-ref.js";
import type { ObjectPlan } from "./object-plan.js";

/**
 * What a header read found: a rekey header (`ok`), an AWS Encryption SDK header (`esdk`), an
 * object of neither format (`foreign`), or a header of one that does not parse (`unreadable`).
 * `bytes` are the bytes read, the whole header included.
 */
export type PrefixRead =
  | { readonly kind: "foreign"; readonly reason: string }
  | { readonly kind: "unreadable"; readonly code: string; readonly reason: string }
  | { readonly kind: "ok"; readonly prefix: MessagePrefix; readonly bytes: Uint8Array }
  | { readonly kind: "esdk"; readonly header: EsdkHeader; readonly bytes: Uint8Array };

/** How a store reads heads. */
export interface HeadReadSettings {
  /** Bytes of the first read; more only when the header is longer. */
  readonly headerReadBytes: number;
  /** Format limits for parsing the header. */
  readonly limits?: Partial<FormatLimits>;
}

/** An object's head as a store read it. */
export interface StoredHead {
  readonly read: PrefixRead;
  /** Object size in bytes. */
  readonly size: number;
  /** The version token writes are conditional on: an S3 ETag, a file fingerprint. */
  readonly etag?: string;
  /** The S3 version read (versioned buckets). */
  readonly versionId?: string;
  /** What the store keeps with the object (S3 metadata and tags, a file's mode); the store's own. */
  readonly attributes?: unknown;
  /** All bytes read; the whole object when `length === size`. */
  readonly bytes: Uint8Array;
}

/** The version a write made. */
export interface WrittenVersion {
  /** Its version token (ETag, file fingerprint). */
  readonly etag?: string;
  /** Its S3 version id (versioned buckets). */
  readonly versionId?: string;
  /**
   * The store's answer proves the bytes stored (an S3 ETag that is the MD5 of what was sent):
   * `verify: "etag"` needs no read-back.
   */
  readonly proven?: boolean;
}

/** How the job may write to an object's store. */
export interface StoreWriteMode {
  /**
   * The store ignores conditional writes and every other writer was said to be stopped: the
   * store re-reads the object right before each write, and the job reads it back after.
   */
  readonly unconditional: boolean;
}

/** Bytes read from the start of an object, with its size. */
export interface HeadBytes {
  readonly bytes: Uint8Array;
  readonly size: number;
}

/**
 * One storage, as the operations see it. Every method that feeds or makes a write is pinned to
 * the plan: it fails with `ERR_JOB_CONFLICT` — never writes — when the object is no longer the
 * planned version (another version token, size or header bytes).
 */
export interface ObjectStore {
  /** Reads an object's first bytes (enough for its header), size, version token and attributes. */
  readHead(ref: ObjectRef): Promise<StoredHead>;
  /** How the job may write `ref` (the store is probed once, before its first write). */
  writeMode(ref: ObjectRef): Promise<StoreWriteMode>;
  /** The planned version, streamed; its header bytes are compared with the plan's as they pass. */
  openPinned(plan: ObjectPlan): Promise<Readable>;
  /**
   * Replaces bytes `[0, plan.prefix.bodyOffset)` with `prefix`; the body stays byte for byte.
   * Conditional on the planned version.
   */
  replacePrefix(plan: ObjectPlan, prefix: Uint8Array, mode: StoreWriteMode): Promise<WrittenVersion>;
  /** Replaces the whole object with `source`, conditional on the planned version. */
  replaceWhole(
    plan: ObjectPlan,
    source: AsyncIterable<Buffer>,
    mode: StoreWriteMode,
  ): Promise<WrittenVersion & { readonly size: number }>;
  /** The first `length` bytes and size of the object as it is now, or `undefined` when it is gone. */
  readCurrent(ref: ObjectRef, length: number): Promise<(HeadBytes & WrittenVersion) | undefined>;
  /**
   * The first `length` bytes and size of the version the job wrote; `ERR_JOB_CONFLICT` when the
   * object is no longer that version.
   */
  readBack(ref: ObjectRef, written: WrittenVersion, length: number): Promise<HeadBytes>;
  /** The version the job wrote, streamed, compared with what was written as it passes. */
  openWritten(
    ref: ObjectRef,
    written: WrittenVersion,
    expected: { size: number; headBytes: Uint8Array },
  ): Promise<Readable>;
}
