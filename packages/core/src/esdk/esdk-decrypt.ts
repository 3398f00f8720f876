/**
 * Reading AWS Encryption SDK messages, so data written by the ESDK can be decrypted and migrated
 * to rekey (the re-encrypt job's full re-encrypt). Parsing and decryption are done by
 * `@aws-crypto/client-node`; this file recognizes ESDK messages, builds a KMS keyring with the
 * same trust rules as rekey's (strict key ARNs or a discovery filter), watches the KMS calls the
 * ESDK makes (to tell "no key of mine" from "KMS failed", and to report the key that decrypted),
 * and maps every failure to rekey's typed errors.
 *
 * Two ESDK properties callers should know: a message written before key commitment (ESDK 1.x) is
 * refused unless `allowLegacyNonCommitting` is set; and for signed suites the ESDK stream releases
 * plaintext before it checks the trailing signature, so a stream consumer must treat output as
 * tentative until the stream ends without error (the re-encrypt job only completes its upload
 * then). The buffer API verifies everything before returning.
 */
import { Duplex } from "node:stream";
import type * as EsdkModule from "@aws-crypto/client-node";
import type {
  KeyringNode,
  KmsKeyringNode,
  NodeDecryptionMaterial,
  NodeDecryptionRequest,
  NodeMaterialsManager,
} from "@aws-crypto/client-node";
import {
  DecryptError,
  FormatError,
  InvalidArgumentError,
  KmsError,
  NoMatchingKeyError,
  RekeyError,
} from "../errors.js";
import { integerOption } from "../integer-option.js";
import { readU16 } from "../format/bytes.js";
import { DEFAULT_LIMITS } from "../format/constants.js";
import { requireEncryptionContext } from "../format/encryption-context.js";
import { isNotThisKey, kmsApiOf, type KmsApi, type KmsClientLike } from "../keyring/kms-client.js";
import { isKeyArn } from "../keyring/arn.js";
import { esdkRawAesKeysOf } from "../keyring/esdk-raw-keys.js";
import type { Keyring } from "../keyring/types.js";
import { observeKmsCall, type KmsCallListener } from "../keyring/kms-events.js";
import { esdkSuite } from "./esdk-header.js";

/**
 * The ESDK, loaded on first use: applications that never read ESDK messages never load it, and
 * `@aws-crypto/client-node` is an optional peer dependency. Without it, an ESDK message is a
 * `FormatError` that names the package to install (a format this install cannot read), not a
 * failure to decrypt.
 */
