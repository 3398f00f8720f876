/**
 * The public key of a signed message (suite 2) travels in the encryption context under one
 * reserved key. There it is authenticated by the header tag and, because a keyring passes the
 * whole context to KMS (and binds it in a raw-AES entry), part of every entry's context: a
 * principal who can only decrypt cannot swap the key, nor drop it to turn the message into an
 * unsigned one, without the entries failing to unwrap. The rule both ways: a suite 2 context
 * holds one well-formed public key under that name, and a suite 1 context does not use the name.
 */
import { FormatError } from "../errors.js";
import { SIGNING_KEY_CONTEXT_KEY, SUITE_SIGNED_ECDSA_P384 } from "./constants.js";
import type { EncryptionContext } from "./encryption-context.js";

/** A compressed P-384 point in canonical base64: 49 bytes, the first 02 or 03. */
function isPublicKeyEncoding(value: string): boolean {
  const b = Buffer.from(value, "base64");
  return b.length === 49 && (b[0] === 2 || b[0] === 3) && b.toString("base64") === value;
}

/** The public key of a suite 2 message's context; throws {@link FormatError} when the rule is broken. */
export function signingKeyOf(suiteId: number, context: EncryptionContext): string | undefined {
  const has = Object.hasOwn(context, SIGNING_KEY_CONTEXT_KEY);
  const value = has ? context[SIGNING_KEY_CONTEXT_KEY] : undefined;
  if (suiteId !== SUITE_SIGNED_ECDSA_P384) {
    if (has)
      throw new FormatError(`the context key "${SIGNING_KEY_CONTEXT_KEY}" is reserved for signed messages`);
    return undefined;
  }
  if (value === undefined || !isPublicKeyEncoding(value))
    throw new FormatError("a signed message's context must carry its P-384 public key");
  return value;
}
