/**
 * Test control of the emulator's S3: per-bucket behaviour modes that make a bucket act like an
 * S3-compatible store lacking a feature (conditional writes or reads ignored, no
 * UploadPartCopy), and listeners awaited before each operation runs, so a test can place a
 * racing writer at an exact point of a client's sequence of requests.
 *
 * Modes are kept by bucket name, apart from the buckets themselves: a mode may be set before
 * the bucket is created, and survives its deletion and re-creation.
 */
import type { IncomingMessage } from "node:http";
import type { S3Route } from "./router.js";

/**
 * How one emulated bucket behaves, for testing code against S3-compatible stores that lack
 * features. A mode applies to requests addressed to the bucket (for CopyObject and
 * UploadPartCopy, the destination bucket of the request, also for its copy-source conditions).
 *
 * @example
 * ```ts
 * aws.s3Control?.setBucketBehavior("data", { conditionalWrites: "ignore", uploadPartCopy: "missing" });
 * ```
 */
export interface S3BucketBehavior {
  /**
   * "ignore": If-Match / If-None-Match on PutObject, CompleteMultipartUpload and CopyObject
   * writes are accepted and ignored (the write happens). DeleteObject's `If-Match` is honoured
   * in both modes.
   * @default "honour"
   */
  readonly conditionalWrites: "honour" | "ignore";
  /**
   * "ignore": If-Match/If-None-Match/If-(Un)Modified-Since on GetObject/HeadObject and the
   * x-amz-copy-source-if-* conditions of UploadPartCopy/CopyObject are ignored.
   * @default "honour"
   */
  readonly conditionalReads: "honour" | "ignore";
  /**
   * "missing": UploadPartCopy answers HTTP 501 NotImplemented (as s3gw and some others do).
   * @default "supported"
   */
  readonly uploadPartCopy: "supported" | "missing";
}

/**
 * A request as the emulator's S3 sees it, before the operation runs.
 *
 * @example
 * ```ts
 * // { operation: "PutObject", bucket: "data", key: "a.bin", method: "PUT",
 * //   headers: { "if-match": "\"9e10…\"", ... }, query: { "x-id": "PutObject" } }
 * ```
 */
export interface S3RequestInfo {
  /** The S3 operation, as the fault injector names it: "PutObject", "UploadPartCopy", … */
  readonly operation: string;
  /** The bucket of the path; absent for ListBuckets. */
  readonly bucket?: string;
  /** The object key of the path; absent for bucket-level operations. */
  readonly key?: string;
  /** The HTTP method, upper case. */
  readonly method: string;
  /** Request headers, names in lower case, repeated headers joined with ",". */
  readonly headers: Readonly<Record<string, string>>;
  /** Query parameters (the last value of a repeated one). */
  readonly query: Readonly<Record<string, string>>;
}

/**
 * Test control of the emulator's S3, available as `RunningEmulator.s3Control` and, on the
 * built-in backend, `LocalAws.s3Control`.
 *
 * @example
 * ```ts
 * const control = aws.s3Control!;
 * control.setBucketBehavior("data", { conditionalWrites: "ignore" });
 * let raced = false;
 * const stop = control.beforeRequest(async (request) => {
 *   if (raced || request.operation !== "PutObject" || request.key !== "a.bin") return;
 *   raced = true; // the writer's own PutObject passes through this listener too
 *   await writer.send(new PutObjectCommand({ Bucket: "data", Key: "a.bin", Body: "theirs" }));
 * });
 * // ... run the code under test ...
 * stop();
 * ```
 */
export interface S3EmulatorControl {
  /** Sets (merges) the behaviour of one bucket; the bucket need not exist yet. */
  setBucketBehavior(bucket: string, behavior: Partial<S3BucketBehavior>): void;
  /**
   * Calls `listener` before every S3 operation runs (after the request is parsed, before any
   * state is read or changed), and AWAITS it: a test can run a racing writer at an exact point.
   * Returns an unsubscribe.
   *
   * Listeners run one after another in subscription order, for requests that pass the fault
   * injector (a request failed by an injected fault never reaches its operation). Requests a
   * listener makes itself reach the listeners too: guard against recursion. A listener that
   * throws fails the request with HTTP 500 `InternalError`.
   */
  beforeRequest(listener: (request: S3RequestInfo) => void | Promise<void>): () => void;
  /**
   * Forgets every bucket behaviour and listener: every bucket behaves as S3 again. Nothing
   * resets them automatically (not even the vitest fixture): a test that sets them undoes them.
   */
  reset(): void;
}

/** Every mode at its default: what S3 does. */
export const HONOURING_BUCKET: S3BucketBehavior = {
  conditionalWrites: "honour",
  conditionalReads: "honour",
  uploadPartCopy: "supported",
};

/**
 * The emulator's {@link S3EmulatorControl}, with the lookups the S3 service makes.
 *
 * @example
 * ```ts
 * const control = new S3Control();
 * const s3 = createS3Service({ dataDir, faults, clock, control });
 * control.setBucketBehavior("b", { uploadPartCopy: "missing" });
 * ```
 */
export class S3Control implements S3EmulatorControl {
  readonly #behaviors = new Map<string, S3BucketBehavior>();
  readonly #listeners: Array<(request: S3RequestInfo) => void | Promise<void>> = [];

  setBucketBehavior(bucket: string, behavior: Partial<S3BucketBehavior>): void {
    this.#behaviors.set(bucket, { ...this.behaviorOf(bucket), ...definedOnly(behavior) });
  }

  beforeRequest(listener: (request: S3RequestInfo) => void | Promise<void>): () => void {
    // Wrapped so the same function subscribed twice is two subscriptions, each removable once.
    const entry = (request: S3RequestInfo): void | Promise<void> => listener(request);
    this.#listeners.push(entry);
    return () => {
      const index = this.#listeners.indexOf(entry);
      if (index !== -1) this.#listeners.splice(index, 1);
    };
  }

  /** The behaviour of a bucket (every mode at its default when none was set). */
  behaviorOf(bucket: string | undefined): S3BucketBehavior {
    return (bucket === undefined ? undefined : this.#behaviors.get(bucket)) ?? HONOURING_BUCKET;
  }

  reset(): void {
    this.#behaviors.clear();
    this.#listeners.length = 0;
  }

  /** Awaits each listener in turn with the request's description; none subscribed costs nothing. */
  async notify(req: IncomingMessage, route: S3Route): Promise<void> {
    if (this.#listeners.length === 0) return;
    const info = describeRequest(req, route);
    // A copy: a listener may unsubscribe itself (or subscribe another) while it runs.
    for (const listener of [...this.#listeners]) await listener(info);
  }
}

/** Drops `undefined` members, so `{ conditionalReads: undefined }` does not erase a mode. */
function definedOnly(behavior: Partial<S3BucketBehavior>): Partial<S3BucketBehavior> {
  return Object.fromEntries(Object.entries(behavior).filter(([, value]) => value !== undefined));
}

function describeRequest(req: IncomingMessage, route: S3Route): S3RequestInfo {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return {
    operation: route.operation,
    ...(route.bucket === undefined ? {} : { bucket: route.bucket }),
    ...(route.key === undefined ? {} : { key: route.key }),
    method: (req.method ?? "GET").toUpperCase(),
    headers: Object.freeze(headers),
    query: Object.freeze(Object.fromEntries(route.query)),
  };
}
