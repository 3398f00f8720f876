/**
 * Conditional requests: `If-Match` and friends on reads (GET/HEAD), on copy sources
 * (`x-amz-copy-source-if-*`) and on writes (PutObject, CompleteMultipartUpload, CopyObject).
 * Evaluation order follows RFC 9110 §13.2.2, which is what S3 documents: a passing `If-Match`
 * makes `If-Unmodified-Since` irrelevant, a failing `If-None-Match` makes `If-Modified-Since`
 * irrelevant.
 *
 * A bucket whose {@link S3BucketBehavior} ignores conditional reads or writes gets every
 * condition of that kind treated as absent, as a store without the feature would.
 */
import type { IncomingMessage } from "node:http";
import type { S3BucketBehavior } from "./control.js";
import { S3Error } from "./errors.js";
import { headerOf } from "./headers.js";
import type { ObjectVersion } from "./model.js";

/** Whether an entity-tag list (`"a", W/"b"`, `*`, or a bare tag) names `etag` (unquoted). */
export function etagMatches(list: string, etag: string): boolean {
  return list.split(",").some((item) => {
    const tag = item.trim();
    if (tag === "*") return true;
    return tag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1") === etag;
  });
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
}

function modifiedSeconds(version: ObjectVersion): number {
  // Last-Modified is sent with second precision; compare at that precision.
  return Math.floor(version.lastModified.getTime() / 1000);
}

function preconditionFailed(condition: string): S3Error {
  return new S3Error("PreconditionFailed", { details: { Condition: condition } });
}

/** The outcome of a read's conditions. */
export type ReadCondition = "proceed" | "not-modified";

/**
 * Evaluates `If-Match`, `If-Unmodified-Since` (412 when false) and `If-None-Match`,
 * `If-Modified-Since` (304 when false) of a GET or HEAD.
 */
export function evaluateReadConditions(
  req: IncomingMessage,
  version: ObjectVersion,
  behavior: S3BucketBehavior,
): ReadCondition {
  if (behavior.conditionalReads === "ignore") return "proceed";
  const ifMatch = headerOf(req, "if-match");
  const ifUnmodifiedSince = parseDate(headerOf(req, "if-unmodified-since"));
  const ifNoneMatch = headerOf(req, "if-none-match");
  const ifModifiedSince = parseDate(headerOf(req, "if-modified-since"));
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, version.etag)) throw preconditionFailed("If-Match");
  } else if (ifUnmodifiedSince !== undefined && modifiedSeconds(version) > ifUnmodifiedSince) {
    throw preconditionFailed("If-Unmodified-Since");
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, version.etag)) return "not-modified";
  } else if (ifModifiedSince !== undefined && modifiedSeconds(version) <= ifModifiedSince) {
    return "not-modified";
  }
  return "proceed";
}

/** Evaluates `x-amz-copy-source-if-*` on the copy source; every failure is 412. */
export function checkCopySourceConditions(
  req: IncomingMessage,
  source: ObjectVersion,
  behavior: S3BucketBehavior,
): void {
  if (behavior.conditionalReads === "ignore") return;
  const ifMatch = headerOf(req, "x-amz-copy-source-if-match");
  const ifUnmodifiedSince = parseDate(headerOf(req, "x-amz-copy-source-if-unmodified-since"));
  const ifNoneMatch = headerOf(req, "x-amz-copy-source-if-none-match");
  const ifModifiedSince = parseDate(headerOf(req, "x-amz-copy-source-if-modified-since"));
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, source.etag)) throw preconditionFailed("x-amz-copy-source-If-Match");
  } else if (ifUnmodifiedSince !== undefined && modifiedSeconds(source) > ifUnmodifiedSince) {
    throw preconditionFailed("x-amz-copy-source-If-Unmodified-Since");
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, source.etag)) throw preconditionFailed("x-amz-copy-source-If-None-Match");
  } else if (ifModifiedSince !== undefined && modifiedSeconds(source) <= ifModifiedSince) {
    throw preconditionFailed("x-amz-copy-source-If-Modified-Since");
  }
}

/** The write conditions of a request, read once so they can be checked twice. */
export interface WriteConditions {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: boolean;
}

/**
 * Reads `If-Match` / `If-None-Match` of a write. S3 accepts only `If-None-Match: *` on writes;
 * anything else there is `NotImplemented`. A bucket that ignores conditional writes has none.
 */
export function writeConditionsOf(req: IncomingMessage, behavior: S3BucketBehavior): WriteConditions {
  if (behavior.conditionalWrites === "ignore") return {};
  const ifMatch = headerOf(req, "if-match");
  const ifNoneMatch = headerOf(req, "if-none-match");
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== "*") {
    throw new S3Error("NotImplemented", {
      message: "A header you provided implies functionality that is not implemented",
      details: { Header: "If-None-Match" },
    });
  }
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch: true }),
  };
}

/**
 * Checks write conditions against the current object (undefined when there is none or its
 * newest version is a delete marker). `If-Match` on a missing key is `NoSuchKey`, as S3 answers;
 * a different ETag, or `If-None-Match: *` on an existing key, is 412.
 *
 * @example
 * ```ts
 * store.put(bucket, draft, (current) => checkWriteConditions(conditions, current, key));
 * ```
 */
export function checkWriteConditions(
  conditions: WriteConditions,
  current: ObjectVersion | undefined,
  key: string,
): void {
  if (conditions.ifNoneMatch === true && current !== undefined) throw preconditionFailed("If-None-Match");
  if (conditions.ifMatch !== undefined) {
    if (current === undefined) throw new S3Error("NoSuchKey", { details: { Key: key } });
    if (!etagMatches(conditions.ifMatch, current.etag)) throw preconditionFailed("If-Match");
  }
}
