/** Reads the wrapping key of the raw AES keyring from a file. */
import { readFile } from "node:fs/promises";
import { FileError, ioReason } from "./errors.js";

/**
 * Reads a 256-bit key: a file of exactly 32 bytes, or of 64 hexadecimal characters (surrounding
 * whitespace and a final newline allowed, so `openssl rand -hex 32 > key` works).
 *
 * @throws FileError `ERR_RAW_KEY` for any other content, `ERR_INPUT` when unreadable.
 * @example
 * ```ts
 * const key = await readRawKeyFile("backup.key");
 * const keyring = new RawAesKeyring({ name: "backup", key });
 * ```
 */
export async function readRawKeyFile(path: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FileError("ERR_INPUT", `cannot read raw key file ${path}: ${ioReason(e)}`, { cause: e });
  }
  const text = bytes.toString("latin1").trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (bytes.length === 32) return bytes;
  throw new FileError(
    "ERR_RAW_KEY",
    `raw key file ${path} must hold 32 bytes or 64 hex characters, not ${bytes.length} bytes`,
  );
}
