/**
 * The PostgreSQL store: {@link ObjectStore} over one column of one table, a row's value being
 * the object. A value's version token is the SHA-256 of the value as stored; a write is one
 * compare-and-swap, `UPDATE t SET c = $new WHERE key = $1 AND c = $old`, so a row the
 * application changed since it was read is updated by nobody: 0 rows updated is a conflict.
 * A `bytea` column holds the message as is; a `text` column holds it in standard base64 (a
 * value that is not canonical base64 is not a message: left alone). NULL is left alone too.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { JobError } from "../../errors.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import type { ObjectRef, RowObjectRef } from "../../model/object-ref.js";
import type {
  HeadBytes,
  HeadReadSettings,
  ObjectStore,
  StoreWriteMode,
  StoredHead,
  WrittenVersion,
} from "../../model/object-store.js";
import { completePrefix } from "../../planning/read-prefix.js";
import type { JobCounters } from "../../support/job-counters.js";
import type { QueryResultRow } from "pg";
import type { PgTable } from "./pg-table.js";

/** A row's value as the database holds it: bytes (`bytea`), text (base64), or NULL. */
type RawValue = Buffer | string | null;

/** Every write is a compare-and-swap on the value: nothing to probe. */
const CONDITIONAL: StoreWriteMode = { unconditional: false };

/**
 * One column of one table.
 *
 * @example
 * ```ts
 * const table = await openPgTable({ url, table: "secrets", column: "payload" });
 * const store = new PgStore(table, counters, { headerReadBytes: 4096 });
 * const head = await store.readHead({ kind: "row", table: table.table, keyColumn: "id", column: "payload", key: "1" });
 * ```
 */
export class PgStore implements ObjectStore {
  constructor(
    /** The checked table. */
    readonly table: PgTable,
    private readonly counters: JobCounters,
    private readonly settings: HeadReadSettings,
  ) {}

  async readHead(ref: ObjectRef): Promise<StoredHead> {
    const raw = await this.readRaw(ref);
    if (raw === undefined) throw new JobError("ERR_JOB_CONFLICT", "the row was deleted since it was listed");
    if (raw === null) return { read: { kind: "foreign", reason: "NULL" }, size: 0, bytes: new Uint8Array() };
    const bytes = this.decode(raw);
    if (!bytes) return { read: { kind: "foreign", reason: "not base64" }, size: 0, bytes: new Uint8Array() };
    this.counters.bytes.read += bytes.length;
    // The whole value is in hand: the header parser never needs another read.
    const read = await completePrefix(
      bytes.subarray(0, Math.max(this.settings.headerReadBytes, 1)),
      bytes.length,
      (start, end) => Promise.resolve(bytes.subarray(start, end)),
      this.settings.limits,
    );
    return { read, size: bytes.length, etag: tokenOf(raw), bytes };
  }

  writeMode(): Promise<StoreWriteMode> {
    return Promise.resolve(CONDITIONAL);
  }

  async openPinned(plan: ObjectPlan): Promise<Readable> {
    const { bytes } = await this.pinned(plan);
    return Readable.from([Buffer.from(bytes)]);
  }

  async replacePrefix(plan: ObjectPlan, prefix: Uint8Array): Promise<WrittenVersion> {
    const { raw, bytes } = await this.pinned(plan);
    const bodyOffset = (plan.prefix as NonNullable<ObjectPlan["prefix"]>).bodyOffset;
    return this.swap(plan.ref, raw, Buffer.concat([prefix, bytes.subarray(bodyOffset)]));
  }

  async replaceWhole(
    plan: ObjectPlan,
    source: AsyncIterable<Buffer>,
  ): Promise<WrittenVersion & { size: number }> {
    const { raw } = await this.pinned(plan);
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(chunk);
    const next = Buffer.concat(chunks);
    return { ...(await this.swap(plan.ref, raw, next)), size: next.length };
  }

  async readCurrent(ref: ObjectRef, length: number): Promise<(HeadBytes & WrittenVersion) | undefined> {
    const raw = await this.readRaw(ref);
    const bytes = raw === undefined || raw === null ? undefined : this.decode(raw);
    if (raw === undefined || raw === null || !bytes) return undefined;
    return { bytes: bytes.subarray(0, length), size: bytes.length, etag: tokenOf(raw) };
  }

