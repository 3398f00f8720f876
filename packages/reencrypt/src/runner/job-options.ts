/** Options of `runJob` and `planJob`: where the objects come from, and how to run. */
import type { SourceEntry } from "../model/object-ref.js";
import type { Shard } from "./shard.js";
import type { CheckpointOptions } from "./checkpoint.js";
import type { ManifestSourceOptions } from "../sources/manifest-source.js";
import type { JobContextOptions } from "./job-context.js";
import type { PgTableSpec } from "../stores/pg/pg-table.js";
import type { SourceFilterOptions } from "../sources/source-filter.js";

/**
 * Where the objects come from. An S3 prefix, a manifest and a directory take `include` /
 * `exclude` globs (see {@link SourceFilterOptions}): an object left out is not read at all, and
 * is counted as `excluded` in the report.
 */
export type JobSource =
  /** Every object under a bucket and prefix (`ListObjectsV2`, streamed). */
  | ({ readonly kind: "s3"; readonly bucket: string; readonly prefix?: string } & SourceFilterOptions)
  /** A CSV or S3 Inventory manifest, read line by line. */
  | ({ readonly kind: "manifest" } & ManifestSourceOptions & SourceFilterOptions)
  /** Every file under a local directory (patterns match the path below it, `/`-separated). */
  | ({ readonly kind: "dir"; readonly path: string } & SourceFilterOptions)
  /** Every row of a PostgreSQL table, in key order; the messages are one column's values. */
  | ({ readonly kind: "postgres" } & PgTableSpec)
  /** Any async (or sync) iterable of object references — a custom listing. */
  | { readonly kind: "refs"; readonly refs: AsyncIterable<SourceEntry> | Iterable<SourceEntry> };

/** Options of `runJob` and `planJob`. */
export interface JobOptions extends JobContextOptions {
  readonly source: JobSource;
  /** Objects in flight. @default 16 */
  readonly concurrency?: number;
  /**
   * Checkpoint file (a watermark over the source's order, of constant size): a job run again
   * with it resumes after the objects finished. @default none
   */
  readonly checkpoint?: string;
  /** How often the checkpoint is fsynced and compacted. @default 200 ms, 128 lines */
  readonly checkpointOptions?: CheckpointOptions;
  /**
   * Start the checkpoint file over, forgetting what it holds. Without it, a checkpoint written
   * by a job with other settings (target, mode, filters, `includeCurrent`, KMS scope) is refused.
   * @default false
   */
  readonly freshCheckpoint?: boolean;
  /**
   * Stop the job when this many objects in a row under the same keys fail with the same
   * permanent KMS error (disabled, pending deletion, not found, access denied); 0 never stops.
   * @default 20
   */
  readonly maxKeyFailures?: number;
  /** Graceful stop: take no new objects, finish those in flight. (`signal` aborts them too.) */
  readonly stopSignal?: AbortSignal;
  /** Only this share of the objects. @default all */
  readonly shard?: Shard;
  /**
   * Called for every entry the job will run — not those of another shard or already done in the
   * checkpoint — and every invalid source line (a progress display's total).
   */
  readonly onSourceEntry?: (entry: SourceEntry) => void;
  /**
   * Called once the source has been read to its end: the count of `onSourceEntry` calls is final
   * from then on (a progress display's total and ETA). The source is pulled as the work queue
   * drains, so this comes when at most twice `concurrency` objects are left. Not called when the
   * job stopped before the end.
   */
  readonly onSourceEnd?: () => void;
  /**
   * Objects that are not rekey or AWS Encryption SDK messages (outcome `foreign`) make the run
   * incomplete (exit code 2). Without it they are left untouched, counted and listed, and do not
   * change the exit code: a bucket or folder often holds a few unrelated files.
   * @default false
   */
  readonly strict?: boolean;
}
