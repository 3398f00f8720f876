/**
 * Object bytes on disk. Every uploaded body (a PutObject body, an uploaded part) becomes one
 * immutable file, a blob. An object or a part is a list of extents: byte ranges of blobs. That
 * makes CopyObject, UploadPartCopy and CompleteMultipartUpload cheap: they build new extent
 * lists over the same files instead of copying bytes (a 1 GiB object of 5 MiB parts completes
 * in microseconds). Blobs are reference-counted by the objects, parts and in-flight reads that
 * use them, and deleted when the last one lets go, so an overwrite never pulls a file from
 * under a GET that is still streaming it.
 */
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, open, rm, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";

/** One immutable file of object bytes. */
export interface Blob {
  readonly path: string;
  readonly size: number;
  /** Holders (object versions, parts, in-flight reads). The file goes when this reaches 0. */
  refs: number;
}

/** A byte range of a blob. */
export interface Extent {
  readonly blob: Blob;
  readonly start: number;
  readonly length: number;
}

/** Total length of extents. */
export function extentsLength(extents: readonly Extent[]): number {
  let total = 0;
  for (const extent of extents) total += extent.length;
  return total;
}

/**
 * The extents covering `[start, start + length)` of the bytes that `extents` describe.
 *
 * @example
 * ```ts
 * sliceExtents(object.extents, 5 * MiB, 5 * MiB); // the second 5 MiB, no bytes copied
 * ```
 */
export function sliceExtents(extents: readonly Extent[], start: number, length: number): Extent[] {
  const out: Extent[] = [];
  let offset = 0;
  const end = start + length;
  for (const extent of extents) {
    const extentEnd = offset + extent.length;
    if (extentEnd > start && offset < end) {
      const from = Math.max(start, offset) - offset;
      const to = Math.min(end, extentEnd) - offset;
      if (to > from) out.push({ blob: extent.blob, start: extent.start + from, length: to - from });
    }
    offset = extentEnd;
    if (offset >= end) break;
  }
  return out;
}

/**
 * Streams `[start, start + length)` of the bytes that `extents` describe, file by file, without
 * reading more than one buffer ahead.
 */
export async function* readExtents(
  extents: readonly Extent[],
  start = 0,
  length = extentsLength(extents) - start,
): AsyncGenerator<Buffer> {
  for (const extent of sliceExtents(extents, start, length)) {
    const stream = createReadStream(extent.blob.path, {
      start: extent.start,
      end: extent.start + extent.length - 1,
      highWaterMark: 256 * 1024,
    });
    for await (const chunk of stream) yield chunk as Buffer;
  }
}

/** Writes one new blob; bytes are batched into vectored writes of about 1 MiB. */
export interface BlobWriter {
  write(data: Buffer): Promise<void>;
  /** Finishes the file and registers the blob (unreferenced until a holder retains it). */
  commit(): Promise<Extent[]>;
  /** Drops the partial file. */
  abort(): Promise<void>;
}

const FLUSH_BYTES = 1024 * 1024;

/**
 * The directory of blobs and their reference counts.
 *
 * @example
 * ```ts
 * const writer = await blobs.create();
 * await writer.write(chunk);
 * const extents = await writer.commit();
 * blobs.retain(extents);
 * ```
 */
export class BlobStore {
  private dir: Promise<string> | undefined;
  private counter = 0;
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly dataDir: string) {}

  /** Starts a new blob file. */
  async create(): Promise<BlobWriter> {
    const dir = await this.directory();
    const path = join(dir, `${(++this.counter).toString(36)}.blob`);
    const handle = await open(path, "wx");
    return new FileBlobWriter(handle, path, (blobPath) => this.unlinkLater(blobPath));
  }

  /** Adds one holder to every blob of `extents`. */
  retain(extents: readonly Extent[]): void {
    for (const extent of extents) extent.blob.refs++;
  }

  /** Removes one holder from every blob of `extents`; deletes files nobody holds any more. */
  release(extents: readonly Extent[]): void {
    for (const extent of extents) {
      extent.blob.refs--;
      if (extent.blob.refs === 0) this.unlinkLater(extent.blob.path);
    }
  }

  /** Drops a blob that was committed but never retained (e.g. a body whose write lost a race). */
  discard(extents: readonly Extent[]): void {
    for (const extent of extents) if (extent.blob.refs === 0) this.unlinkLater(extent.blob.path);
  }

  /** Deletes every blob and the directory. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    if (this.dir !== undefined) {
      const dir = await this.dir.catch(() => undefined);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  }

  private directory(): Promise<string> {
    if (this.closed) return Promise.reject(new Error("the S3 emulator is closed"));
    // A private subdirectory: the data directory may be shared with other emulator parts.
    this.dir ??= mkdir(this.dataDir, { recursive: true }).then(() => mkdtemp(join(this.dataDir, "s3-")));
    return this.dir;
  }

  private unlinkLater(path: string): void {
    // Tracked, not fire-and-forget: close() waits for these.
    const task = unlink(path)
      .catch(() => undefined)
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }
}

class FileBlobWriter implements BlobWriter {
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private size = 0;
  private done = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    private readonly unlink: (path: string) => void,
  ) {}

  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.batch.push(data);
    this.batchBytes += data.length;
    this.size += data.length;
    if (this.batchBytes >= FLUSH_BYTES) await this.flush();
  }

  async commit(): Promise<Extent[]> {
    this.done = true;
    try {
      await this.flush();
      await this.handle.close();
    } catch (error) {
      await this.handle.close().catch(() => undefined);
      this.unlink(this.path);
      throw error;
    }
    if (this.size === 0) {
      // Empty bodies need no file.
      this.unlink(this.path);
      return [];
    }
    return [{ blob: { path: this.path, size: this.size, refs: 0 }, start: 0, length: this.size }];
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.batch = [];
    await this.handle.close().catch(() => undefined);
    this.unlink(this.path);
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    let buffers = batch;
    // writev may write less than asked; continue from where it stopped.
    while (buffers.length > 0) {
      const { bytesWritten } = await this.handle.writev(buffers);
      buffers = dropBytes(buffers, bytesWritten);
    }
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  let index = 0;
  while (index < buffers.length && left >= buffers[index]!.length) {
    left -= buffers[index]!.length;
    index++;
  }
  const rest = buffers.slice(index);
  if (left > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}
