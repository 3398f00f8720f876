/**
 * Bucket operations: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation,
 * PutBucketVersioning and GetBucketVersioning.
 */
import { receiveSmall } from "./body.js";
import { bucketOf, integerParam } from "./context.js";
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { OWNER } from "./model.js";
import { isoDate, sendEmpty, sendXml } from "./response.js";
import { searchKeys } from "./store.js";
import { childText, el, opt, parseXmlBody } from "./xml.js";

/** The Region of buckets created without a `LocationConstraint`. */
export const DEFAULT_REGION = "us-east-1";

const MAX_CONFIG_BYTES = 64 * 1024;

/** CreateBucket, with an optional `CreateBucketConfiguration` body naming the Region. */
export async function createBucket(ctx: S3Context): Promise<void> {
  const body = await receiveSmall(ctx.req, MAX_CONFIG_BYTES);
  let region = DEFAULT_REGION;
  if (body.length > 0) {
    const config = parseXmlBody(body, "CreateBucketConfiguration");
    const constraint = childText(config, "LocationConstraint");
    if (constraint !== undefined && constraint !== "") region = constraint;
  }
  const bucket = ctx.store.createBucket(ctx.route.bucket ?? "", region, ctx.now);
  sendEmpty(ctx, 200, { location: `/${bucket.name}` });
}

/** HeadBucket: 200 with the bucket's Region, or a bare 404. */
export async function headBucket(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  sendEmpty(ctx, 200, { "x-amz-bucket-region": bucket.region });
}

/** DeleteBucket: only an empty bucket (no versions, no delete markers). */
export async function deleteBucket(ctx: S3Context): Promise<void> {
  ctx.store.deleteBucket(ctx.route.bucket ?? "");
  sendEmpty(ctx, 204);
}

/** ListBuckets, with the `prefix`, `max-buckets` and `continuation-token` parameters. */
export async function listBuckets(ctx: S3Context): Promise<void> {
  const prefix = ctx.route.query.get("prefix") ?? "";
  const maxBuckets = Math.min(integerParam(ctx, "max-buckets", 10_000), 10_000);
  const token = ctx.route.query.get("continuation-token");
  const all = ctx.store.listBuckets().filter((bucket) => bucket.name.startsWith(prefix));
  const names = all.map((bucket) => bucket.name);
  const from = token === null ? 0 : searchKeys(names, token, false);
  const page = all.slice(from, from + maxBuckets);
  const truncated = from + page.length < all.length;
  sendXml(
    ctx,
    200,
    el("ListAllMyBucketsResult", [
      el("Owner", [el("ID", OWNER.id), el("DisplayName", OWNER.displayName)]),
      el(
        "Buckets",
        page.map((bucket) =>
          el("Bucket", [
            el("Name", bucket.name),
            el("CreationDate", isoDate(bucket.created)),
            el("BucketRegion", bucket.region),
          ]),
        ),
      ),
      opt("ContinuationToken", truncated ? page[page.length - 1]?.name : undefined),
      opt("Prefix", ctx.route.query.get("prefix") ?? undefined),
    ]),
  );
}

/** GetBucketLocation: empty for us-east-1, as S3 answers. */
export async function getBucketLocation(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  sendXml(ctx, 200, el("LocationConstraint", bucket.region === DEFAULT_REGION ? "" : bucket.region));
}

/** PutBucketVersioning: `Enabled` or `Suspended`. A bucket cannot return to unversioned. */
export async function putBucketVersioning(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const config = parseXmlBody(await receiveSmall(ctx.req, MAX_CONFIG_BYTES), "VersioningConfiguration");
  const status = childText(config, "Status");
  if (status !== undefined) {
    if (status !== "Enabled" && status !== "Suspended") throw new S3Error("MalformedXML");
    bucket.versioning = status;
  }
  if (childText(config, "MfaDelete") === "Enabled") {
    throw new S3Error("NotImplemented", { message: "MFA delete is not implemented by the emulator." });
  }
  sendEmpty(ctx, 200);
}

/** GetBucketVersioning: no `Status` until versioning was configured once. */
export async function getBucketVersioning(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  sendXml(
    ctx,
    200,
    el("VersioningConfiguration", [
      opt("Status", bucket.versioning === "Unversioned" ? undefined : bucket.versioning),
    ]),
  );
}
