/**
 * S3 Batch Operations completion reports (format `Report_CSV_20180820`): one CSV row per task,
 * no header line, fields `Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode,
 * ResultMessage` as the report's `manifest.json` names them. S3's own example rows carry the
 * HTTP status (`200`) in the fifth field and the result code (`PermanentFailure`) in the sixth,
 * the other way round from that list, so the two are told apart by which one is a number. A
 * ResultMessage may be quoted over several lines (a Lambda error with a stack); rows are read
 * one at a time by `csv-parse`'s stream, never the whole file.
 */
import { createReadStream } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { CsvError, parse, type Info } from "csv-parse";
import { JobError } from "../errors.js";
import { OBJECT_OUTCOMES, type ObjectOutcome } from "../model/object-result.js";

/** One task of a completion report. */
export interface CompletionRow {
  readonly bucket: string;
  /** As S3 wrote it (the manifest's URL-encoded form). */
  readonly key: string;
  readonly versionId?: string;
  /** `succeeded` or `failed`. */
  readonly taskStatus: string;
  /** The function's result code of a failed task (`PermanentFailure`, `TemporaryFailure`), else empty. */
  readonly errorCode: string;
  readonly httpStatus: number;
  readonly resultMessage: string;
}

/** What the job's handler said about one task, read back from its result string. */
export interface TaskOutcome {
  readonly outcome: ObjectOutcome;
  readonly reason: string;
  readonly code?: string;
}

const OUTCOMES: ReadonlySet<string> = new Set(OBJECT_OUTCOMES);

/**
 * Reads the outcome back from the handler's `resultString` (`rewrapped: … [ERR_…]`), or
 * `undefined` when the message is not one (a Lambda timeout, another function's answer).
 *
 * @example
 * ```ts
 * outcomeOfResult("conflict: changed since it was read [ERR_JOB_CONFLICT]");
 * // { outcome: "conflict", reason: "changed since it was read", code: "ERR_JOB_CONFLICT" }
 * ```
 */
export function outcomeOfResult(message: string): TaskOutcome | undefined {
  const m = /^([a-z]+): ([\s\S]*?)(?: \[([A-Za-z0-9_]+)\])?$/.exec(message);
  if (!m || !OUTCOMES.has(m[1] as string)) return undefined;
  return { outcome: m[1] as ObjectOutcome, reason: m[2] as string, ...(m[3] ? { code: m[3] } : {}) };
}

/**
 * Parses the fields of one completion report row.
 *
 * @throws JobError `ERR_JOB_REPORT` when the row does not have seven fields.
 * @example
 * ```ts
 * parseCompletionRow(["data", "a.rkey", "", "succeeded", "200", "", "rewrapped: …"], "r.csv:1");
 * ```
 */
export function parseCompletionRow(fields: readonly string[], where: string): CompletionRow {
  if (fields.length !== 7)
    throw new JobError(
      "ERR_JOB_REPORT",
      `${where}: expected 7 fields (Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage), got ${fields.length}`,
    );
  const [bucket = "", key = "", versionId = "", taskStatus = "", a = "", b = "", resultMessage = ""] = fields;
  if (taskStatus !== "succeeded" && taskStatus !== "failed")
    throw new JobError("ERR_JOB_REPORT", `${where}: TaskStatus is "${taskStatus}", not succeeded or failed`);
  // The fifth and sixth fields: whichever is a number is the HTTP status.
  const [status, errorCode] = /^\d+$/.test(a) ? [a, b] : [b, a];
  return {
    bucket,
    key,
    ...(versionId ? { versionId } : {}),
    taskStatus,
    errorCode,
    httpStatus: /^\d+$/.test(status) ? Number(status) : 0,
    resultMessage,
  };
}

/**
 * Streams the rows of a completion report file (`.gz` is read too).
 *
 * @throws JobError `ERR_JOB_REPORT` on a row that is not a completion report row.
 * @example
 * ```ts
 * for await (const row of readCompletionReport("results/1a2b.csv")) console.log(row.taskStatus);
 * ```
 */
export async function* readCompletionReport(path: string): AsyncGenerator<CompletionRow> {
  const file = createReadStream(path);
  const input: Readable = path.endsWith(".gz") ? file.pipe(createGunzip()) : file;
  if (input !== file) file.on("error", (e) => input.destroy(e));
  // Field counts are checked by parseCompletionRow, with the report's own message.
  const rows = input.pipe(parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }));
  // `pipe` does not forward errors either: a read error must end the rows.
  input.on("error", (e) => rows.destroy(e));
  try {
    for await (const { record, info } of rows as AsyncIterable<{ record: string[]; info: Info }>) {
      // A message's line breaks read as "\n" whether the file ends its lines with CRLF or LF.
      const fields = record.map((f) => f.replace(/\r\n/g, "\n"));
      // `info.lines`: the line the row ends on (the line of a one-line row).
      yield parseCompletionRow(fields, `${path}:${info.lines}`);
    }
  } catch (e) {
    if (e instanceof JobError) throw e;
    if (e instanceof CsvError && e.code === "CSV_QUOTE_NOT_CLOSED")
      throw new JobError("ERR_JOB_REPORT", `${path}:${lineOf(e)}: a quoted field is never closed`, {
        cause: e,
      });
    throw new JobError(
      "ERR_JOB_REPORT",
      `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  } finally {
    rows.destroy();
    input.destroy();
  }
}

function lineOf(e: CsvError): string {
  return typeof e.lines === "number" ? String(e.lines) : "?";
}

/**
 * One completion report row as S3 writes it (the harness of the tests writes them this way):
 * the HTTP status fifth, the result code sixth, as in S3's example reports.
 *
 * @example
 * ```ts
 * formatCompletionRow({ bucket: "data", key: "a.rkey", taskStatus: "succeeded", errorCode: "", httpStatus: 200, resultMessage: "rewrapped: …" });
 * ```
 */
export function formatCompletionRow(row: CompletionRow): string {
  const q = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [
    row.bucket,
    row.key,
    row.versionId ?? "",
    row.taskStatus,
    String(row.httpStatus),
    row.errorCode,
    row.resultMessage,
  ]
    .map(q)
    .join(",");
}
