/**
 * Object tagging operations: PutObjectTagging, GetObjectTagging, DeleteObjectTagging, on the
 * current object or on the version named by `versionId`.
 */
import { receiveSmall } from "./body.js";
import { bucketOf, keyOf, versionIdOf } from "./context.js";
import type { S3Context } from "./context.js";
import { sendEmpty, sendXml } from "./response.js";
import { versionHeader } from "./store.js";
import { parseTaggingDocument, taggingDocument } from "./tags.js";
import { parseXmlBody } from "./xml.js";

const MAX_TAGGING_BYTES = 64 * 1024;

/** PutObjectTagging: replaces the whole tag set. */
export async function putObjectTagging(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  // Resolve first, so a missing key is NoSuchKey even when the body is bad.
  ctx.store.resolve(bucket, key, versionIdOf(ctx));
  const tags = parseTaggingDocument(parseXmlBody(await receiveSmall(ctx.req, MAX_TAGGING_BYTES), "Tagging"));
  // Resolved again after the body: the version may have changed while it was read.
  const version = ctx.store.resolve(bucket, key, versionIdOf(ctx));
  version.tags = tags;
  sendEmpty(ctx, 200, versionHeader(bucket, version.versionId));
}

/** GetObjectTagging. */
export async function getObjectTagging(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const version = ctx.store.resolve(bucket, keyOf(ctx), versionIdOf(ctx));
  sendXml(ctx, 200, taggingDocument(version.tags), versionHeader(bucket, version.versionId));
}

/** DeleteObjectTagging: 204. */
export async function deleteObjectTagging(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const version = ctx.store.resolve(bucket, keyOf(ctx), versionIdOf(ctx));
  version.tags = [];
  sendEmpty(ctx, 204, versionHeader(bucket, version.versionId));
}