type Esdk = typeof EsdkModule;
let esdkModule: Promise<Esdk> | undefined;
const ESDK_PACKAGE = "@aws-crypto/client-node";
const loadEsdk = (): Promise<Esdk> =>
  (esdkModule ??= import("@aws-crypto/client-node").catch((e: unknown) => {
    const code = (e as { code?: unknown } | null)?.code;
    const missing =
      (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
      e instanceof Error &&
      e.message.includes(`'${ESDK_PACKAGE}'`);
    if (!missing) throw e;
    throw new FormatError(
      `this is an AWS Encryption SDK message; reading it needs the optional peer dependency ${ESDK_PACKAGE} (npm install ${ESDK_PACKAGE}@5)`,
      { cause: e },
    );
  }));

/**
 * True when `bytes` start like an AWS Encryption SDK message (format version 1 or 2).
 *
 * @example
 * ```ts
 * if (isEsdkMessage(head)) await decryptEsdk(bytes, { client, allowedKeyArns: [arn] });
 * ```
 */
export function isEsdkMessage(bytes: Uint8Array): boolean {
  if (bytes.length < 3) return false;
  if (bytes[0] === 0x02) return esdkSuite(readU16(bytes, 1))?.messageVersion === 2;
  if (bytes[0] === 0x01 && bytes[1] === 0x80 && bytes.length >= 4)
    return esdkSuite(readU16(bytes, 2))?.messageVersion === 1;
  return false;
}

/** Options of {@link decryptEsdk} and {@link decryptEsdkStream}. */
export interface EsdkDecryptOptions {
  /** A `KMSClient` or any `KmsApi`. */
  readonly client: KmsClientLike;
  /** Key ARNs whose data keys may be decrypted (strict). */
  readonly allowedKeyArns?: readonly string[];
  /** Or: any key in these accounts and partition. */
  readonly discovery?: { readonly accountIds: readonly string[]; readonly partition: string };
  /**
   * A rekey keyring whose `RawAesKeyring`s created with `esdkKeyNamespace` (directly or in a
   * `MultiKeyring`) also open data keys an ESDK raw AES keyring wrapped. With such a keyring,
   * `allowedKeyArns` and `discovery` may both be left out (no KMS at all).
   * @default undefined: KMS only
   */
  readonly keyring?: Keyring;
  /** Pairs that must be in the message's encryption context. @default {} */
  readonly requiredEncryptionContext?: Readonly<Record<string, string>>;
  /** Most encrypted data keys a message may carry. @default 16 */
  readonly maxEncryptedDataKeys?: number;
  /** Largest frame (or non-framed body) the reader holds before its tag is checked. @default 16777216 */
  readonly maxBodySize?: number;
  /** Also read messages without key commitment (written by ESDK 1.x). @default false */
  readonly allowLegacyNonCommitting?: boolean;
  /** Told of every KMS call the ESDK makes through `client` (a `Decrypt` per data key tried). */
  readonly onKmsCall?: KmsCallListener;
}

/** The result of {@link decryptEsdk}. */
export interface EsdkDecryptResult {
  readonly plaintext: Buffer;
  readonly encryptionContext: Readonly<Record<string, string>>;
  /** The KMS key that unwrapped the data key. */
  readonly keyArn: string | undefined;
}

/** What the ESDK did with KMS during one decryption. */
interface KmsWatch {
  /** The key of the Decrypt that succeeded. */
  keyArn?: string | undefined;
  /** The first KMS failure that was not "not this key". */
  failure?: unknown;
}

/** A KmsApi that records outcomes into `watch`; the ESDK calls these methods on its client. */
function watched(api: KmsApi, watch: KmsWatch, listener: KmsCallListener | undefined): KmsApi {
  return {
    generateDataKey: (i, o) => api.generateDataKey(i, o),
    encrypt: (i, o) => api.encrypt(i, o),
    reEncrypt: (i, o) => api.reEncrypt(i, o),
    decrypt: async (i, o) => {
      try {
        const r = await observeKmsCall(
          listener,
          "Decrypt",
          i.KeyId,
          () => api.decrypt(i, o),
          (out) => ({
            keyArn: out.KeyId,
            keyMaterialId: out.KeyMaterialId,
          }),
        );
        watch.keyArn ??= r.KeyId;
        return r;
      } catch (e) {
        if (!isNotThisKey(e)) watch.failure ??= e;
        throw e;
      }
    },
  };
}

function kmsKeyringFor(esdk: Esdk, options: EsdkDecryptOptions, watch: KmsWatch): KmsKeyringNode | undefined {
  const api = watched(kmsApiOf(options.client), watch, options.onKmsCall);
  const clientProvider = (() => api) as unknown as NonNullable<
    NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>["clientProvider"]
  >;
  const arns = options.allowedKeyArns ?? [];
  if (arns.length > 0) return new esdk.KmsKeyringNode({ keyIds: [...arns], clientProvider });
  const discovery = options.discovery;
  if (!discovery) return undefined;
  return new esdk.KmsKeyringNode({
    discovery: true,
    discoveryFilter: { accountIDs: [...discovery.accountIds], partition: discovery.partition },
    clientProvider,
  });
}

/** The ESDK keyring: KMS (strict or discovery) and the raw AES keys of `options.keyring`. */
function keyringFor(esdk: Esdk, options: EsdkDecryptOptions, watch: KmsWatch): KeyringNode {
  const kms = kmsKeyringFor(esdk, options, watch);
  const raw = esdkRawAesKeysOf(options.keyring).map(
    (k) =>
      new esdk.RawAesKeyringNode({
        keyNamespace: k.keyNamespace,
        keyName: k.keyName,
        // A copy: the ESDK takes the array it is given and wipes it when it disposes of it.
        unencryptedMasterKey: Uint8Array.from(k.key),
        wrappingSuite: esdk.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
      }),
  );
  const all: KeyringNode[] = [...(kms ? [kms] : []), ...raw];
  if (all.length === 1) return all[0] as KeyringNode;
  return new esdk.MultiKeyringNode({ children: all });
}

/** The ESDK's limits as this reader sets them: defaults filled in, each checked. */
interface EsdkLimits {
  readonly maxEncryptedDataKeys: number;
  readonly maxBodySize: number;
}

/**
 * Checks the options that need no ESDK, so bad input fails before the ESDK is loaded, and
 * returns the limits (an absent one is the default; `NaN`, `Infinity` or a fraction is refused:
 * the ESDK reads some of those as "no limit").
 */
function checkOptions(options: EsdkDecryptOptions): EsdkLimits {
  const arns = options.allowedKeyArns ?? [];
  for (const a of arns)
    if (!isKeyArn(a)) throw new InvalidArgumentError(`allowedKeyArns takes key ARNs, not "${a}"`);
  if (arns.length > 0 && options.discovery)
    throw new InvalidArgumentError("use allowedKeyArns or discovery, not both");
  if (arns.length === 0 && !options.discovery && esdkRawAesKeysOf(options.keyring).length === 0)
    throw new InvalidArgumentError(
      "decrypting an ESDK message needs allowedKeyArns, a discovery filter or a keyring with ESDK raw AES keys",
    );
  return {
    maxEncryptedDataKeys: integerOption("maxEncryptedDataKeys", options.maxEncryptedDataKeys, 16, {
      max: 0xffff,
    }),
    maxBodySize: integerOption("maxBodySize", options.maxBodySize, DEFAULT_LIMITS.maxFrameLength, {
      max: 0xffffffff,
    }),
  };
}

/**
 * The materials manager the ESDK decrypts with: the default one over rekey's KMS keyring, checking
 * the required encryption context from the parsed header before any KMS call, as rekey's own
 * reader does.
 */
function materialsFor(esdk: Esdk, options: EsdkDecryptOptions, watch: KmsWatch): NodeMaterialsManager {
  const required = options.requiredEncryptionContext;
  class RequiredContextCmm extends esdk.NodeDefaultCryptographicMaterialsManager {
    override decryptMaterials(request: NodeDecryptionRequest): Promise<NodeDecryptionMaterial> {
      requireEncryptionContext(request.encryptionContext, required);
      return super.decryptMaterials(request);
    }
  }
  return new RequiredContextCmm(keyringFor(esdk, options, watch));
}

function esdkClient(esdk: Esdk, options: EsdkDecryptOptions, limits: EsdkLimits) {
  return esdk.buildClient({
    commitmentPolicy: options.allowLegacyNonCommitting
      ? esdk.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
      : esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
    maxEncryptedDataKeys: limits.maxEncryptedDataKeys,
  });
}

/** Maps an ESDK failure to a rekey error, using what the KMS calls showed. */
function mapError(e: unknown, watch: KmsWatch): RekeyError {
  if (e instanceof RekeyError) return e;
  if (watch.failure) return new KmsError("Decrypt", watch.failure);
  const message = e instanceof Error ? e.message : "";
  // The ESDK reports "no data key could be unwrapped" with this materials message.
  if (/unencryptedDataKey has not been set/i.test(message)) return new NoMatchingKeyError({ cause: e });
  if (
    /not a supported message format|Malformed|Unsupported algorithm|CommitmentPolicy|maxEncryptedDataKeys/i.test(
      message,
    )
  ) {
    return new FormatError("not a readable AWS Encryption SDK message", { cause: e });
  }
  return new DecryptError();
}

/**
 * Decrypts a whole AWS Encryption SDK message held in memory.
 *
 * @example
 * ```ts
 * const { plaintext, encryptionContext } = await decryptEsdk(bytes, { client, allowedKeyArns: [oldKeyArn] });
 * ```
 */
export async function decryptEsdk(
  bytes: Uint8Array,
  options: EsdkDecryptOptions,
): Promise<EsdkDecryptResult> {
  if (!isEsdkMessage(bytes)) throw new FormatError("not an AWS Encryption SDK message");
  const limits = checkOptions(options);
  const esdk = await loadEsdk();
  const watch: KmsWatch = {};
  let r;
  try {
    r = await esdkClient(esdk, options, limits).decrypt(materialsFor(esdk, options, watch), bytes, {
      maxBodySize: limits.maxBodySize,
    });
  } catch (e) {
    throw mapError(e, watch);
  }
  const encryptionContext = { ...r.messageHeader.encryptionContext };
  return { plaintext: Buffer.from(r.plaintext), encryptionContext, keyArn: watch.keyArn };
}

/**
 * A Duplex that decrypts an AWS Encryption SDK message stream (the ESDK's own `decryptStream`,
 * with rekey's keyring rules and typed errors). The required encryption context is checked when
 * the header is parsed, before any KMS call and any plaintext.
 *
 * @example
 * ```ts
 * await pipeline(esdkObject, decryptEsdkStream({ client, discovery }), encryptStream({ keyring }), out);
 * ```
 */
export function decryptEsdkStream(options: EsdkDecryptOptions): Duplex {
  const limits = checkOptions(options);
  const watch: KmsWatch = {};
  const inner = loadEsdk().then(
    (esdk) =>
      esdkClient(esdk, options, limits).decryptStream(materialsFor(esdk, options, watch), {
        maxBodySize: limits.maxBodySize,
      }) as unknown as Duplex,
  );
  return new MappedDuplex(inner, watch);
}

/** Forwards to the ESDK stream (created once the ESDK has loaded) and maps its errors. */
class MappedDuplex extends Duplex {
  private inner: Duplex | undefined;
  private readonly ready: Promise<Duplex>;

  constructor(inner: Promise<Duplex>, watch: KmsWatch) {
    super();
    this.ready = inner.then((d) => {
      this.inner = d;
      d.on("data", (chunk: Buffer) => {
        if (!this.push(chunk)) d.pause();
      });
      d.on("end", () => this.push(null));
      d.on("error", (e: unknown) => this.destroy(mapError(e, watch)));
      if (this.destroyed) d.destroy();
      return d;
    });
    // A failure to load surfaces on the first read or write; keep it from being unhandled here.
    this.ready.catch(() => undefined);
  }

  // A failure to load the ESDK (a broken install) is passed on as it is, as the buffer API does:
  // it is not a decryption failure.
  override _read(): void {
    this.ready.then(
      (d) => d.resume(),
      (e: unknown) => this.destroy(asError(e)),
    );
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.ready.then(
      (d) => d.write(chunk, encoding, () => callback()),
      (e: unknown) => callback(asError(e)),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ready.then(
      (d) => d.end(() => callback()),
      (e: unknown) => callback(asError(e)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(error);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
