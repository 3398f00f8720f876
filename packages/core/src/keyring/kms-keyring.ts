/**
 * The KMS keyring. Encrypt: one `GenerateDataKey` under the primary key, plus one `Encrypt` of
 * the same data key per additional key (multi-Region / disaster recovery). Decrypt: `Decrypt` of
 * the first entry the keyring is allowed to try, always naming the key (`KeyId`) so KMS refuses a
 * blob under any other key, and always with the message's encryption context.
 *
 * Which entries may be tried:
 * - entries under a configured key (by key ARN; for an alias or a bare key id KMS itself checks
 *   the match, so the alias resolves to its current target);
 * - entries whose key ARN is in `allowedKeyArns` (strict allow-list, e.g. the old key after a
 *   manual rotation until the re-encrypt job has moved everything);
 * - with `discovery`, entries whose ARN is in one of the listed accounts and partition.
 * An entry outside all of these is never sent to KMS.
 */
import { InvalidArgumentError, KmsError, errorName } from "../errors.js";
import { DATA_KEY_LENGTH } from "../format/constants.js";
import type { WrappedKeyEntry } from "../format/entries.js";
import { kmsApiOf, type KmsApi, type KmsClientLike } from "./kms-client.js";
import { decodeKmsEntry, encodeKmsEntry, isKmsEntry, type KmsEntry } from "./kms-entry.js";
import { observeKmsCall, type KmsCallListener } from "./kms-events.js";
import { isAlias, isKeyArn, parseKmsArn } from "./arn.js";
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from "./types.js";

/** Options of {@link KmsKeyring}. */
export interface KmsKeyringOptions {
  /** A `KMSClient` or any {@link KmsApi}. */
  readonly client: KmsClientLike;
  /** The key that generates data keys: key id, key ARN, alias name (`alias/x`) or alias ARN. Required to encrypt. */
  readonly keyId?: string;
  /** More keys that each get a wrapped copy (another Region, a DR account). @default [] */
  readonly additionalKeyIds?: readonly string[];
  /** Key ARNs whose entries may also be decrypted (strict allow-list). @default [] */
  readonly allowedKeyArns?: readonly string[];
  /** Decrypt entries under any key of these accounts in this partition. @default undefined (off) */
  readonly discovery?: { readonly accountIds: readonly string[]; readonly partition: string };
  /** Grant tokens passed on every call. @default [] */
  readonly grantTokens?: readonly string[];
  /** Called after every KMS call. @default undefined */
  readonly onKmsCall?: KmsCallListener;
}

/** KMS errors that mean "this blob is not for this key": try the next entry. */
const NOT_MINE = new Set(["InvalidCiphertextException", "IncorrectKeyException"]);

/**
 * Envelope encryption with AWS KMS.
 *
 * @example
 * ```ts
 * const keyring = new KmsKeyring({ client: new KMSClient({}), keyId: "alias/app-data" });
 * const { ciphertext } = await encrypt(data, { keyring, encryptionContext: { tenant: "a" } });
 * ```
 */
export class KmsKeyring implements Keyring {
  private readonly kms: KmsApi;
  private readonly keyIds: readonly string[];
  private readonly allowed: ReadonlySet<string>;
  private readonly options: KmsKeyringOptions;

  constructor(options: KmsKeyringOptions) {
    this.options = options;
    this.kms = kmsApiOf(options.client);
    this.keyIds = [...(options.keyId ? [options.keyId] : []), ...(options.additionalKeyIds ?? [])];
    for (const arn of options.allowedKeyArns ?? []) {
      if (!isKeyArn(arn)) throw new InvalidArgumentError(`allowedKeyArns takes key ARNs, not "${arn}"`);
    }
    this.allowed = new Set(options.allowedKeyArns ?? []);
    if (this.keyIds.length === 0 && this.allowed.size === 0 && !options.discovery) {
      throw new InvalidArgumentError("a KMS keyring needs a keyId, allowedKeyArns or a discovery filter");
    }
    if (options.discovery && (options.discovery.accountIds.length === 0 || !options.discovery.partition)) {
      throw new InvalidArgumentError("discovery needs at least one account id and a partition");
    }
  }

