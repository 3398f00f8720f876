/** Turns a {@link JobSource} into the stream of entries the driver pulls. */
import { JobError } from "../errors.js";
import type { SourceEntry } from "../model/object-ref.js";
import { dirSource } from "../sources/dir-source.js";
import { manifestSource } from "../sources/manifest-source.js";
import { s3Source } from "../sources/s3-source.js";
import type { JobContext } from "./job-context.js";
import type { JobSource } from "./job-options.js";

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
    case "refs":
      return toAsync(source.refs);
  }
}

async function* toAsync(
  refs: AsyncIterable<SourceEntry> | Iterable<SourceEntry>,
): AsyncGenerator<SourceEntry> {
  yield* refs;
}
