/**
 * The raw AES keyring: the data key wrapped locally with AES-256-GCM under a named 256-bit
 * wrapping key. For offline use, demos and tests — the wrapping key's safety is the caller's.
 * Entry: type `raw-aes`, args `[name]`, body `iv(12) || wrapped key(32) || tag(16)`; the AAD binds
 * the name and the canonical encryption context, so an entry moved to a message with another
 * context does not unwrap.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { InvalidArgumentError } from "../errors.js";
import { DATA_KEY_LENGTH, DEFAULT_LIMITS, IV_LENGTH, TAG_LENGTH } from "../format/constants.js";
import { concatBytes, encodeUtf8 } from "../format/bytes.js";
import { serializeEncryptionContext, type EncryptionContext } from "../format/encryption-context.js";
import type { WrappedKeyEntry } from "../format/entries.js";
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from "./types.js";
import { registerEsdkRawAesKey } from "./esdk-raw-keys.js";

/** The entry type of raw-AES-wrapped data keys. */
export const RAW_AES_ENTRY_TYPE = "raw-aes";

/** Options of {@link RawAesKeyring}. */
export interface RawAesKeyringOptions {
  /** Names the wrapping key in the entry, so the right key can be found on decrypt. */
  readonly name: string;
  /** The 32-byte wrapping key. The keyring keeps a copy. */
  readonly key: Uint8Array;
  /**
   * Also open AWS Encryption SDK messages whose data key was wrapped by an ESDK raw AES keyring
   * with this key namespace and `name` as its key name (the same 32-byte key): `decryptEsdk`,
   * `decryptEsdkStream` and the re-encrypt job's ESDK migration use it. The rekey entries this
   * keyring writes and reads are unchanged.
   * @default undefined: not used for ESDK messages
   */
  readonly esdkKeyNamespace?: string;
}

const LABEL = encodeUtf8("RKEY raw-aes v1\0");

function aad(name: string, context: EncryptionContext): Uint8Array {
  return concatBytes([
    LABEL,
    encodeUtf8(name),
    Uint8Array.of(0),
    serializeEncryptionContext(context, DEFAULT_LIMITS.maxContextBytes),
  ]);
}

/**
 * A keyring with a local AES-256 wrapping key.
 *
 * @example
 * ```ts
 * const keyring = new RawAesKeyring({ name: "backup-2026", key: await readFile("wrap.key") });
 * ```
 */
export class RawAesKeyring implements Keyring {
  private readonly name: string;
  private readonly key: Buffer;

  constructor(options: RawAesKeyringOptions) {
    if (options.key.length !== 32) throw new InvalidArgumentError("a raw AES wrapping key must be 32 bytes");
    if (!options.name) throw new InvalidArgumentError("a raw AES keyring needs a name");
    this.name = options.name;
    this.key = Buffer.from(options.key);
    if (options.esdkKeyNamespace !== undefined) {
      if (!options.esdkKeyNamespace) throw new InvalidArgumentError("esdkKeyNamespace must not be empty");
      registerEsdkRawAesKey(this, {
        keyNamespace: options.esdkKeyNamespace,
        keyName: this.name,
        key: this.key,
      });
    }
  }

  async wrap(request: WrapRequest): Promise<WrapResult> {
    // A new data key and the IV come from one CSPRNG call (each call costs a few microseconds,
    // a measurable share of a message's fixed cost); the two never share bytes.
    const random = randomBytes((request.dataKey ? 0 : DATA_KEY_LENGTH) + IV_LENGTH);
    const iv = random.subarray(0, IV_LENGTH);
    const dataKey = request.dataKey ?? random.subarray(IV_LENGTH);
    const c = createCipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_LENGTH });
    c.setAAD(aad(this.name, request.encryptionContext));
    const body = Buffer.concat([iv, c.update(dataKey), c.final(), c.getAuthTag()]);
    return { dataKey, entries: [{ type: RAW_AES_ENTRY_TYPE, args: [this.name], body }] };
  }

  async unwrap(entries: readonly WrappedKeyEntry[], request: UnwrapRequest): Promise<Uint8Array | undefined> {
    for (const e of entries) {
      if (e.type !== RAW_AES_ENTRY_TYPE || e.args.length !== 1 || e.args[0] !== this.name) continue;
      if (e.body.length !== IV_LENGTH + DATA_KEY_LENGTH + TAG_LENGTH) continue;
      const iv = e.body.subarray(0, IV_LENGTH);
      const wrapped = e.body.subarray(IV_LENGTH, IV_LENGTH + DATA_KEY_LENGTH);
      const tag = e.body.subarray(IV_LENGTH + DATA_KEY_LENGTH);
      const d = createDecipheriv("aes-256-gcm", this.key, iv, { authTagLength: TAG_LENGTH });
      d.setAAD(aad(this.name, request.encryptionContext));
      d.setAuthTag(tag);
      // GCM's final() adds no bytes: update() is the whole key, released only if the tag holds.
      const dataKey = d.update(wrapped);
      try {
        d.final();
        return dataKey;
      } catch {
        // Wrong key under the same name, or another context: not ours.
        dataKey.fill(0);
      }
    }
    return undefined;
  }
}
