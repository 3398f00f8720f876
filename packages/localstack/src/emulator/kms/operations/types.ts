/** What every KMS operation handler looks like, and small helpers they share. */
import { KmsError } from "../errors.js";
import type { JsonObject } from "../input.js";
import { optionalInteger, optionalString } from "../input.js";
import type { KmsState } from "../state.js";

/**
 * One KMS operation: the parsed JSON request in, the JSON response out. Throws
 * {@link KmsError} for protocol errors. Operations are synchronous: the whole state is in memory.
 */
export type Operation = (input: JsonObject, state: KmsState) => JsonObject;

/** Operations by name (the part of `X-Amz-Target` after `TrentService.`). */
export type OperationTable = Readonly<Record<string, Operation>>;

/** A date as AWS JSON 1.1 sends timestamps: seconds since the epoch, with milliseconds. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

/** Thrown after every check passed on a `DryRun: true` request, as KMS does. */
export function dryRunSucceeded(): KmsError {
  return new KmsError(
    "DryRunOperationException",
    "The request would have succeeded, but the DryRun option is set.",
  );
}

/** Limits of one paged list operation. */
export interface PageRule {
  /** `Limit` when the request has none. */
  defaultLimit: number;
  /** Largest accepted `Limit`. */
  maxLimit: number;
}

/** A validated `Limit` and `Marker`, read before the request's key is looked up. */
export interface PageRequest {
  readonly limit: number;
  /** Offset the marker encodes; checked against the list when the page is cut. */
  readonly start: number;
}

/** One page of a list, with the `Truncated` / `NextMarker` members of the answer. */
export interface Page<T> {
  items: T[];
  /** `Truncated` and, when true, `NextMarker`, ready to spread into the response. */
  paging: JsonObject;
}

/**
 * Reads `Limit` and `Marker`. Markers are opaque to clients (an encoded offset here); an
 * unreadable one is `InvalidMarkerException`.
 */
export function readPage(input: JsonObject, rule: PageRule): PageRequest {
  const limit = optionalInteger(input, "Limit", { min: 1, max: rule.maxLimit }) ?? rule.defaultLimit;
  const marker = optionalString(input, "Marker", { max: 1024 });
  if (marker === undefined) return { limit, start: 0 };
  const decoded = /^o([0-9]{1,9})$/.exec(Buffer.from(marker, "base64url").toString("latin1"));
  if (decoded === null) throw new KmsError("InvalidMarkerException", "Invalid marker");
  return { limit, start: Number(decoded[1]) };
}

/** Cuts the requested page out of `items`. */
export function page<T>(items: readonly T[], request: PageRequest): Page<T> {
  if (request.start > items.length) throw new KmsError("InvalidMarkerException", "Invalid marker");
  const end = Math.min(items.length, request.start + request.limit);
  const truncated = end < items.length;
  return {
    items: items.slice(request.start, end),
    paging: truncated
      ? { Truncated: true, NextMarker: Buffer.from(`o${end}`, "latin1").toString("base64url") }
      : { Truncated: false },
  };
}
