/**
 * Object tags: the `x-amz-tagging` header (a URL query string) and the `<Tagging>` document,
 * with S3's limits (10 tags, keys up to 128 characters, values up to 256, no duplicate keys).
 */
import { S3Error } from "./errors.js";
import type { Tag } from "./model.js";
import { childElement, childList, childText, el } from "./xml.js";
import type { ParsedXml, XmlElement } from "./xml.js";

const MAX_TAGS = 10;
const MAX_KEY = 128;
const MAX_VALUE = 256;

/** Checks S3's tag limits; `InvalidTag` otherwise. */
export function validateTags(tags: readonly Tag[]): readonly Tag[] {
  if (tags.length > MAX_TAGS) {
    throw new S3Error("BadRequest", { message: "Object tags cannot be greater than 10" });
  }
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    if (key.length === 0 || [...key].length > MAX_KEY) {
      throw new S3Error("InvalidTag", { message: "The TagKey you have provided is invalid" });
    }
    if ([...value].length > MAX_VALUE) throw new S3Error("InvalidTag");
    if (seen.has(key)) {
      throw new S3Error("InvalidTag", { message: "Cannot provide multiple Tags with the same key" });
    }
    seen.add(key);
  }
  return tags;
}

/**
 * Tags from an `x-amz-tagging` header (`k1=v1&k2=v2`, form-encoded).
 *
 * @example
 * ```ts
 * parseTaggingHeader("team=core&class=a%20b"); // [{key:"team",value:"core"},{key:"class",value:"a b"}]
 * ```
 */
export function parseTaggingHeader(value: string | undefined): readonly Tag[] {
  if (value === undefined || value === "") return [];
  const tags = [...new URLSearchParams(value)].map(([key, tagValue]) => ({ key, value: tagValue }));
  return validateTags(tags);
}

/** Tags from a PutObjectTagging `<Tagging><TagSet><Tag>…` document. */
export function parseTaggingDocument(root: ParsedXml): readonly Tag[] {
  const tagSet = childElement(root, "TagSet");
  if (tagSet === undefined) throw new S3Error("MalformedXML");
  const tags = childList(tagSet, "Tag").map((tag) => {
    const key = childText(tag, "Key");
    const value = childText(tag, "Value");
    if (key === undefined || value === undefined) throw new S3Error("MalformedXML");
    return { key, value };
  });
  return validateTags(tags);
}

/** The `<Tagging>` document of GetObjectTagging. */
export function taggingDocument(tags: readonly Tag[]): XmlElement {
  return el("Tagging", [
    el(
      "TagSet",
      tags.map((tag) => el("Tag", [el("Key", tag.key), el("Value", tag.value)])),
    ),
  ]);
}
