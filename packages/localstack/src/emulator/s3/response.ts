/**
 * Writing S3 answers: common headers, XML documents, empty answers and error documents.
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { S3Error } from "./errors.js";
import { el, renderDocument } from "./xml.js";
import type { XmlElement } from "./xml.js";

/** Per-request values every answer carries. */
export interface ResponseContext {
  readonly res: ServerResponse;
  /** The `x-amz-request-id` of this request, also put in error documents. */
  readonly requestId: string;
  /** The emulator's time when the request arrived, sent as `Date`. */
  readonly now: Date;
  /** HEAD answers never have a body, errors included. */
  readonly isHead: boolean;
}

/** A new S3-style request id (16 upper-case hex characters). */
export function newRequestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

/** An HTTP date (`Last-Modified`, `Date`): RFC 7231 IMF-fixdate, second precision. */
export function httpDate(date: Date): string {
  return date.toUTCString();
}

/** An XML timestamp: ISO 8601 in UTC with milliseconds, as S3 writes them. */
export function isoDate(date: Date): string {
  return date.toISOString();
}

function baseHeaders(ctx: ResponseContext): Record<string, string> {
  return {
    "x-amz-request-id": ctx.requestId,
    "x-amz-id-2": randomBytes(24).toString("base64"),
    // The emulator's clock, not the host's: a test that advances time sees consistent dates.
    date: httpDate(ctx.now),
    server: "AmazonS3",
  };
}

/** Sets the common headers plus `headers`, without ending the answer. */
export function writeHead(
  ctx: ResponseContext,
  status: number,
  headers: Record<string, string | number>,
): void {
  ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers });
}

/**
 * Answers with an XML document.
 *
 * @example
 * ```ts
 * sendXml(ctx, 200, el("CopyObjectResult", [el("ETag", etag)]));
 * ```
 */
export function sendXml(
  ctx: ResponseContext,
  status: number,
  root: XmlElement,
  headers: Record<string, string | number> = {},
): void {
  const body = Buffer.from(renderDocument(root), "utf8");
  writeHead(ctx, status, { ...headers, "content-type": "application/xml", "content-length": body.length });
  ctx.res.end(ctx.isHead ? undefined : body);
}

/** Answers with no body (e.g. 200 for PUT, 204 for DELETE). */
export function sendEmpty(
  ctx: ResponseContext,
  status: number,
  headers: Record<string, string | number> = {},
): void {
  writeHead(ctx, status, { ...headers, "content-length": 0 });
  ctx.res.end();
}

/**
 * Answers with the S3 error document, or only the status and headers for HEAD.
 *
 * @example
 * ```ts
 * sendError(ctx, new S3Error("NoSuchBucket", { details: { BucketName: "b" } }), "/b");
 * ```
 */
export function sendError(ctx: ResponseContext, error: S3Error, resource: string): void {
  const root = el("Error", [
    el("Code", error.code),
    el("Message", error.message),
    ...Object.entries(error.details).map(([name, value]) => el(name, value)),
    el("Resource", resource),
    el("RequestId", ctx.requestId),
  ]);
  const body = ctx.isHead ? undefined : Buffer.from(renderDocument(root, false), "utf8");
  writeHead(ctx, error.status, {
    ...error.headers,
    ...(body === undefined ? {} : { "content-type": "application/xml", "content-length": body.length }),
  });
  ctx.res.end(body);
}
