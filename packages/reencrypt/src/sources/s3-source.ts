/**
 * `s3Source`: the objects under a bucket and prefix, from `ListObjectsV2` (the SDK's paginator),
 * as an async iterator. One page (up to 1,000 keys) is held, and the next one is fetched while
 * the job works through the current one — a bounded look-ahead of one page, so a listing of 10
 * million keys is never in memory and the job never waits on the listing.
 */
import { paginateListObjectsV2, type ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import { JobError, describeError } from "../errors.js";
import type { S3ObjectRef } from "../model/object-ref.js";
import { isNoSuchBucket, s3Pages, type S3Runtime } from "../stores/s3/s3-runtime.js";

/** Options of {@link s3Source}. */
export interface S3SourceOptions {
  readonly bucket: string;
  /** Key prefix. @default "" (the whole bucket) */
  readonly prefix?: string;
  /** Keys per page. @default 1000 */
  readonly pageSize?: number;
  /** List the keys after this one only (`StartAfter`: a resumed job). @default the first */
  readonly startAfter?: string;
}

/**
 * Lists the objects under `bucket/prefix`.
 *
 * @example
 * ```ts
 * for await (const ref of s3Source({ bucket: "data", prefix: "2024/" }, rt)) console.log(ref.key);
 * ```
 */
export async function* s3Source(options: S3SourceOptions, rt: S3Runtime): AsyncGenerator<S3ObjectRef> {
  // `StartAfter` stays in every request; S3 goes by the continuation token once there is one.
  const pages = s3Pages(
    rt,
    "ListObjectsV2",
    paginateListObjectsV2,
    {
      Bucket: options.bucket,
      ...(options.prefix ? { Prefix: options.prefix } : {}),
      ...(options.startAfter ? { StartAfter: options.startAfter } : {}),
    },
    options.pageSize ?? 1000,
  );
  type Next = IteratorResult<ListObjectsV2CommandOutput, undefined>;
  // The look-ahead page settles while the consumer works; a handler is attached at once so a
  // failure is not an unhandled rejection meanwhile. It is still thrown when the page is awaited.
  const prefetch = (): Promise<Next> => {
    const p = pages.next().catch((e: unknown) => {
      throw sourceError(options, e);
    });
    p.catch(noop);
    return p;
  };
  let pending: Promise<Next> | undefined = prefetch();
  try {
    while (pending) {
      const next: Next = await pending;
      if (next.done) break;
      const page: ListObjectsV2CommandOutput = next.value;
      // A page that is not truncated is the last, whatever token it carries.
      pending = page.IsTruncated ? prefetch() : undefined;
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield {
          kind: "s3",
          bucket: options.bucket,
          key: o.Key,
          ...(o.Size !== undefined ? { size: o.Size } : {}),
        };
      }
    }
  } finally {
    // The consumer stopped early (SIGINT, an error): wait for the look-ahead request so no
    // request outlives the job; its result is not needed.
    if (pending) await pending.then(noop, noop);
    await pages.return(undefined);
  }
}

function sourceError(options: S3SourceOptions, e: unknown): JobError {
  if (isNoSuchBucket(e))
    return new JobError("ERR_JOB_SOURCE", `bucket ${options.bucket} does not exist`, { cause: e });
  return new JobError(
    "ERR_JOB_SOURCE",
    `cannot list s3://${options.bucket}/${options.prefix ?? ""}: ${describeError(e).reason}`,
    { cause: e },
  );
}

function noop(): void {}
