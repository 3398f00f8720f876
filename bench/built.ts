/**
 * The job package's internal modules that the baselines share with the job (its retry policy,
 * counters and upload), loaded from the build — `pnpm bench` builds first — as the job itself is:
 * every side of a comparison runs the JavaScript a user installs, with the types of its sources.
 *
 * The sources run through tsx are not that JavaScript: tsx keeps function names by wrapping every
 * named function in a call to its `__name` helper, so each closure a function makes costs a
 * `defineProperty` more, a cost only the job, with its many small functions, would pay.
 */
import type * as JobCountersModule from "../packages/reencrypt/src/support/job-counters.js";
import type * as RetryModule from "../packages/reencrypt/src/support/retry.js";
import type * as StreamUploadModule from "../packages/reencrypt/src/stores/s3/stream-upload.js";

/** Imports `path` (relative to the job package's `dist/`), with an error that says to build. */
async function built<T>(path: string): Promise<T> {
  const url = new URL(`../packages/reencrypt/dist/${path}`, import.meta.url);
  try {
    return (await import(url.href)) as T;
  } catch (e) {
    throw new Error(`the benchmark runs the built packages: run \`pnpm run build\` first (${url.pathname})`, {
      cause: e,
    });
  }
}

export const { retry } = await built<typeof RetryModule>("support/retry.js");
export const { JobCounters } = await built<typeof JobCountersModule>("support/job-counters.js");
export const { uploadStream } = await built<typeof StreamUploadModule>("stores/s3/stream-upload.js");
