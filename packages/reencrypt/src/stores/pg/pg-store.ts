/**
 * The PostgreSQL store: {@link ObjectStore} over one column of one table, a row's value being
 * the object. A value's version token is the SHA-256 of the value as stored. A write is a
 * compare-and-swap on the value (`… WHERE key = $key AND c = $old`), so a row the application
 * changed since it was read is updated by nobody: a conflict. The reads and the writes of
 * concurrent tasks are gathered ({@link RowBatcher}) into one statement per batch — reads into
 * `SELECT key, c FROM t WHERE key = ANY($keys)`, writes into one short transaction:
 *
 * ```sql
 * UPDATE t SET c = v.new FROM unnest($1::keytype[], $2::bytea[], $3::bytea[]) AS v(key, old, new)
 *  WHERE t.key = v.key AND t.c = v.old RETURNING t.key::text
 * ```
 *
 * and each write is written when its key comes back, a conflict when it does not. A batch that
 * fails for good on an error that is not transient (a trigger's exception, a constraint) is run
 * again row by row, so only the rows that fail on their own fail. Every query is retried on
 * transient failures ({@link pgQuery}).
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
import { isTransientFailure } from "../../support/retry.js";
import { pgQuery, type PgRuntime } from "./pg-query.js";
import type { PgTable } from "./pg-table.js";
import { RowBatcher, type RowBatchSettings } from "./row-batcher.js";

/** A row's value as the database holds it: bytes (`bytea`), text (base64), or NULL. */
type RawValue = Buffer | string | null;

/** One row's compare-and-swap. */
interface RowWrite {
  /** The row's key, as the listing printed it (`key::text`). */
  readonly key: string;
  /** The value the row held when it was read, as stored. */
  readonly old: Buffer | string;
  /** The value to store. */
  readonly next: Buffer | string;
}

/** A write's outcome in its batch: stored, the row no longer held `old`, or a failure of its own. */
type RowWriteOutcome = "written" | "conflict" | { readonly error: unknown };

/** Every write is a compare-and-swap on the value: nothing to probe. */
const CONDITIONAL: StoreWriteMode = { unconditional: false };

/**
 * One column of one table.
 *
 * @example
 * ```ts
 * const table = await openPgTable({ url, table: "secrets", column: "payload" });
 * const store = new PgStore({ table, counters: new JobCounters() }, { headerReadBytes: 4096 });
 * const head = await store.readHead({ kind: "row", table: table.table, keyColumn: "id", column: "payload", key: "1" });
 * ```
 */
export class PgStore implements ObjectStore {
  /** The checked table. */
  readonly table: PgTable;
  private readonly reads: RowBatcher<{ readonly key: string }, RawValue | undefined>;
  private readonly writes: RowBatcher<RowWrite, RowWriteOutcome>;

  constructor(
    /** The table, counters, retry policy and signal every query runs with. */
    readonly runtime: PgRuntime,
    private readonly settings: HeadReadSettings,
    /** How concurrent reads and writes are gathered into one statement. @default DEFAULT_ROW_BATCH */
    batch: RowBatchSettings = {},
  ) {
    this.table = runtime.table;
    this.reads = new RowBatcher((keys) => this.readBatch(keys), batch);
    this.writes = new RowBatcher((writes) => this.writeBatch(writes), batch);
  }

  private get counters(): PgRuntime["counters"] {
    return this.runtime.counters;
  }

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
    return { size: next.length, ...(await this.swap(plan.ref, raw, next)) };
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

  /** The row's compare-and-swap, sent in a batch with the writes of other tasks. */
  private async swap(ref: ObjectRef, old: Buffer | string, next: Uint8Array): Promise<WrittenVersion> {
    const value = this.encode(next);
    const outcome = await this.writes.add({ key: this.rowOf(ref).key, old, next: value });
    if (outcome === "conflict") throw new JobError("ERR_JOB_CONFLICT", "the value changed since it was read");
    if (outcome !== "written") throw outcome.error;
    this.counters.bytes.written += next.length;
    return { etag: tokenOf(value) };
  }

  /**
   * One batch as one statement; after a failure that is not transient, each row on its own
   * (one bad row must not fail the rows batched with it).
   */
  private async writeBatch(writes: readonly RowWrite[]): Promise<readonly RowWriteOutcome[]> {
    try {
      return await this.casUpdate(writes);
    } catch (e) {
      if (writes.length === 1 || isTransientFailure(e)) throw e;
      return Promise.all(
        writes.map((w) =>
          this.casUpdate([w]).then(
            ([outcome]) => outcome as RowWriteOutcome,
            (error: unknown) => ({ error }),
          ),
        ),
      );
    }
  }

  /** `UPDATE … FROM unnest(keys, olds, news) … RETURNING key`: a row whose key comes back was written. */
  private async casUpdate(writes: readonly RowWrite[]): Promise<RowWriteOutcome[]> {
    const { sql } = this.table;
    const r = await pgQuery<{ k: string }>(this.runtime, {
      operation: "UPDATE",
      text:
        `UPDATE ${sql.table} AS rekey_row SET ${sql.column} = rekey_new.next ` +
        `FROM unnest($1::${sql.keyType}[], $2::${sql.valueType}[], $3::${sql.valueType}[]) AS rekey_new(key, old, next) ` +
        `WHERE rekey_row.${sql.key} = rekey_new.key AND rekey_row.${sql.column} = rekey_new.old ` +
        `RETURNING rekey_row.${sql.key}::text AS k`,
      values: [writes.map((w) => w.key), writes.map((w) => w.old), writes.map((w) => w.next)],
    });
    const written = new Set(r.rows.map((row) => row.k));
    return writes.map((w) => (written.has(w.key) ? "written" : "conflict"));
  }

  /** The value as stored; `undefined` when the row is gone. Read in a batch with other tasks' reads. */
  private readRaw(ref: ObjectRef): Promise<RawValue | undefined> {
    return this.reads.add({ key: this.rowOf(ref).key });
  }

  /** `SELECT key, column … WHERE key = ANY($keys)`: one value per key, `undefined` for a row gone. */
  private async readBatch(keys: readonly { readonly key: string }[]): Promise<(RawValue | undefined)[]> {
    const { sql } = this.table;
    const r = await pgQuery<{ k: string; v: RawValue }>(this.runtime, {
      operation: "SELECT",
      text: `SELECT ${sql.key}::text AS k, ${sql.column} AS v FROM ${sql.table} WHERE ${sql.key} = ANY($1::${sql.keyType}[])`,
      values: [keys.map((k) => k.key)],
    });
    const found = new Map(r.rows.map((row) => [row.k, row.v]));
    return keys.map((k) => (found.has(k.key) ? found.get(k.key) : undefined));
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
