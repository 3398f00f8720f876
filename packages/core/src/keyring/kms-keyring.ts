/**
 * The KMS keyring. Encrypt: one `GenerateDataKey` under the primary key, plus one `Encrypt` of
 * the same data key per additional key (multi-Region / disaster recovery). Decrypt: `Decrypt` of
 * the entries the keyring is allowed to try, in turn, always naming the key (`KeyId`) so KMS
 * refuses a blob under any other key, and always with the message's encryption context.
 *
 * Which entries may be tried, and with which `KeyId`:
 * - entries under a configured key ARN, or whose ARN has a configured bare key id, with that key;
 * - entries whose key ARN is in `allowedKeyArns` (strict allow-list, e.g. the old key after a
 *   manual rotation until the re-encrypt job has moved everything), with that ARN;
 * - with `discovery`, entries whose ARN is in one of the listed accounts and partition, with the
 *   entry's own ARN (the filter, not the message, decides that it may be sent);
 * - for a configured alias, any other entry, with the alias as `KeyId`: only KMS knows where the
 *   alias points now, and it refuses a blob under any other key. Entries written through that
 *   alias (the unauthenticated `requestedKeyId` says so) are tried first, so the usual message
 *   costs one call; the others (written with the key's ARN, or rewrapped onto `key:<arn>`) after,
 *   each with the first configured alias that may cover it.
 *
 * Bounds: each entry is sent at most once per message (a `MultiKeyring` shares the record with
 * its other keyrings), copies of one blob once, and no message costs more than
 * {@link MAX_DECRYPT_CALLS}. A refused entry (not under the key named, a blob KMS cannot parse,
 * a key the message named that does not exist) never stops the next entry, even under the same
 * key: the entry's key ARN is not authenticated, so a refusal says nothing about the other
 * entries. So a forged entry costs one refused call with every keyring type, and a hostile
 * message at most one per entry. When every entry tried is refused the result is a
 * NoMatchingKeyError whose cause (an AggregateError) holds KMS's answers; when a call failed
 * for another reason (throttling, a disabled key, access denied) and no entry opened, that
 * failure is the KmsError the caller gets.
 */
import { errorNameOf, InvalidArgumentError, KmsError, NoMatchingKeyError } from "../errors.js";
import { DATA_KEY_LENGTH, DEFAULT_LIMITS } from "../format/constants.js";
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

/**
 * Most KMS `Decrypt` calls one message may cost, whatever limits the caller set: the default entry
 * limit. Each entry is sent at most once, so a message within the default limits never reaches it.
 */
export const MAX_DECRYPT_CALLS = DEFAULT_LIMITS.maxEntries;

/** One Decrypt call the keyring may make: the entry (and its index) and the `KeyId` named. */
interface Attempt {
  readonly index: number;
  readonly entry: KmsEntry;
  readonly keyId: string;
  /** The `KeyId` is the entry's own ARN (discovery), not a key the caller configured. */
  readonly fromMessage: boolean;
}

/** KMS errors that refuse one entry whatever `KeyId` was named: the blob is not one KMS can open with it. */
const REFUSED = new Set(["InvalidCiphertextException", "IncorrectKeyException", "ValidationException"]);

/**
 * True when a Decrypt error refuses this entry rather than says that KMS failed: the blob is not
 * under the key named, or is not a KMS ciphertext at all (`ValidationException`: a malformed blob
 * is tampering, not an outage). When the `KeyId` came from the message (discovery), a key that
 * does not exist (`NotFoundException`) is the message's fault too.
 */
function isEntryRefusal(e: unknown, fromMessage: boolean): boolean {
  const name = errorNameOf(e) ?? "";
  return REFUSED.has(name) || (fromMessage && name === "NotFoundException");
}

