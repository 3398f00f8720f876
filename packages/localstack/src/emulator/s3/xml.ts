/**
 * XML in and out. Responses are built by hand (S3's element order matters to some clients and
 * the documents are small); request bodies are parsed with `fast-xml-parser` after a validation
 * pass, so anything that is not well-formed XML becomes `MalformedXML` instead of a guess.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { S3Error } from "./errors.js";

/** The namespace S3 puts on its response documents. */
export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * A node of a response document: an element with text, with children, or nothing (skipped).
 * Children that are `undefined` or `false` are left out, which keeps optional elements terse.
 */
export type XmlNode = XmlElement | undefined | false;

/** One element. */
export interface XmlElement {
  readonly name: string;
  readonly children: readonly XmlNode[] | string;
  readonly xmlns?: string;
}

/**
 * An element with text content (`String(value)`), or with child elements.
 *
 * @example
 * ```ts
 * el("Tag", [el("Key", "a"), el("Value", "b")]);
 * ```
 */
export function el(name: string, content: readonly XmlNode[] | string | number | boolean): XmlElement {
  return { name, children: Array.isArray(content) ? content : String(content) };
}

/**
 * An optional text element: left out when the value is `undefined`.
 *
 * @example
 * ```ts
 * [opt("Delimiter", delimiter)]; // nothing when there is no delimiter
 * ```
 */
export function opt(name: string, value: string | number | boolean | undefined): XmlNode {
  return value === undefined ? undefined : el(name, value);
}

/**
 * Serializes a response document with the XML declaration and, unless told otherwise, the S3
 * namespace on the root (error documents have none).
 *
 * @example
 * ```ts
 * renderDocument(el("VersioningConfiguration", [el("Status", "Enabled")]));
 * ```
 */
export function renderDocument(root: XmlElement, withNamespace = true): string {
  const parts: string[] = [XML_DECLARATION];
  render(withNamespace ? { ...root, xmlns: S3_XMLNS } : root, parts);
  return parts.join("");
}

function render(node: XmlElement, out: string[]): void {
  const open = node.xmlns === undefined ? `<${node.name}>` : `<${node.name} xmlns="${node.xmlns}">`;
  if (typeof node.children === "string") {
    out.push(open, escapeXml(node.children), `</${node.name}>`);
    return;
  }
  out.push(open);
  for (const child of node.children) if (child) render(child, out);
  out.push(`</${node.name}>`);
}

/**
 * Escapes text for element content. Carriage returns and other control characters are written
 * as character references so that keys holding them survive an XML parser's newline
 * normalisation; characters XML 1.0 cannot carry at all (NUL and most C0 controls) are written
 * the same way, which lenient parsers such as the SDK's accept.
 */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"'\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      case "'":
        return "&apos;";
      default:
        return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

/** Elements that may repeat in the request documents S3 accepts; always parsed as arrays. */
const REPEATED = new Set(["Object", "Part", "Tag"]);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Values stay strings (a key "007" is not the number 7) and keep their spaces.
  parseTagValue: false,
  trimValues: false,
  // Decodes numeric character references (`&#x0D;`), which the SDK writes for CR/LF in keys.
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
});

/** A parsed XML element: text, or children by name (repeated ones as arrays). */
export type ParsedXml = string | { readonly [name: string]: ParsedXml | readonly ParsedXml[] };

/**
 * Parses a request body and returns its root element, checking the root's name.
 * Anything malformed, empty or with a different root is `MalformedXML`.
 *
 * @example
 * ```ts
 * const del = parseXmlBody(body, "Delete");
 * ```
 */
export function parseXmlBody(body: Buffer, rootName: string): ParsedXml {
  const text = body.toString("utf8");
  // A DOCTYPE can declare entities; S3 has no use for them, and refusing them avoids expansion.
  if (text.includes("<!DOCTYPE") || text.includes("<!ENTITY")) throw new S3Error("MalformedXML");
  if (XMLValidator.validate(text) !== true) throw new S3Error("MalformedXML");
  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch {
    throw new S3Error("MalformedXML");
  }
  if (typeof parsed !== "object" || parsed === null) throw new S3Error("MalformedXML");
  const roots = Object.keys(parsed).filter((name) => !name.startsWith("?") && name !== "#text");
  const root = (parsed as Record<string, unknown>)[rootName];
  if (roots.length !== 1 || roots[0] !== rootName || root === undefined) throw new S3Error("MalformedXML");
  return root as ParsedXml;
}

/**
 * The text of a child element, `undefined` when absent. An element with children where text
 * is expected is `MalformedXML`.
 */
export function childText(node: ParsedXml, name: string): string | undefined {
  if (typeof node === "string") return undefined;
  const child = node[name];
  if (child === undefined) return undefined;
  if (typeof child === "string") return child;
  throw new S3Error("MalformedXML");
}

/** The repeated children of an element (listed in {@link REPEATED}), in document order. */
export function childList(node: ParsedXml, name: string): readonly ParsedXml[] {
  if (typeof node === "string") return [];
  const child = node[name];
  if (child === undefined) return [];
  if (Array.isArray(child)) return child as readonly ParsedXml[];
  return [child as ParsedXml];
}

/** A single child element (not text), `undefined` when absent. */
export function childElement(node: ParsedXml, name: string): ParsedXml | undefined {
  if (typeof node === "string") return undefined;
  const child = node[name];
  if (child === undefined) return undefined;
  if (Array.isArray(child)) throw new S3Error("MalformedXML");
  return child as ParsedXml;
}
