/** Turns a {@link JobSource} into the stream of entries the driver pulls. */
import { JobError } from "../errors.js";
import type { SourceEntry } from "../model/object-ref.js";
import { dirSource } from "../sources/dir-source.js";
import { manifestSource } from "../sources/manifest-source.js";
import { s3Source } from "../sources/s3-source.js";
import { pgRowSource, type PgRowSourceOptions } from "../sources/pg-source.js";
import { describeFilter, objectFilter, type ObjectFilter } from "../sources/source-filter.js";
import { openPgTable, type PgTable } from "../stores/pg/pg-table.js";
import type { JobContext } from "./job-context.js";
import type { JobSource } from "./job-options.js";
import type { Mutable } from "../support/mutable.js";

/**
 * Opens the source.
 *
 * @example
 * ```ts
 * for await (const entry of openSource({ kind: "dir", path: "./data" }, ctx)) console.log(entry);
 * ```
 */
export function openSource(source: JobSource, ctx: JobContext): AsyncIterable<SourceEntry> {
  switch (source.kind) {
    case "s3":
      if (!ctx.s3) throw new JobError("ERR_JOB_INVALID_OPTION", "an S3 source needs an S3 client");
      return s3Source(
        { bucket: source.bucket, ...(source.prefix ? { prefix: source.prefix } : {}) },
        ctx.s3.runtime,
      );
    case "manifest": {
      if (!ctx.s3) throw new JobError("ERR_JOB_INVALID_OPTION", "a manifest source needs an S3 client");
      const { kind: _kind, ...options } = source;
      return manifestSource(options);
    }
    case "dir":
      return dirSource(source.path);
    case "postgres":
      return pgRowSource(tableOf(ctx), rowSourceOptions(ctx));
    case "refs":
      return toAsync(source.refs);
  }
}

async function* toAsync(
  refs: AsyncIterable<SourceEntry> | Iterable<SourceEntry>,
): AsyncGenerator<SourceEntry> {
  yield* refs;
}

/**
 * The source's entries with their positions in its order, from after `after` (a resumed job):
 * an S3 key (the listing starts after it), a file path (the sorted walk starts after it), or
 * an entry's ordinal in a manifest or a list of references (the entries up to it are skipped).
 *
 * @example
 * ```ts
 * for await (const [entry, position] of openPositionedSource(source, ctx, checkpoint.resumeAfter)) …
 * ```
 */
export async function* openPositionedSource(
  source: JobSource,
  ctx: JobContext,
  after: string | undefined,
): AsyncGenerator<readonly [SourceEntry, string]> {
  switch (source.kind) {
    case "s3":
      if (!ctx.s3) throw new JobError("ERR_JOB_INVALID_OPTION", "an S3 source needs an S3 client");
      for await (const ref of s3Source(
        {
          bucket: source.bucket,
          ...(source.prefix ? { prefix: source.prefix } : {}),
          ...(after !== undefined ? { startAfter: after } : {}),
        },
        ctx.s3.runtime,
      ))
        yield [ref, ref.key];
      return;
    case "dir":
      for await (const ref of dirSource(source.path, after !== undefined ? { after } : {}))
        yield [ref, ref.path];
      return;
    case "postgres":
      for await (const ref of pgRowSource(
        tableOf(ctx),
        Object.assign(rowSourceOptions(ctx), after !== undefined ? { after } : undefined),
      ))
        yield [ref, ref.key];
      return;
    case "manifest":
    case "refs": {
      const skip = after === undefined ? -1 : Number(after);
      if (!Number.isSafeInteger(skip))
        throw new JobError(
          "ERR_JOB_CHECKPOINT",
          `the checkpoint's position "${after}" is not a line of this source`,
        );
      let ordinal = 0;
      for await (const entry of openSource(source, ctx)) {
        const at = ordinal++;
        if (at > skip) yield [entry, String(at)];
      }
      return;
    }
  }
}

/**
 * The source's `include` / `exclude` globs as a predicate over its objects, or `undefined` when
 * it has none (a PostgreSQL source or a list of references takes none).
 *
 * @throws JobError `ERR_JOB_INVALID_OPTION` for an empty pattern.
 * @example
 * ```ts
 * const taken = sourceFilter({ kind: "s3", bucket: "data", exclude: ["*.tmp"] });
 * ```
 */
export function sourceFilter(source: JobSource): ObjectFilter | undefined {
  switch (source.kind) {
    case "s3":
    case "manifest":
      return objectFilter(source);
    case "dir":
      return objectFilter(source, source.path);
    case "postgres":
    case "refs":
      return undefined;
  }
}

/**
 * How a checkpoint names the source (its positions mean something only for that source), with
 * its include / exclude globs (a resumed job must leave out the same objects).
 *
 * @example
 * ```ts
 * describeSource({ kind: "s3", bucket: "data", prefix: "2024/" }); // "s3://data/2024/"
 * ```
 */
export function describeSource(source: JobSource): string {
  switch (source.kind) {
    case "s3":
      return `s3://${source.bucket}/${source.prefix ?? ""}${describeFilter(source)}`;
    case "dir":
      return `dir ${source.path}${describeFilter(source)}`;
    case "manifest":
      return `manifest ${source.path}${describeFilter(source)}`;
    case "postgres":
      return `postgres ${withoutPassword(source.url)} ${source.table}.${source.column}${source.where !== undefined ? ` where ${source.where}` : ""}`;
    case "refs":
      return "refs";
  }
}

/**
 * Opens what the source reads through before the job starts: a PostgreSQL source's table,
 * checked (nothing else needs opening). The caller closes it.
 *
 * @throws JobError `ERR_JOB_SOURCE` when the database, table, column or key is unusable.
 * @example
 * ```ts
 * const postgres = await openSourceTable(options.source);
 * try { … } finally { await postgres?.close(); }
 * ```
 */
export async function openSourceTable(source: JobSource): Promise<PgTable | undefined> {
  if (source.kind !== "postgres") return undefined;
  const { kind: _kind, ...spec } = source;
  return openPgTable(spec);
}

function tableOf(ctx: JobContext): PgTable {
  if (!ctx.rows) throw new JobError("ERR_JOB_INVALID_OPTION", "a PostgreSQL source needs its table opened");
  return ctx.rows.table;
}

/** The listing retries and counts as the store's queries do. */
function rowSourceOptions(ctx: JobContext): PgRowSourceOptions {
  const rt = ctx.rows?.runtime;
  const options: Mutable<PgRowSourceOptions> = {};
  if (rt?.retry) options.retry = rt.retry;
  if (rt?.signal) options.signal = rt.signal;
  if (rt) options.counters = rt.counters;
  return options;
}

/** A connection URL fit for a checkpoint or a log: its password left out. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
