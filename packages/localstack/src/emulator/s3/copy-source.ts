/**
 * The `x-amz-copy-source` of CopyObject and UploadPartCopy: `[/]bucket/key[?versionId=id]`,
 * URL-encoded, resolved to a readable source version with its `x-amz-copy-source-if-*`
 * conditions checked.
 */
import { createHash } from "node:crypto";
import { readExtents } from "./blobs.js";
import type { Extent } from "./blobs.js";
import { createChecksum } from "./checksum.js";
import type { ChecksumAlgorithm } from "./checksum.js";
import { checkCopySourceConditions } from "./conditions.js";
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { headerOf } from "./headers.js";
import { ARCHIVED_CLASSES } from "./model.js";
import type { Bucket, ObjectVersion } from "./model.js";

/** A resolved copy source. */
export interface CopySource {
  readonly bucket: Bucket;
  readonly key: string;
  /** The version id the header named, if it named one. */
  readonly requestedVersionId?: string;
  readonly version: ObjectVersion;
}

function invalidSource(): S3Error {
  return new S3Error("InvalidArgument", {
    message: "Invalid copy source object key",
    details: { ArgumentName: "x-amz-copy-source" },
  });
}

/**
 * Reads `x-amz-copy-source`, finds the source version (errors as for a GET of it) and checks
 * the copy-source conditions.
 *
 * @example
 * ```ts
 * const source = resolveCopySource(ctx); // "src-bucket/a%20b.bin?versionId=…"
 * ```
 */
export function resolveCopySource(ctx: S3Context): CopySource {
  const header = headerOf(ctx.req, "x-amz-copy-source");
  if (header === undefined) throw invalidSource();
  const mark = header.indexOf("?");
  const rawPath = (mark === -1 ? header : header.slice(0, mark)).replace(/^\//, "");
  const query = new URLSearchParams(mark === -1 ? "" : header.slice(mark + 1));
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw invalidSource();
  }
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) throw invalidSource();
  const bucket = ctx.store.bucket(path.slice(0, slash));
  const key = path.slice(slash + 1);
  const requestedVersionId = query.get("versionId") ?? undefined;
  const version = ctx.store.resolve(bucket, key, requestedVersionId);
  if (ARCHIVED_CLASSES.has(version.props.storageClass)) {
    throw new S3Error("InvalidObjectState", {
      message:
        "The source object of the COPY action is not in the active tier and is only stored in Amazon S3 Glacier.",
    });
  }
  checkCopySourceConditions(ctx.req, version, ctx.behavior);
  return { bucket, key, version, ...(requestedVersionId === undefined ? {} : { requestedVersionId }) };
}

/**
 * Reads extents once to compute their MD5 and, if asked, another checksum. Used where S3
 * computes a new digest of copied bytes (a part copy, a copy of a multipart object). The
 * caller keeps the extents retained while this runs.
 */
export async function digestExtents(
  extents: readonly Extent[],
  algorithm?: ChecksumAlgorithm,
): Promise<{ md5: Buffer; checksum?: Buffer }> {
  const md5 = createHash("md5");
  const checksum = algorithm === undefined ? undefined : createChecksum(algorithm);
  for await (const chunk of readExtents(extents)) {
    md5.update(chunk);
    checksum?.update(chunk);
  }
  return { md5: md5.digest(), ...(checksum === undefined ? {} : { checksum: await checksum.digest() }) };
}
