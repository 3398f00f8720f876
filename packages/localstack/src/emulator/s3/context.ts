/**
 * What an operation handler gets: the request, its route, the store and the response helpers'
 * context.
 */
import type { IncomingMessage } from "node:http";
import type { EmulatorClock } from "../contracts.js";
import type { BlobStore } from "./blobs.js";
import type { S3BucketBehavior } from "./control.js";
import { S3Error } from "./errors.js";
import type { Bucket } from "./model.js";
import type { ResponseContext } from "./response.js";
import type { S3Route } from "./router.js";
import type { S3Store } from "./store.js";

/** One request being answered. */
export interface S3Context extends ResponseContext {
  readonly req: IncomingMessage;
  readonly route: S3Route;
  readonly store: S3Store;
  readonly blobs: BlobStore;
  readonly clock: EmulatorClock;
  /** How the bucket the request addresses behaves (S3's behaviour unless a test changed it). */
  readonly behavior: S3BucketBehavior;
}

/** Answers one operation completely, or throws an {@link S3Error}. */
export type S3Handler = (ctx: S3Context) => Promise<void>;

/** The bucket a bucket- or object-level route names (`NoSuchBucket` if absent). */
export function bucketOf(ctx: S3Context): Bucket {
  const name = ctx.route.bucket;
  if (name === undefined) throw new S3Error("InvalidRequest", { message: "A bucket name is required." });
  return ctx.store.bucket(name);
}

/** The key of an object-level route. */
export function keyOf(ctx: S3Context): string {
  const key = ctx.route.key;
  if (key === undefined) throw new S3Error("InvalidRequest", { message: "An object key is required." });
  return key;
}

/** The `versionId` query parameter, if any. */
export function versionIdOf(ctx: S3Context): string | undefined {
  return ctx.route.query.get("versionId") ?? undefined;
}

/**
 * A non-negative integer query parameter, `InvalidArgument` when malformed.
 *
 * @example
 * ```ts
 * const maxKeys = integerParam(ctx, "max-keys", 1000);
 * ```
 */
export function integerParam(ctx: S3Context, name: string, fallback: number): number {
  const value = ctx.route.query.get(name);
  if (value === null || value === "") return fallback;
  if (!/^\d{1,10}$/.test(value)) {
    throw new S3Error("InvalidArgument", {
      message: `Provided ${name} not an integer or within integer range`,
      details: { ArgumentName: name, ArgumentValue: value },
    });
  }
  return Number(value);
}
