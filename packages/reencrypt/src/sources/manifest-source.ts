/**
 * `manifestSource`: objects listed in a CSV manifest, read line by line (a manifest of any
 * length is never in memory). Formats:
 *
 * - `csv` (default): `bucket,key[,versionId]` per line; fields may be double-quoted (RFC 4180,
 *   `""` for a quote); an optional first line `bucket,key[,versionId]` is a header; keys are as
 *   written unless `urlEncodedKeys` (the S3 Batch Operations manifest encodes them);
 * - `inventory`: an S3 Inventory CSV file: every field quoted, keys URL-encoded, columns as the
 *   inventory's `fileSchema` (from its manifest.json) says; delete markers and noncurrent
 *   versions (`IsLatest` false) are skipped.
 *
 * `.gz` files are decompressed on the fly. A line that names no object becomes an
 * `invalid` entry with its line number and reason — reported, never a crash.
 */
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { JobError } from "../errors.js";
import type { InvalidSourceEntry, S3ObjectRef } from "../model/object-ref.js";

/** Options of {@link manifestSource}. */
export interface ManifestSourceOptions {
  /** Path of the manifest file (`.gz` is decompressed). */
  readonly path: string;
  /** @default "csv" */
  readonly format?: "csv" | "inventory";
  /** `csv` only: keys are URL-encoded (S3 Batch Operations manifests). @default false */
  readonly urlEncodedKeys?: boolean;
  /**
   * `inventory` only: the inventory's `fileSchema`, e.g. `"Bucket, Key, VersionId, IsLatest,
   * IsDeleteMarker, Size"`.
   * @default "Bucket, Key"
   */
  readonly inventorySchema?: string;
}

/**
 * Reads a manifest.
 *
 * @example
 * ```ts
 * for await (const entry of manifestSource({ path: "objects.csv" })) {
 *   if (entry.kind === "invalid") console.warn(entry.where, entry.reason);
 * }
 * ```
 */
export async function* manifestSource(
  options: ManifestSourceOptions,
): AsyncGenerator<S3ObjectRef | InvalidSourceEntry> {
  try {
    await access(options.path);
  } catch (e) {
    throw new JobError("ERR_JOB_SOURCE", `cannot read manifest ${options.path}`, { cause: e });
  }
  const file = createReadStream(options.path);
  const input: Readable = options.path.endsWith(".gz") ? file.pipe(createGunzip()) : file;
  // `pipe` does not forward errors: a read error of the file must fail the gunzip stream too.
  if (input !== file) file.on("error", (e) => input.destroy(e));
  const lines = createInterface({ input, crlfDelay: Infinity });
  const parseLine =
    options.format === "inventory" ? inventoryParser(options.inventorySchema) : csvParser(options);
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === "") continue;
      const parsed = parseLine(line, n);
      if (parsed === undefined) continue;
      if ("reason" in parsed) yield { kind: "invalid", where: `${options.path}:${n}`, reason: parsed.reason };
      else yield parsed;
    }
  } catch (e) {
    if (e instanceof JobError) throw e;
    throw new JobError("ERR_JOB_SOURCE", `cannot read manifest ${options.path} at line ${n + 1}`, {
      cause: e,
    });
  } finally {
    lines.close();
    input.destroy();
  }
}

type LineResult = S3ObjectRef | { reason: string } | undefined;

function csvParser(options: ManifestSourceOptions): (line: string, n: number) => LineResult {
  return (line, n) => {
    const fields = splitCsvLine(line);
    if (!fields) return { reason: "unbalanced quotes" };
    if (n === 1 && fields[0]?.toLowerCase() === "bucket" && fields[1]?.toLowerCase() === "key")
      return undefined;
    if (fields.length < 2 || fields.length > 3)
      return { reason: `expected bucket,key[,versionId], got ${fields.length} field(s)` };
    const [bucket = "", rawKey = "", versionId = ""] = fields;
    if (!isBucketName(bucket)) return { reason: `"${bucket}" is not a bucket name` };
    let key = rawKey;
    if (options.urlEncodedKeys) {
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, " "));
      } catch {
        return { reason: "key is not valid URL encoding" };
      }
    }
    if (key === "") return { reason: "empty key" };
    return { kind: "s3", bucket, key, ...(versionId ? { versionId } : {}) };
  };
}

function inventoryParser(schema = "Bucket, Key"): (line: string, n: number) => LineResult {
  const columns = schema.split(",").map((c) => c.trim());
  const at = (name: string): number => columns.indexOf(name);
  const [bucketAt, keyAt, versionAt, latestAt, deleteAt, sizeAt] = [
    at("Bucket"),
    at("Key"),
    at("VersionId"),
    at("IsLatest"),
    at("IsDeleteMarker"),
    at("Size"),
  ];
  if (bucketAt < 0 || keyAt < 0)
    throw new JobError("ERR_JOB_INVALID_OPTION", `inventory schema "${schema}" has no Bucket or Key column`);
  return (line) => {
    const fields = splitCsvLine(line);
    if (!fields) return { reason: "unbalanced quotes" };
    if (fields.length !== columns.length)
      return { reason: `expected ${columns.length} fields per the inventory schema, got ${fields.length}` };
    if (deleteAt >= 0 && fields[deleteAt] === "true") return undefined;
    // A noncurrent version cannot be rewritten in place (a write adds a new current version),
    // so, as in a bucket listing, only the current version of each key is the job's.
    if (latestAt >= 0 && fields[latestAt] === "false") return undefined;
    const bucket = fields[bucketAt] ?? "";
    if (!isBucketName(bucket)) return { reason: `"${bucket}" is not a bucket name` };
    let key: string;
    try {
      key = decodeURIComponent((fields[keyAt] ?? "").replace(/\+/g, " "));
    } catch {
      return { reason: "key is not valid URL encoding" };
    }
    if (key === "") return { reason: "empty key" };
    const versionId = versionAt >= 0 ? fields[versionAt] : undefined;
    const size = sizeAt >= 0 && fields[sizeAt] ? Number(fields[sizeAt]) : undefined;
    return {
      kind: "s3",
      bucket,
      key,
      ...(versionId ? { versionId } : {}),
      ...(size !== undefined && Number.isSafeInteger(size) ? { size } : {}),
    };
  };
}

/**
 * Splits one CSV line; `undefined` when a quote is left open.
 *
 * @example
 * ```ts
 * splitCsvLine('b,"a,""b""",v1'); // ["b", 'a,"b"', "v1"]
 * ```
 */
export function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        const c = line[i] as string;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ",") return undefined;
    } else {
      const end = line.indexOf(",", i);
      field = end === -1 ? line.slice(i) : line.slice(i, end);
      i = end === -1 ? line.length : end;
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
  }
}

/** S3 bucket naming rules (3–63 chars, lowercase letters, digits, dots, hyphens). */
function isBucketName(s: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s);
}
