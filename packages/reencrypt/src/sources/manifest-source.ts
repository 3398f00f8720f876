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
 * `invalid` entry with its line number and reason — reported, never a crash. Each line is one
 * row (a quote left open never reaches into the next line, so one bad line stays one invalid
 * entry); its fields are read by `csv-parse` (RFC 4180, strict quotes: a quote inside an unquoted
 * field makes the line invalid; a byte order mark before the first line is dropped).
 */
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { parse, type Options } from "csv-parse/sync";
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
  const parseRow =
    options.format === "inventory" ? inventoryParser(options.inventorySchema) : csvParser(options);
  let n = 0;
  let batch: { readonly n: number; readonly line: string }[] = [];
  function* entriesOf(taken: typeof batch): Generator<S3ObjectRef | InvalidSourceEntry> {
    const rows = csvRowsOf(taken.map((l) => l.line));
    for (const [i, { n: at }] of taken.entries()) {
      const fields = rows[i];
      const parsed = fields === undefined ? { reason: "unbalanced quotes" } : parseRow(fields, at);
      if (parsed === undefined) continue;
      if ("reason" in parsed)
        yield { kind: "invalid", where: `${options.path}:${at}`, reason: parsed.reason };
      else yield parsed;
    }
  }
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === "") continue;
      batch.push({ n, line });
      if (batch.length < BATCH_LINES) continue;
      const taken = batch;
      batch = [];
      yield* entriesOf(taken);
    }
    yield* entriesOf(batch);
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

/** Lines read and parsed together (the entries of a manifest stream by this many). */
const BATCH_LINES = 512;

const CSV_OPTIONS: Options = { bom: true, relax_column_count: true, record_delimiter: "\n" };

/**
 * The fields of each line, each line one CSV row: `undefined` for a line that is not one (a
 * quote left open, or a stray one). The lines are parsed as one text — a fraction of the cost of
 * one parse per line — and one by one only when that text does not give one row per line.
 *
 * @example
 * ```ts
 * csvRowsOf(['b,"a,""b""",v1', 'b,"open']); // [["b", 'a,"b"', "v1"], undefined]
 * ```
 */
export function csvRowsOf(lines: readonly string[]): (string[] | undefined)[] {
  if (lines.length === 0) return [];
  try {
    const rows = parse(lines.join("\n"), CSV_OPTIONS);
    // Fewer rows than lines: a quoted field went on over a line end.
    if (rows.length === lines.length) return rows;
  } catch {
    // A bad line among them: each line is parsed alone below, so only that one fails.
  }
  return lines.map((line) => {
    try {
      const rows = parse(line, CSV_OPTIONS);
      return rows.length === 1 ? rows[0] : undefined;
    } catch {
      return undefined;
    }
  });
}

type LineResult = S3ObjectRef | { reason: string } | undefined;

function csvParser(options: ManifestSourceOptions): (fields: readonly string[], n: number) => LineResult {
  return (fields, n) => {
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

function inventoryParser(schema = "Bucket, Key"): (fields: readonly string[], n: number) => LineResult {
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
  return (fields) => {
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

/** S3 bucket naming rules (3–63 chars, lowercase letters, digits, dots, hyphens). */
function isBucketName(s: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s);
}
