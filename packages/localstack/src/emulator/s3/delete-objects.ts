/**
 * DeleteObjects: up to 1000 keys (optionally versions) in one `<Delete>` document, each deleted
 * as DeleteObject would, with a per-key result.
 */
import { receiveSmall } from "./body.js";
import { bucketOf } from "./context.js";
import type { S3Context } from "./context.js";
import { S3Error } from "./errors.js";
import { sendXml } from "./response.js";
import { childList, childText, el, opt, parseXmlBody } from "./xml.js";
import type { XmlNode } from "./xml.js";

const MAX_KEYS = 1000;
/** Room for 1000 keys of 1024 bytes with their markup. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** DeleteObjects. */
export async function deleteObjects(ctx: S3Context): Promise<void> {
  const bucket = bucketOf(ctx);
  const hasDigest =
    ctx.req.headers["content-md5"] !== undefined ||
    ctx.req.headers["x-amz-trailer"] !== undefined ||
    Object.keys(ctx.req.headers).some((name) =>
      /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.test(name),
    );
  if (!hasDigest) {
    // S3 insists on an integrity check for this operation.
    throw new S3Error("InvalidRequest", { message: "Missing required header for this request: Content-MD5" });
  }
  const root = parseXmlBody(await receiveSmall(ctx.req, MAX_BODY_BYTES), "Delete");
  const quiet = childText(root, "Quiet")?.trim() === "true";
  const objects = childList(root, "Object");
  if (objects.length === 0 || objects.length > MAX_KEYS) throw new S3Error("MalformedXML");
  const entries = objects.map((object) => {
    const key = childText(object, "Key");
    if (key === undefined) throw new S3Error("MalformedXML");
    return { key, versionId: childText(object, "VersionId") };
  });

  const results: XmlNode[] = [];
  const now = ctx.clock.now();
  for (const { key, versionId } of entries) {
    if (key === "" || Buffer.byteLength(key, "utf8") > 1024) {
      results.push(
        el("Error", [
          el("Key", key),
          opt("VersionId", versionId),
          el("Code", "InvalidArgument"),
          el("Message", "Invalid key"),
        ]),
      );
      continue;
    }
    const outcome = ctx.store.delete(bucket, key, versionId, now);
    if (quiet) continue;
    const markerId = versionId === undefined ? outcome.versionId : versionId;
    results.push(
      el("Deleted", [
        el("Key", key),
        opt("VersionId", versionId),
        outcome.deleteMarker ? el("DeleteMarker", true) : undefined,
        outcome.deleteMarker ? opt("DeleteMarkerVersionId", markerId) : undefined,
      ]),
    );
  }
  sendXml(ctx, 200, el("DeleteResult", results));
}