  async readBack(ref: ObjectRef, written: WrittenVersion, length: number): Promise<HeadBytes> {
    const bytes = await this.writtenBytes(ref, written);
    return { bytes: bytes.subarray(0, length), size: bytes.length };
  }

  async openWritten(ref: ObjectRef, written: WrittenVersion): Promise<Readable> {
    return Readable.from([Buffer.from(await this.writtenBytes(ref, written))]);
  }

  /** The value the job wrote; `ERR_JOB_CONFLICT` when the row no longer holds it. */
  private async writtenBytes(ref: ObjectRef, written: WrittenVersion): Promise<Uint8Array> {
    const raw = await this.readRaw(ref);
    const bytes = raw === undefined || raw === null ? undefined : this.decode(raw);
    if (raw === undefined || raw === null || !bytes || tokenOf(raw) !== written.etag)
      throw new JobError("ERR_JOB_CONFLICT", "verify: another writer changed the row after the rewrite");
    this.counters.bytes.read += bytes.length;
    return bytes;
  }

  /**
   * The planned value, as stored and decoded: the one the header read had in hand (the
   * compare-and-swap of the write is then the only check, and the one that counts), or read again.
   */
  private async pinned(plan: ObjectPlan): Promise<{ raw: Buffer | string; bytes: Uint8Array }> {
    if (plan.whole) {
      const raw = this.encode(plan.whole);
      if (tokenOf(raw) === plan.etag) return { raw, bytes: plan.whole };
    }
    const raw = await this.readRaw(plan.ref);
    if (raw === undefined) throw new JobError("ERR_JOB_CONFLICT", "the row was deleted since it was read");
    const bytes = raw === null ? undefined : this.decode(raw);
    if (raw === null || !bytes || tokenOf(raw) !== plan.etag)
      throw new JobError("ERR_JOB_CONFLICT", "the value changed since it was read");
    return { raw, bytes };
  }

  /** `UPDATE … WHERE key = $1 AND column = $old`: 0 rows is another writer's change. */
  private async swap(ref: ObjectRef, old: Buffer | string, next: Uint8Array): Promise<WrittenVersion> {
    const row = this.rowOf(ref);
    const value = this.encode(next);
    const { sql } = this.table;
    const r = await this.query(
      `UPDATE ${sql.table} SET ${sql.column} = $2 WHERE ${sql.key} = $1 AND ${sql.column} = $3`,
      [row.key, value, old],
    );
    if (r.rowCount !== 1) throw new JobError("ERR_JOB_CONFLICT", "the value changed since it was read");
    this.counters.bytes.written += next.length;
    return { etag: tokenOf(value) };
  }

  /** The value as stored; `undefined` when the row is gone. */
  private async readRaw(ref: ObjectRef): Promise<RawValue | undefined> {
    const row = this.rowOf(ref);
    const { sql } = this.table;
    const r = await this.query<{ v: RawValue }>(
      `SELECT ${sql.column} AS v FROM ${sql.table} WHERE ${sql.key} = $1`,
      [row.key],
    );
    return r.rows.length === 0 ? undefined : (r.rows[0] as { v: RawValue }).v;
  }

  /** A value as the column stores it. */
  private encode(bytes: Uint8Array): Buffer | string {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.table.encoding === "bytea" ? b : b.toString("base64");
  }

  /** The message bytes of a stored value; `undefined` for text that is not canonical base64. */
  private decode(raw: Buffer | string): Uint8Array | undefined {
    if (typeof raw !== "string") return raw;
    const bytes = Buffer.from(raw, "base64");
    return bytes.toString("base64") === raw ? bytes : undefined;
  }

  private async query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    try {
      return await this.table.pool.query<R>(text, values);
    } catch (e) {
      throw new JobError("ERR_JOB_DATABASE", `query on ${this.table.table} failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  private rowOf(ref: ObjectRef): RowObjectRef {
    if (
      ref.kind !== "row" ||
      ref.table !== this.table.table ||
      ref.column !== this.table.column ||
      ref.keyColumn !== this.table.keyColumn
    )
      throw new JobError(
        "ERR_JOB_INVALID_OPTION",
        `the PostgreSQL store of ${this.table.table} was given another object`,
      );
    return ref;
  }
}

/** The version token of a stored value: the SHA-256 of its bytes (text: of its UTF-8). */
function tokenOf(raw: Buffer | string): string {
  return createHash("sha256").update(raw).digest("hex");
}
