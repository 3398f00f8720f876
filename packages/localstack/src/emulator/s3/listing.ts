/**
 * Listing: ListObjectsV2, ListObjects (v1) and ListObjectVersions. Keys are walked in S3 order
 * from a binary-searched start; with a delimiter, keys sharing a prefix up to the delimiter roll
 * up into one CommonPrefixes entry, which counts once toward `max-keys`. A continuation token is
 * the last entry returned, so a page resumes exactly after it whatever was written meanwhile.
 */
import { bucketOf, integerParam } from "./context.js";
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { OWNER } from "./model.js";
import type { Bucket, ObjectVersion } from "./model.js";
import { isoDate, sendXml } from "./response.js";
import { searchKeys } from "./store.js";
import { el, opt } from "./xml.js";
import type { XmlNode } from "./xml.js";

/** One listed entry: a key, or a rolled-up common prefix. */
export type ListItem =
  { readonly kind: "key"; readonly key: string } | { readonly kind: "prefix"; readonly prefix: string };

/** Options of {@link walkKeys}. */
export interface WalkOptions {
  readonly prefix: string;
  readonly delimiter: string;
  /** Start strictly after this key (a marker, `start-after`, or a token's last entry). */
  readonly after?: string;
  /** Whether a key is listed at all (ListObjects skips keys whose newest version is a marker). */
  readonly eligible: (key: string) => boolean;
}

/**
 * Walks sorted keys from `after` within `prefix`, rolling keys up into common prefixes.
 * When `after` is itself a common prefix (it ends with the delimiter), the keys under it were
 * already returned as that prefix and are skipped.
 */
export function* walkKeys(sorted: readonly string[], options: WalkOptions): Generator<ListItem> {
  const { prefix, delimiter, after, eligible } = options;
  let index = searchKeys(sorted, prefix, true);
  if (after !== undefined) index = Math.max(index, searchKeys(sorted, after, false));
  const skipUnder =
    after !== undefined && delimiter !== "" && after.endsWith(delimiter) && after.startsWith(prefix)
      ? after
      : undefined;
  let lastPrefix: string | undefined;
  for (; index < sorted.length; index++) {
    const key = sorted[index]!;
    // Keys with a common prefix are contiguous in S3 order: past them, nothing else matches.
    if (!key.startsWith(prefix)) break;
    if (skipUnder !== undefined && key.startsWith(skipUnder)) continue;
    if (!eligible(key)) continue;
    if (delimiter !== "") {
      const at = key.indexOf(delimiter, prefix.length);
      if (at !== -1) {
        const common = key.slice(0, at + delimiter.length);
        if (common !== lastPrefix) {
          lastPrefix = common;
          yield { kind: "prefix", prefix: common };
        }
        continue;
      }
    }
    yield { kind: "key", key };
  }
}

/**
 * Encodes a key the way S3 does for `encoding-type=url`: UTF-8 percent-encoding, `/` kept,
 * space as `+` (so a literal `+` is `%2B`).
 */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+");
}

interface ListParams {
  readonly prefix: string;
  readonly delimiter: string;
  readonly maxKeys: number;
  readonly encode: (text: string) => string;
  readonly encodingType?: string;
}

function listParams(ctx: S3Context): ListParams {
  const query = ctx.route.query;
  const encodingType = query.get("encoding-type") ?? undefined;
  if (encodingType !== undefined && encodingType !== "url") {
    throw new S3Error("InvalidArgument", {
      message: "Invalid Encoding Method specified in Request",
      details: { ArgumentName: "encoding-type", ArgumentValue: encodingType },
    });
  }
  return {
    prefix: query.get("prefix") ?? "",
    delimiter: query.get("delimiter") ?? "",
    // S3 never returns more than 1000 entries, whatever max-keys says.
    maxKeys: Math.min(integerParam(ctx, "max-keys", 1000), 1000),
    encode: encodingType === "url" ? urlEncodeKey : (text) => text,
    ...(encodingType === undefined ? {} : { encodingType }),
  };
}

/** Takes up to `max` items and reports whether more were left. */
function takePage<T>(items: Iterator<T>, max: number): { page: T[]; truncated: boolean } {
  const page: T[] = [];
  while (page.length < max) {
    const next = items.next();
    if (next.done === true) return { page, truncated: false };
    page.push(next.value);
  }
  return { page, truncated: items.next().done !== true };
}