  async wrap(request: WrapRequest): Promise<WrapResult> {
    const [primary, ...others] = this.keyIds;
    if (!primary) throw new InvalidArgumentError("this KMS keyring has no keyId to encrypt with");
    const entries: WrappedKeyEntry[] = [];
    let dataKey = request.dataKey;
    let generated: Uint8Array | undefined;
    try {
      if (!dataKey) {
        const r = await this.call("GenerateDataKey", primary, request.signal, (o) =>
          this.kms.generateDataKey(
            {
              KeyId: primary,
              KeySpec: "AES_256",
              EncryptionContext: { ...request.encryptionContext },
              ...this.grants(),
            },
            o,
          ),
        );
        generated = r.Plaintext;
        if (!r.Plaintext || r.Plaintext.length !== DATA_KEY_LENGTH || !r.CiphertextBlob || !r.KeyId) {
          throw new KmsError("GenerateDataKey", new Error("incomplete response"));
        }
        dataKey = r.Plaintext;
        entries.push(this.entry(r.KeyId, primary, r.KeyMaterialId, r.CiphertextBlob));
      } else {
        entries.push(await this.encryptFor(primary, dataKey, request));
      }
      for (const keyId of others) entries.push(await this.encryptFor(keyId, dataKey, request));
    } catch (e) {
      // A key this call made must not outlive a failed wrap (e.g. the DR key's Encrypt failed).
      generated?.fill(0);
      throw e;
    }
    return { dataKey, entries };
  }

  async unwrap(entries: readonly WrappedKeyEntry[], request: UnwrapRequest): Promise<Uint8Array | undefined> {
    let failure: unknown;
    for (const raw of entries) {
      if (!isKmsEntry(raw)) continue;
      let entry: KmsEntry;
      try {
        entry = decodeKmsEntry(raw);
      } catch {
        continue;
      }
      const keyId = this.decryptKeyIdFor(entry);
      if (!keyId) continue;
      try {
        const r = await this.call("Decrypt", keyId, request.signal, (o) =>
          this.kms.decrypt(
            {
              CiphertextBlob: entry.ciphertextBlob,
              KeyId: keyId,
              EncryptionContext: { ...request.encryptionContext },
              ...this.grants(),
            },
            o,
          ),
        );
        if (r.Plaintext && r.Plaintext.length === DATA_KEY_LENGTH) return r.Plaintext;
      } catch (e) {
        if (request.signal?.aborted) throw new KmsError("Decrypt", e);
        // "Not my key" moves on to the next entry; anything else (throttling, a disabled key,
        // access denied) is remembered so the caller learns the real reason if nothing works.
        if (!NOT_MINE.has(errorName(e) ?? "")) failure ??= e;
      }
    }
    if (failure) throw new KmsError("Decrypt", failure);
    return undefined;
  }

  /**
   * The `KeyId` to pass to KMS Decrypt for this entry, or `undefined` when the keyring must not
   * try it.
   */
  private decryptKeyIdFor(entry: KmsEntry): string | undefined {
    const arn = parseKmsArn(entry.keyArn);
    if (!arn || arn.resourceType !== "key") return undefined;
    if (this.allowed.has(entry.keyArn)) return entry.keyArn;
    for (const k of this.keyIds) {
      if (k === entry.keyArn) return entry.keyArn;
      // Bare key id: match on the id part of the entry's ARN; KMS confirms with KeyId = id.
      if (!k.startsWith("arn:") && !isAlias(k) && k === arn.resourceId) return k;
      // Alias: only KMS knows where it points now; it refuses a blob under any other key.
      if (isAlias(k) && entry.requestedKeyId === k) return k;
    }
    const d = this.options.discovery;
    if (d && d.partition === arn.partition && d.accountIds.includes(arn.accountId)) return entry.keyArn;
    return undefined;
  }

  private async encryptFor(
    keyId: string,
    dataKey: Uint8Array,
    request: WrapRequest,
  ): Promise<WrappedKeyEntry> {
    const r = await this.call("Encrypt", keyId, request.signal, (o) =>
      this.kms.encrypt(
        {
          KeyId: keyId,
          Plaintext: dataKey,
          EncryptionContext: { ...request.encryptionContext },
          ...this.grants(),
        },
        o,
      ),
    );
    if (!r.CiphertextBlob || !r.KeyId) throw new KmsError("Encrypt", new Error("incomplete response"));
    return this.entry(r.KeyId, keyId, undefined, r.CiphertextBlob);
  }

