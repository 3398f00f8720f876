/** `--context key=value` arguments into an encryption context. */
import type { EncryptionContext } from "@rekey/core";
import { FileError } from "./errors.js";

/**
 * Parses repeated `key=value` pairs. The first `=` splits: values may contain `=`; keys may not
 * be empty; a key given twice is an error (which value was meant is not guessable).
 *
 * @throws FileError `ERR_USAGE` with the offending argument.
 * @example
 * ```ts
 * parseContextArgs(["tenant=acme", "purpose=backup"]); // { tenant: "acme", purpose: "backup" }
 * ```
 */
export function parseContextArgs(pairs: readonly string[]): EncryptionContext {
  // A Map, then fromEntries: a key such as "__proto__" must become an ordinary entry.
  const out = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at < 0) throw new FileError("ERR_USAGE", `--context "${pair}" is not key=value`);
    const key = pair.slice(0, at);
    if (key.trim() === "") throw new FileError("ERR_USAGE", `--context "${pair}" has an empty key`);
    if (out.has(key)) throw new FileError("ERR_USAGE", `--context key "${key}" is given twice`);
    out.set(key, pair.slice(at + 1));
  }
  return Object.fromEntries(out);
}