function owner(): XmlNode {
  return el("Owner", [el("ID", OWNER.id), el("DisplayName", OWNER.displayName)]);
}

function contents(version: ObjectVersion, encode: (text: string) => string, withOwner: boolean): XmlNode {
  return el("Contents", [
    el("Key", encode(version.key)),
    el("LastModified", isoDate(version.lastModified)),
    el("ETag", `"${version.etag}"`),
    opt("ChecksumAlgorithm", version.checksum?.algorithm),
    version.checksum === undefined ? undefined : el("ChecksumType", "FULL_OBJECT"),
    el("Size", version.size),
    withOwner && owner(),
    el("StorageClass", version.props.storageClass),
  ]);
}

function currentVersion(ctx: S3Context, bucket: Bucket, key: string): ObjectVersion {
  return ctx.store.current(bucket, key)!;
}

const TOKEN_PREFIX = "1:";

function encodeToken(last: string): string {
  return Buffer.from(TOKEN_PREFIX + last, "utf8").toString("base64url");
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith(TOKEN_PREFIX) || encodeToken(text.slice(TOKEN_PREFIX.length)) !== token) {
    throw new S3Error("InvalidArgument", {
      message: "The continuation token provided is incorrect",
      details: { ArgumentName: "continuation-token" },
    });
  }
  return text.slice(TOKEN_PREFIX.length);
}

/** ListObjectsV2. */
export async function listObjectsV2(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const params = listParams(ctx);
  const query = ctx.route.query;
  const token = query.get("continuation-token") ?? undefined;
  const startAfter = query.get("start-after") ?? undefined;
  // A token wins over start-after; start-after only matters when it is further on.
  const after = token !== undefined ? decodeToken(token) : startAfter;
  const items = walkKeys(ctx.store.sortedKeys(bucket), {
    prefix: params.prefix,
    delimiter: params.delimiter,
    ...(after === undefined ? {} : { after }),
    eligible: (key) => ctx.store.current(bucket, key) !== undefined,
  });
  const { page, truncated } = takePage(items, params.maxKeys);
  const last = page[page.length - 1];
  const fetchOwner = query.get("fetch-owner") === "true";
  sendXml(
    ctx,
    200,
    el("ListBucketResult", [
      el("Name", bucket.name),
      el("Prefix", params.encode(params.prefix)),
      params.delimiter === "" ? undefined : el("Delimiter", params.encode(params.delimiter)),
      el("MaxKeys", params.maxKeys),
      opt("EncodingType", params.encodingType),
      el("KeyCount", page.length),
      el("IsTruncated", truncated),
      opt("ContinuationToken", token),
      truncated && last !== undefined
        ? el("NextContinuationToken", encodeToken(last.kind === "key" ? last.key : last.prefix))
        : undefined,
      opt("StartAfter", startAfter === undefined ? undefined : params.encode(startAfter)),
      ...page.map((item) =>
        item.kind === "key"
          ? contents(currentVersion(ctx, bucket, item.key), params.encode, fetchOwner)
          : el("CommonPrefixes", [el("Prefix", params.encode(item.prefix))]),
      ),
    ]),
  );
}

/** ListObjects (v1): `marker`, and `NextMarker` when a delimiter is used, as S3 does. */
export async function listObjects(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const params = listParams(ctx);
  const marker = ctx.route.query.get("marker") ?? "";
  const items = walkKeys(ctx.store.sortedKeys(bucket), {
    prefix: params.prefix,
    delimiter: params.delimiter,
    ...(marker === "" ? {} : { after: marker }),
    eligible: (key) => ctx.store.current(bucket, key) !== undefined,
  });
  const { page, truncated } = takePage(items, params.maxKeys);
  const last = page[page.length - 1];
  const nextMarker =
    truncated && params.delimiter !== "" && last !== undefined
      ? last.kind === "key"
        ? last.key
        : last.prefix
      : undefined;
  sendXml(
    ctx,
    200,
    el("ListBucketResult", [
      el("Name", bucket.name),
      el("Prefix", params.encode(params.prefix)),
      el("Marker", params.encode(marker)),
      opt("NextMarker", nextMarker === undefined ? undefined : params.encode(nextMarker)),
      el("MaxKeys", params.maxKeys),
      params.delimiter === "" ? undefined : el("Delimiter", params.encode(params.delimiter)),
      opt("EncodingType", params.encodingType),
      el("IsTruncated", truncated),
      ...page.map((item) =>
        item.kind === "key"
          ? contents(currentVersion(ctx, bucket, item.key), params.encode, true)
          : el("CommonPrefixes", [el("Prefix", params.encode(item.prefix))]),
      ),
    ]),
  );
}

