/**
 * Single-object operations: PutObject, GetObject, HeadObject and DeleteObject.
 */
import { validateHeaderValue } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { readExtents, sliceExtents } from "./blobs.js";
import { MAX_PUT_SIZE, receiveBlob } from "./body.js";
import { checksumHeaderName } from "./checksum.js";
import {
  checkWriteConditions,
  etagMatches,
  evaluateReadConditions,
  writeConditionsOf,
} from "./conditions.js";
import { bucketOf, integerParam, keyOf, versionIdOf } from "./context.js";
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { encryptionHeaders, headerOf, objectHeaders, objectPropsOf } from "./headers.js";
import { ARCHIVED_CLASSES } from "./model.js";
import type { ObjectVersion } from "./model.js";
import { parseRange } from "./range.js";
import type { ByteRange } from "./range.js";
import { sendEmpty, writeHead } from "./response.js";
import { versionHeader } from "./store.js";
import { parseTaggingHeader } from "./tags.js";

/**
 * PutObject. Conditions are checked before the body is read (to fail fast) and again, with
 * the write, after it is stored (to be exact when writers race).
 */
export async function putObject(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const conditions = writeConditionsOf(ctx.req, ctx.behavior);
  const props = objectPropsOf(ctx.req);
  const tags = parseTaggingHeader(headerOf(ctx.req, "x-amz-tagging"));
  checkWriteConditions(conditions, ctx.store.current(bucket, key), key);

  const { extents, body } = await receiveBlob(ctx.req, ctx.blobs, { maxSize: MAX_PUT_SIZE });
  let version: ObjectVersion;
  try {
    version = ctx.store.put(
      bucket,
      {
        key,
        deleteMarker: false,
        lastModified: ctx.clock.now(),
        etag: body.md5.toString("hex"),
        size: body.size,
        extents,
        ...(body.checksum === undefined ? {} : { checksum: body.checksum }),
        props,
        tags,
      },
      (current) => checkWriteConditions(conditions, current, key),
    );
  } catch (error) {
    ctx.blobs.discard(extents);
    throw error;
  }
  sendEmpty(ctx, 200, {
    etag: `"${version.etag}"`,
    ...versionHeader(bucket, version.versionId),
    ...encryptionHeaders(version.props.encryption),
    ...(version.checksum === undefined
      ? {}
      : {
          [checksumHeaderName(version.checksum.algorithm)]: version.checksum.value,
          "x-amz-checksum-type": "FULL_OBJECT",
        }),
  });
}

/** Response header overrides a GET may ask for (`response-content-type=…`). */
const OVERRIDES = [
  ["response-content-type", "content-type"],
  ["response-content-language", "content-language"],
  ["response-expires", "expires"],
  ["response-cache-control", "cache-control"],
  ["response-content-disposition", "content-disposition"],
  ["response-content-encoding", "content-encoding"],
] as const;

/**
 * A `response-*` override as a header value. The query string can carry bytes no header may
 * hold (`%0A`, `%00`); S3 refuses those with 400 InvalidArgument rather than answering at all.
 */
function overrideValue(param: string, header: string, value: string): string {
  try {
    validateHeaderValue(header, value);
  } catch {
    throw new S3Error("InvalidArgument", {
      message: `Invalid value for ${param}`,
      details: { ArgumentName: param, ArgumentValue: value },
    });
  }
  return value;
}

/** What a GET or HEAD sends: the whole object, a range, or a part. */
interface ReadPlan {
  readonly version: ObjectVersion;
  readonly status: 200 | 206 | 304;
  readonly range?: ByteRange;
  readonly headers: Record<string, string | number>;
}

