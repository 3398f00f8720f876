/**
 * Where `rekey alias cutover --checkpoint FILE` keeps its {@link CutoverRecord}: next to the
 * job's checkpoint, in `FILE.cutover.json`, written (atomically, fsynced) before the alias moves —
 * for `--to new` as soon as the key exists. A re-run with the same `--checkpoint` reads it back
 * to resume instead of creating a second key.
 */
import { readFile } from "node:fs/promises";
import { replaceFile } from "../../file-tools/atomic-output.js";
import type { CutoverRecord } from "../../keys/cutover-alias.js";
import { KeyToolError } from "../../keys/errors.js";

/**
 * The record file of a checkpoint.
 *
 * @example
 * ```ts
 * cutoverRecordPath("orders.jsonl"); // "orders.jsonl.cutover.json"
 * ```
 */
export function cutoverRecordPath(checkpoint: string): string {
  return `${checkpoint}.cutover.json`;
}

function isRecord(v: unknown): v is CutoverRecord {
  if (v === null || typeof v !== "object") return false;
  const r = v as Record<string, unknown>;
  return (
    r["rekeyCutover"] === 1 &&
    typeof r["alias"] === "string" &&
    typeof r["previousKeyArn"] === "string" &&
    typeof r["newKeyArn"] === "string" &&
    typeof r["created"] === "boolean"
  );
}

/**
 * Reads a record; `undefined` when the file does not exist.
 *
 * @throws KeyToolError `ERR_INVALID_ARGUMENT` when the file is not a cutover record.
 * @example
 * ```ts
 * const record = await readCutoverRecord(cutoverRecordPath(flags.checkpoint));
 * ```
 */
export async function readCutoverRecord(path: string): Promise<CutoverRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new KeyToolError("ERR_INVALID_ARGUMENT", `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isRecord(value))
    throw new KeyToolError(
      "ERR_INVALID_ARGUMENT",
      `${path} is not a rekey cutover record: use another --checkpoint`,
    );
  return value;
}

/**
 * Writes a record (temporary file, fsync, rename).
 *
 * @example
 * ```ts
 * await writeCutoverRecord("orders.jsonl.cutover.json", record);
 * ```
 */
export async function writeCutoverRecord(path: string, record: CutoverRecord): Promise<void> {
  await replaceFile(path, `${JSON.stringify(record, null, 2)}\n`);
}