type VersionItem =
  { readonly kind: "version"; readonly version: ObjectVersion; readonly isLatest: boolean } | ListItem;

/**
 * ListObjectVersions: every version and delete marker, keys in S3 order and versions newest
 * first; `key-marker` / `version-id-marker` resume after a given version.
 */
export async function listObjectVersions(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const params = listParams(ctx);
  const query = ctx.route.query;
  const keyMarker = query.get("key-marker") ?? "";
  const versionIdMarker = query.get("version-id-marker") ?? "";
  if (versionIdMarker !== "" && keyMarker === "") {
    throw new S3Error("InvalidArgument", {
      message: "A version-id marker cannot be specified without a key marker.",
      details: { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker },
    });
  }

  function* versionItems(): Generator<VersionItem> {
    // Versions of the marker key after the version-id marker come first.
    if (versionIdMarker !== "" && keyMarker.startsWith(params.prefix)) {
      const versions = bucket.objects.get(keyMarker) ?? [];
      const at = versions.findIndex((v) => v.versionId === versionIdMarker);
      if (at !== -1) {
        for (let i = at + 1; i < versions.length; i++) {
          yield { kind: "version", version: versions[i]!, isLatest: i === 0 };
        }
      }
    }
    const keys = walkKeys(ctx.store.sortedKeys(bucket), {
      prefix: params.prefix,
      delimiter: params.delimiter,
      ...(keyMarker === "" ? {} : { after: keyMarker }),
      eligible: () => true,
    });
    for (const item of keys) {
      if (item.kind === "prefix") {
        yield item;
        continue;
      }
      const versions = bucket.objects.get(item.key) ?? [];
      for (let i = 0; i < versions.length; i++) {
        yield { kind: "version", version: versions[i]!, isLatest: i === 0 };
      }
    }
  }

  const { page, truncated } = takePage(versionItems(), params.maxKeys);
  const last = page[page.length - 1];
  let nextKeyMarker: string | undefined;
  let nextVersionIdMarker: string | undefined;
  if (truncated && last !== undefined) {
    if (last.kind === "version") {
      nextKeyMarker = last.version.key;
      nextVersionIdMarker = last.version.versionId;
    } else {
      nextKeyMarker = last.kind === "prefix" ? last.prefix : last.key;
    }
  }
  sendXml(
    ctx,
    200,
    el("ListVersionsResult", [
      el("Name", bucket.name),
      el("Prefix", params.encode(params.prefix)),
      el("KeyMarker", params.encode(keyMarker)),
      el("VersionIdMarker", versionIdMarker),
      opt("NextKeyMarker", nextKeyMarker === undefined ? undefined : params.encode(nextKeyMarker)),
      opt("NextVersionIdMarker", nextVersionIdMarker),
      el("MaxKeys", params.maxKeys),
      params.delimiter === "" ? undefined : el("Delimiter", params.encode(params.delimiter)),
      opt("EncodingType", params.encodingType),
      el("IsTruncated", truncated),
      ...page.map((item): XmlNode => {
        if (item.kind === "prefix") return el("CommonPrefixes", [el("Prefix", params.encode(item.prefix))]);
        if (item.kind === "key") return undefined;
        const { version, isLatest } = item;
        if (version.deleteMarker) {
          return el("DeleteMarker", [
            el("Key", params.encode(version.key)),
            el("VersionId", version.versionId),
            el("IsLatest", isLatest),
            el("LastModified", isoDate(version.lastModified)),
            owner(),
          ]);
        }
        return el("Version", [
          el("Key", params.encode(version.key)),
          el("VersionId", version.versionId),
          el("IsLatest", isLatest),
          el("LastModified", isoDate(version.lastModified)),
          el("ETag", `"${version.etag}"`),
          opt("ChecksumAlgorithm", version.checksum?.algorithm),
          version.checksum === undefined ? undefined : el("ChecksumType", "FULL_OBJECT"),
          el("Size", version.size),
          owner(),
          el("StorageClass", version.props.storageClass),
        ]);
      }),
    ]),
  );
}
