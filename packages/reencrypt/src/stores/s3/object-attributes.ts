/**
 * What a rewrite must carry over from the object it replaces: user metadata, the content
 * headers, storage class, server-side encryption settings and tags. They are taken from the
 * same GET answer that gave the ETag, so they describe exactly the version the job read.
 * Tags do not change the ETag; they are read (`GetObjectTagging`) right before the write, and
 * only when the object has any (`x-amz-tagging-count`).
 */
import {
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type GetObjectCommandOutput,
  type GetObjectTaggingCommandOutput,
  type PutObjectCommandInput,
  type ServerSideEncryption,
  type StorageClass,
} from "@aws-sdk/client-s3";
import type { S3ObjectRef } from "../../model/object-ref.js";
import { asObjectError, s3Send, type S3Runtime } from "./s3-runtime.js";
import type { StoreCapabilities } from "./probe-store.js";

/**
 * User metadata the job adds to an object it writes from a given version (`versionId` in a
 * manifest line or a Batch Operations task): the version it was made from. A retry that finds
 * that version no longer current, and the current one made from it, knows the work is done.
 */
export const SOURCE_VERSION_METADATA = "rekey-source-version-id";

/** The attributes of an S3 object that a rewrite preserves. */
export interface S3ObjectAttributes {
  readonly metadata: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly cacheControl?: string;
  readonly expires?: Date;
  readonly websiteRedirectLocation?: string;
  /** Absent for STANDARD (S3 does not send the header for it). */
  readonly storageClass?: StorageClass;
  readonly serverSideEncryption?: ServerSideEncryption;
  readonly sseKmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
  /** Number of tags (`x-amz-tagging-count`); 0 means no `GetObjectTagging` is needed. */
  readonly tagCount: number;
}

/**
 * Picks the preserved attributes out of a GET answer.
 *
 * @example
 * ```ts
 * const attributes = attributesOf(await s3.send(new GetObjectCommand({ Bucket, Key, Range })));
 * ```
 */
export function attributesOf(out: GetObjectCommandOutput): S3ObjectAttributes {
  const o = <K extends string, V>(k: K, v: V | undefined | null): { [P in K]?: V } =>
    (v === undefined || v === null || v === "" ? {} : { [k]: v }) as { [P in K]?: V };
  return {
    metadata: { ...(out.Metadata ?? {}) },
    ...o("contentType", out.ContentType),
    ...o("contentEncoding", out.ContentEncoding),
    ...o("contentDisposition", out.ContentDisposition),
    ...o("contentLanguage", out.ContentLanguage),
    ...o("cacheControl", out.CacheControl),
    ...o("expires", out.Expires),
    ...o("websiteRedirectLocation", out.WebsiteRedirectLocation),
    ...o("storageClass", out.StorageClass === "STANDARD" ? undefined : out.StorageClass),
    ...o("serverSideEncryption", out.ServerSideEncryption),
    ...o("sseKmsKeyId", out.SSEKMSKeyId),
    ...o("bucketKeyEnabled", out.BucketKeyEnabled),
    tagCount: out.TagCount ?? 0,
  };
}

/** The write parameters shared by `PutObject` and `CreateMultipartUpload`. */
export type PreservedWriteParams = Pick<
  PutObjectCommandInput,
  | "Metadata"
  | "ContentType"
  | "ContentEncoding"
  | "ContentDisposition"
  | "ContentLanguage"
  | "CacheControl"
  | "Expires"
  | "WebsiteRedirectLocation"
  | "StorageClass"
  | "ServerSideEncryption"
  | "SSEKMSKeyId"
  | "BucketKeyEnabled"
  | "Tagging"
>;

/**
 * The parameters of the write that replaces the object: its attributes and its tags (read now
 * when it has any), and, for a write made from a given version, {@link SOURCE_VERSION_METADATA}.
 *
 * @example
 * ```ts
 * const params = await writeParamsFor(ref, plan.attributes, rt);
 * await s3.send(new PutObjectCommand({ Bucket, Key, Body, IfMatch: etag, ...params }));
 * ```
 */