function planRead(ctx: S3Context, forBody: boolean): ReadPlan {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const version = ctx.store.resolve(bucket, key, versionIdOf(ctx));
  if (forBody && ARCHIVED_CLASSES.has(version.props.storageClass)) {
    throw new S3Error("InvalidObjectState", {
      message: "The operation is not valid for the object's storage class",
      details: { StorageClass: version.props.storageClass },
    });
  }
  const condition = evaluateReadConditions(ctx.req, version, ctx.behavior);
  const checksumMode = headerOf(ctx.req, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED";
  const partNumber = ctx.route.query.has("partNumber") ? integerParam(ctx, "partNumber", 0) : undefined;
  const rangeHeader = headerOf(ctx.req, "range");
  if (partNumber !== undefined && rangeHeader !== undefined) {
    throw new S3Error("InvalidRequest", {
      message: "Cannot specify both Range header and partNumber query parameter",
    });
  }

  let range: ByteRange | undefined;
  const extra: Record<string, string | number> = {};
  if (partNumber !== undefined) {
    const sizes = version.partSizes ?? [version.size];
    if (partNumber < 1 || partNumber > sizes.length) throw new S3Error("InvalidPartNumber");
    let start = 0;
    for (let i = 0; i < partNumber - 1; i++) start += sizes[i]!;
    const size = sizes[partNumber - 1]!;
    if (size > 0) range = { start, end: start + size - 1 };
    if (version.partSizes !== undefined) extra["x-amz-mp-parts-count"] = version.partSizes.length;
  } else {
    range = parseRange(rangeHeader, version.size);
  }
  const headers: Record<string, string | number> = {
    ...objectHeaders(bucket, version, { includeChecksum: checksumMode && range === undefined }),
    ...extra,
  };
  if (condition === "not-modified") {
    // 304 carries the validators only, as S3 sends it.
    return {
      version,
      status: 304,
      headers: {
        etag: headers.etag!,
        "last-modified": headers["last-modified"]!,
        ...versionHeader(bucket, version.versionId),
      },
    };
  }
  for (const [param, name] of OVERRIDES) {
    const value = ctx.route.query.get(param);
    if (value !== null) headers[name] = overrideValue(param, name, value);
  }
  if (range === undefined) {
    return {
      version,
      status: partNumber === undefined ? 200 : 206,
      headers: { ...headers, "content-length": version.size },
    };
  }
  return {
    version,
    status: 206,
    range,
    headers: {
      ...headers,
      "content-length": range.end - range.start + 1,
      "content-range": `bytes ${range.start}-${range.end}/${version.size}`,
    },
  };
}

/** GetObject: whole object, `Range`, `partNumber`, conditions, response overrides. */
export async function getObject(ctx: S3Context): Promise<void> {
  const plan = planRead(ctx, true);
  writeHead(ctx, plan.status, plan.headers);
  if (plan.status === 304) {
    ctx.res.end();
    return;
  }
  const start = plan.range?.start ?? 0;
  const length = plan.range === undefined ? plan.version.size : plan.range.end - plan.range.start + 1;
  // Pin the blobs for the duration of the read so a concurrent overwrite or delete cannot
  // unlink them mid-stream.
  const extents = sliceExtents(plan.version.extents, start, length);
  ctx.blobs.retain(extents);
  try {
    // Byte mode: the stream buffers a few KiB ahead, not sixteen file chunks.
    await pipeline(Readable.from(readExtents(extents), { objectMode: false }), ctx.res);
  } catch {
    // The client went away or a file read failed after the headers were sent: nothing more
    // can be said on this response; pipeline already destroyed it.
  } finally {
    ctx.blobs.release(extents);
  }
}

/** HeadObject: the headers of GetObject, no body (errors included). */
export async function headObject(ctx: S3Context): Promise<void> {
  const plan = planRead(ctx, false);
  writeHead(ctx, plan.status, plan.headers);
  ctx.res.end();
}

/**
 * DeleteObject, following the bucket's versioning state. `If-Match` (without a version id) is
 * checked against the current object: 412 on a different ETag, `NoSuchKey` when there is none.
 */
export async function deleteObject(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const key = keyOf(ctx);
  const versionId = versionIdOf(ctx);
  const ifMatch = headerOf(ctx.req, "if-match");
  if (ifMatch !== undefined && versionId === undefined) {
    const current = ctx.store.current(bucket, key);
    if (current === undefined) throw new S3Error("NoSuchKey", { details: { Key: key } });
    if (!etagMatches(ifMatch, current.etag)) {
      throw new S3Error("PreconditionFailed", { details: { Condition: "If-Match" } });
    }
  }
  const outcome = ctx.store.delete(bucket, key, versionId, ctx.clock.now());
  sendEmpty(ctx, 204, {
    ...(outcome.versionId === undefined ? {} : versionHeader(bucket, outcome.versionId)),
    ...(outcome.deleteMarker ? { "x-amz-delete-marker": "true" } : {}),
  });
}
