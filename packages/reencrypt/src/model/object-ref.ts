/**
 * What a source yields: a reference to one stored object (an S3 object, optionally a version,
 * a local file, or one value of a database column), or a line of input that names no object and goes to the report as is.
 */

/** An S3 object, optionally one version of it. */
export interface S3ObjectRef {
  readonly kind: "s3";
  readonly bucket: string;
  readonly key: string;
  /** A specific version; absent means the current one. */
  readonly versionId?: string;
  /** Size from the listing, when the source knows it (informational: the header read decides). */
  readonly size?: number;
}

/** A local file in rekey format. */
export interface FileObjectRef {
  readonly kind: "file";
  /** The file's path. */
  readonly path: string;
}

/** One value of a PostgreSQL column: the row named by its key, in a table checked by the store. */
export interface RowObjectRef {
  readonly kind: "row";
  /** The table, schema-qualified and quoted as PostgreSQL prints it (`public.secrets`). */
  readonly table: string;
  /** The key column (a single-column primary key, or a unique NOT NULL column). */
  readonly keyColumn: string;
  /** The column holding the message. */
  readonly column: string;
  /** The row's key, as PostgreSQL prints it (`42`, a UUID, a string). */
  readonly key: string;
}

/** One stored object. */
export type ObjectRef = S3ObjectRef | FileObjectRef | RowObjectRef;

/** Input that names no object (e.g. a malformed manifest line): reported, never a crash. */
export interface InvalidSourceEntry {
  readonly kind: "invalid";
  /** Where: `manifest.csv:12`. */
  readonly where: string;
  /** Why it was rejected. */
  readonly reason: string;
}

/** What a source yields. */
export type SourceEntry = ObjectRef | InvalidSourceEntry;

/** An async stream of source entries, read as the job needs them. */
export type ObjectSource = AsyncIterable<SourceEntry>;

/**
 * A stable identity of an object, for the checkpoint's set of finished objects.
 *
 * @example
 * ```ts
 * refId({ kind: "s3", bucket: "b", key: "k" }); // '["s3","b","k",null]'
 * ```
 */
export function refId(ref: ObjectRef): string {
  switch (ref.kind) {
    case "s3":
      return JSON.stringify(["s3", ref.bucket, ref.key, ref.versionId ?? null]);
    case "file":
      return JSON.stringify(["file", ref.path]);
    case "row":
      return JSON.stringify(["row", ref.table, ref.keyColumn, ref.column, ref.key]);
  }
}

/**
 * A short name of an object for people: `s3://bucket/key`, `s3://bucket/key?versionId=v`, the
 * file path, or `table[keyColumn=key].column` for a row's value.
 *
 * @example
 * ```ts
 * describeRef({ kind: "s3", bucket: "b", key: "a/b.bin" }); // "s3://b/a/b.bin"
 * ```
 */
export function describeRef(ref: ObjectRef): string {
  if (ref.kind === "file") return ref.path;
  if (ref.kind === "row") return `${ref.table}[${ref.keyColumn}=${ref.key}].${ref.column}`;
  return `s3://${ref.bucket}/${ref.key}${ref.versionId ? `?versionId=${ref.versionId}` : ""}`;
}