export async function writeParamsFor(
  ref: S3ObjectRef,
  a: S3ObjectAttributes,
  rt: S3Runtime,
  store?: StoreCapabilities,
): Promise<PreservedWriteParams> {
  let tagging: string | undefined;
  // A store whose GET does not count tags: every object's tags are read, or they would be lost.
  const countsTags = store === undefined || store.taggingCount || !store.objectTagging;
  if (a.tagCount > 0 || !countsTags) {
    let out: GetObjectTaggingCommandOutput;
    try {
      out = await s3Send(rt, "GetObjectTagging", (s3, o) =>
        s3.send(
          new GetObjectTaggingCommand({
            Bucket: ref.bucket,
            Key: ref.key,
            ...(ref.versionId ? { VersionId: ref.versionId } : {}),
          }),
          o,
        ),
      );
    } catch (e) {
      throw asObjectError(e, "read tags");
    }
    tagging = encodeTagging(out.TagSet ?? []);
  }
  // The object's own metadata is copied by spreading: every key stays an own property, "__proto__"
  // too (Object.assign would set the copy's prototype instead, and drop the key).
  const metadata: Record<string, string> = { ...a.metadata };
  if (ref.versionId) metadata[SOURCE_VERSION_METADATA] = ref.versionId;
  const p: PreservedWriteParams = { Metadata: metadata };
  if (a.contentType !== undefined) p.ContentType = a.contentType;
  if (a.contentEncoding !== undefined) p.ContentEncoding = a.contentEncoding;
  if (a.contentDisposition !== undefined) p.ContentDisposition = a.contentDisposition;
  if (a.contentLanguage !== undefined) p.ContentLanguage = a.contentLanguage;
  if (a.cacheControl !== undefined) p.CacheControl = a.cacheControl;
  if (a.expires !== undefined) p.Expires = a.expires;
  if (a.websiteRedirectLocation !== undefined) p.WebsiteRedirectLocation = a.websiteRedirectLocation;
  if (a.storageClass !== undefined) p.StorageClass = a.storageClass;
  // SSE-S3 / SSE-KMS settings are kept as they were; the job never changes server-side encryption.
  if (a.serverSideEncryption !== undefined) p.ServerSideEncryption = a.serverSideEncryption;
  if (a.sseKmsKeyId !== undefined) p.SSEKMSKeyId = a.sseKmsKeyId;
  if (a.bucketKeyEnabled !== undefined) p.BucketKeyEnabled = a.bucketKeyEnabled;
  if (tagging !== undefined && tagging !== "") p.Tagging = tagging;
  return p;
}

/**
 * Tags as the `x-amz-tagging` header wants them: a URL query string.
 *
 * @example
 * ```ts
 * encodeTagging([{ Key: "team", Value: "a b" }]); // "team=a%20b"
 * ```
 */
export function encodeTagging(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[],
): string {
  return tags
    .filter((t) => t.Key !== undefined)
    .map((t) => `${encodeURIComponent(t.Key ?? "")}=${encodeURIComponent(t.Value ?? "")}`)
    .join("&");
}

/**
 * On a store that ignores tags given with a write (`x-amz-tagging`), writes the object's tags
 * again with `PutObjectTagging` on the version the job wrote; a no-op elsewhere.
 *
 * @example
 * ```ts
 * await restoreTags(ref, written, params, mode.capabilities, rt);
 * ```
 */
export async function restoreTags(
  ref: S3ObjectRef,
  written: { readonly versionId?: string },
  params: PreservedWriteParams,
  store: StoreCapabilities,
  rt: S3Runtime,
): Promise<void> {
  if (!params.Tagging || store.taggingOnWrite || !store.objectTagging) return;
  const TagSet = params.Tagging.split("&").map((pair) => {
    const [k = "", v = ""] = pair.split("=");
    return { Key: decodeURIComponent(k), Value: decodeURIComponent(v) };
  });
  try {
    await s3Send(rt, "PutObjectTagging", (s3, o) =>
      s3.send(
        new PutObjectTaggingCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          ...(written.versionId ? { VersionId: written.versionId } : {}),
          Tagging: { TagSet },
        }),
        o,
      ),
    );
  } catch (e) {
    throw asObjectError(e, "write tags");
  }
}

/**
 * The S3 attributes a plan carries (what the head read found), or none.
 *
 * @example
 * ```ts
 * const params = await writeParamsFor(ref, s3AttributesOf(plan), rt);
 * ```
 */
export function s3AttributesOf(plan: { readonly attributes?: unknown }): S3ObjectAttributes {
  return (plan.attributes as S3ObjectAttributes | undefined) ?? { metadata: {}, tagCount: 0 };
}