  private entry(
    keyArn: string,
    requested: string,
    materialId: string | undefined,
    blob: Uint8Array,
  ): WrappedKeyEntry {
    return encodeKmsEntry({
      keyArn,
      requestedKeyId: requested,
      keyMaterialId: materialId,
      ciphertextBlob: blob,
    });
  }

  private grants(): { GrantTokens?: string[] } {
    return this.options.grantTokens?.length ? { GrantTokens: [...this.options.grantTokens] } : {};
  }

  private async call<T extends { KeyId?: string | undefined; KeyMaterialId?: string | undefined }>(
    operation: "GenerateDataKey" | "Encrypt" | "Decrypt",
    keyId: string,
    signal: AbortSignal | undefined,
    fn: (o: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    try {
      return await observeKmsCall(
        this.options.onKmsCall,
        operation,
        keyId,
        () => fn(signal ? { abortSignal: signal } : {}),
        (r) => ({ keyArn: r.KeyId, keyMaterialId: r.KeyMaterialId }),
      );
    } catch (e) {
      if (operation === "Decrypt") throw e;
      throw new KmsError(operation, e);
    }
  }
}

/** Options of {@link rewrapKmsEntry}. */
export interface RewrapKmsEntryOptions {
  readonly client: KmsClientLike;
  /** Destination key: key ARN/id (same key → current material) or alias (its current target). */
  readonly destinationKeyId: string;
  /** The message's encryption context (used as source and destination context). */
  readonly encryptionContext: Readonly<Record<string, string>>;
  readonly grantTokens?: readonly string[];
  readonly onKmsCall?: KmsCallListener;
  readonly signal?: AbortSignal;
}

/**
 * Moves one `aws-kms` entry onto another key or onto the current material of its key with a
 * single KMS `ReEncrypt`: the plaintext data key never leaves KMS. The returned entry records the
 * destination key ARN and `DestinationKeyMaterialId`.
 *
 * @example
 * ```ts
 * const next = await rewrapKmsEntry(entry, { client, destinationKeyId: entryKeyArn, encryptionContext });
 * ```
 */
export async function rewrapKmsEntry(
  entry: WrappedKeyEntry,
  options: RewrapKmsEntryOptions,
): Promise<WrappedKeyEntry> {
  const source = decodeKmsEntry(entry);
  const kms = kmsApiOf(options.client);
  const ctx = { ...options.encryptionContext };
  let r;
  try {
    r = await observeKmsCall(
      options.onKmsCall,
      "ReEncrypt",
      options.destinationKeyId,
      () =>
        kms.reEncrypt(
          {
            CiphertextBlob: source.ciphertextBlob,
            SourceKeyId: source.keyArn,
            DestinationKeyId: options.destinationKeyId,
            SourceEncryptionContext: ctx,
            DestinationEncryptionContext: ctx,
            ...(options.grantTokens?.length ? { GrantTokens: [...options.grantTokens] } : {}),
          },
          options.signal ? { abortSignal: options.signal } : {},
        ),
      (o) => ({
        keyArn: o.KeyId,
        keyMaterialId: o.DestinationKeyMaterialId,
        sourceKeyMaterialId: o.SourceKeyMaterialId,
      }),
    );
  } catch (e) {
    throw new KmsError("ReEncrypt", e);
  }
  if (!r.CiphertextBlob || !r.KeyId) throw new KmsError("ReEncrypt", new Error("incomplete response"));
  // Rewrapping onto the current material of the same key keeps what the writer asked for;
  // moving to another key records the destination the job was given (an alias or a key).
  const requested =
    options.destinationKeyId === source.keyArn ? source.requestedKeyId : options.destinationKeyId;
  return encodeKmsEntry({
    keyArn: r.KeyId,
    requestedKeyId: requested,
    keyMaterialId: r.DestinationKeyMaterialId,
    ciphertextBlob: r.CiphertextBlob,
  });
}