/** The entry as a KMS entry, or `undefined` when it is another type or malformed. */
function decodeTrying(raw: WrappedKeyEntry): KmsEntry | undefined {
  if (!isKmsEntry(raw)) return undefined;
  try {
    const entry = decodeKmsEntry(raw);
    return parseKmsArn(entry.keyArn)?.resourceType === "key" ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * False when an alias ARN names another account or Region than the entry's key (the alias cannot
 * point there, so no call is made); a bare `alias/name` lives wherever the client is.
 */
function aliasMayCover(alias: string, keyArn: string): boolean {
  const a = parseKmsArn(alias);
  const k = parseKmsArn(keyArn);
  if (!a || !k) return true;
  return a.partition === k.partition && a.region === k.region && a.accountId === k.accountId;
}

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
    // Each key gets an entry: past the format's entry limit every message would fail, after
    // paying for all its KMS calls.
    if (this.keyIds.length > DEFAULT_LIMITS.maxEntries) {
      throw new InvalidArgumentError(
        `a KMS keyring wraps for at most ${DEFAULT_LIMITS.maxEntries} keys, not ${this.keyIds.length}`,
      );
    }
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
    // Entries sent to KMS for this message, shared with the other keyrings of a MultiKeyring:
    // no entry costs more than one call, and no message more than MAX_DECRYPT_CALLS.
    const tried = request.triedEntries ?? new Set<number>();
    // Copies of one blob sent under one KeyId get one answer: the copies are not sent again.
    const sent = new Set<string>();
    const refusals: unknown[] = [];
    let failure: unknown;
    for (const { index, entry, keyId, fromMessage } of this.attempts(entries)) {
      if (tried.has(index)) continue;
      const call = `${keyId}\n${Buffer.from(entry.ciphertextBlob).toString("base64")}`;
      if (sent.has(call)) continue;
      if (tried.size >= MAX_DECRYPT_CALLS) break;
      tried.add(index);
      sent.add(call);
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
        if (r.Plaintext?.length === DATA_KEY_LENGTH) return r.Plaintext;
        r.Plaintext?.fill(0);
      } catch (e) {
        if (request.signal?.aborted) throw new KmsError("Decrypt", e);
        // A refusal of this entry (not under this key, a blob KMS cannot parse, a key the message
        // named that does not exist) moves on to the next entry, which may be under the same key;
        // anything else (throttling, a disabled key, access denied) is remembered so the caller
        // learns the real reason if nothing works.
        if (isEntryRefusal(e, fromMessage)) refusals.push(e);
        else failure ??= e;
      }
    }
    if (failure) throw new KmsError("Decrypt", failure);
    if (refusals.length > 0)
      throw new NoMatchingKeyError({ cause: new AggregateError(refusals, "KMS refused every entry tried") });
    return undefined;
  }

  /**
   * The Decrypt calls this keyring may make for these entries, in order, at most one per entry:
   * entries it can name exactly (configured key, allow-list, discovery, or written through a
   * configured alias), then each remaining entry once, with the first configured alias that may
   * cover it. An entry with an empty blob (no KMS ciphertext) is never sent.
   */
  private *attempts(entries: readonly WrappedKeyEntry[]): Generator<Attempt> {
    const later: { index: number; entry: KmsEntry }[] = [];
    for (const [index, raw] of entries.entries()) {
      const entry = decodeTrying(raw);
      if (!entry || entry.ciphertextBlob.length === 0) continue;
      const exact = this.exactKeyIdFor(entry);
      if (exact) yield { index, entry, keyId: exact.keyId, fromMessage: exact.fromMessage };
      else later.push({ index, entry });
    }
    const aliases = this.keyIds.filter(isAlias);
    for (const { index, entry } of later) {
      const alias = aliases.find((a) => aliasMayCover(a, entry.keyArn));
      if (alias) yield { index, entry, keyId: alias, fromMessage: false };
    }
  }

  /**
   * The `KeyId` that names this entry's key exactly, or `undefined`; `fromMessage` when it is the
   * entry's own ARN accepted by the discovery filter rather than a key the caller listed.
   */
  private exactKeyIdFor(entry: KmsEntry): { keyId: string; fromMessage: boolean } | undefined {
    const arn = parseKmsArn(entry.keyArn);
    if (!arn || arn.resourceType !== "key") return undefined;
    if (this.allowed.has(entry.keyArn)) return { keyId: entry.keyArn, fromMessage: false };
    for (const k of this.keyIds) {
      if (k === entry.keyArn) return { keyId: k, fromMessage: false };
      // Bare key id: match on the id part of the entry's ARN; KMS confirms with KeyId = id.
      if (!k.startsWith("arn:") && !isAlias(k) && k === arn.resourceId)
        return { keyId: k, fromMessage: false };
      // Written through this alias: try the alias first (KMS still checks where it points).
      if (isAlias(k) && entry.requestedKeyId === k) return { keyId: k, fromMessage: false };
    }
    const d = this.options.discovery;
    if (d && d.partition === arn.partition && d.accountIds.includes(arn.accountId))
      return { keyId: entry.keyArn, fromMessage: true };
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
