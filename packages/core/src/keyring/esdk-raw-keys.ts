/**
 * Which AWS Encryption SDK raw AES keys a rekey keyring holds: a `RawAesKeyring` created with
 * `esdkKeyNamespace` registers its key here, a `MultiKeyring` its children, so the ESDK reader
 * can build the ESDK's own raw AES keyrings from the keyring a caller already passes (the
 * re-encrypt job's `decryptKeyring`) without the keys being readable from outside the package.
 * Internal: not exported from the package entry.
 */
import type { Keyring } from "./types.js";

/** An ESDK raw AES wrapping key: namespace, name and the 32-byte key. */
export interface EsdkRawAesKey {
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly key: Uint8Array;
}

const rawKeys = new WeakMap<Keyring, EsdkRawAesKey>();
const children = new WeakMap<Keyring, readonly Keyring[]>();

/** Records the ESDK raw AES key of a keyring. */
export function registerEsdkRawAesKey(keyring: Keyring, key: EsdkRawAesKey): void {
  rawKeys.set(keyring, key);
}

/** Records the keyrings a combining keyring holds. */
export function registerKeyringChildren(keyring: Keyring, inner: readonly Keyring[]): void {
  children.set(keyring, inner);
}

/** The ESDK raw AES keys of `keyring` and of the keyrings it combines, in order. */
export function esdkRawAesKeysOf(keyring: Keyring | undefined): EsdkRawAesKey[] {
  if (!keyring) return [];
  const own = rawKeys.get(keyring);
  return [...(own ? [own] : []), ...(children.get(keyring) ?? []).flatMap((k) => esdkRawAesKeysOf(k))];
}
