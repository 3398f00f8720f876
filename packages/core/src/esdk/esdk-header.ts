/**
 * The header of an AWS Encryption SDK message (message formats 1 and 2), parsed without crypto
 * and without loading the ESDK: what a planner needs to decide how to migrate a message — its
 * algorithm suite (signed or not, committing or not), its encrypted data keys (provider id and
 * info: the key ARN for `aws-kms`), its encryption context and frame length — and how long the
 * header is. Like rekey's own prefix parser it answers `need` with a byte count on short input,
 * so a caller reads just enough of a stored object. The header tag is not checked here: the
 * ESDK checks it when it decrypts.
 *
 * Layout (big-endian), version 1: `01 80 suite(2) messageId(16) aadLength(2) aad edkCount(2)
 * edks contentType(1) reserved(4) ivLength(1) frameLength(4) iv(ivLength) tag(16)`; version 2:
 * `02 suite(2) messageId(32) aadLength(2) aad edkCount(2) edks contentType(1) frameLength(4)
 * suiteData(32) tag(16)`. `aad` is empty or `count(2)` then `keyLength(2) key valueLength(2)
 * value` pairs; each EDK is `providerIdLength(2) providerId providerInfoLength(2) providerInfo
 * ciphertextLength(2) ciphertext`.
 */
import { FormatError, LimitError } from "../errors.js";
import { decodeUtf8, readU16, readU32 } from "../format/bytes.js";
import type { ParseResult } from "../format/header.js";

/** What an ESDK algorithm suite is. */
export interface EsdkSuite {
  /** The suite id, e.g. `0x0578`. */
  readonly id: number;
  /** The ESDK's name without its `ALG_` prefix, e.g. `AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`. */
  readonly name: string;
  /** Message format version the suite is written with. */
  readonly messageVersion: 1 | 2;
  /** An ECDSA signature ends the message (checked by the ESDK only at the very end). */
  readonly signed: boolean;
  /** Key commitment (suites of message format 2). */
  readonly committing: boolean;
}

const SUITES: readonly EsdkSuite[] = [
  [0x0014, "AES128_GCM_IV12_TAG16", 1, false, false],
  [0x0046, "AES192_GCM_IV12_TAG16", 1, false, false],
  [0x0078, "AES256_GCM_IV12_TAG16", 1, false, false],
  [0x0114, "AES128_GCM_IV12_TAG16_HKDF_SHA256", 1, false, false],
  [0x0146, "AES192_GCM_IV12_TAG16_HKDF_SHA256", 1, false, false],
  [0x0178, "AES256_GCM_IV12_TAG16_HKDF_SHA256", 1, false, false],
  [0x0214, "AES128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256", 1, true, false],
  [0x0346, "AES192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, true, false],
  [0x0378, "AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, true, false],
  [0x0478, "AES256_GCM_HKDF_SHA512_COMMIT_KEY", 2, false, true],
  [0x0578, "AES256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", 2, true, true],
].map(([id, name, messageVersion, signed, committing]) =>
  Object.freeze({ id, name, messageVersion, signed, committing } as EsdkSuite),
);
const SUITE_BY_ID = new Map(SUITES.map((s) => [s.id, s]));

/**
 * The ESDK algorithm suite of an id, or `undefined` when the ESDK has no such suite.
 *
 * @example
 * ```ts
 * esdkSuite(0x0578)?.signed; // true
 * ```
 */
export function esdkSuite(id: number): EsdkSuite | undefined {
  return SUITE_BY_ID.get(id);
}

/** The provider id of data keys wrapped by an ESDK KMS keyring (provider info: the key ARN). */
export const ESDK_KMS_PROVIDER_ID = "aws-kms";

/** The prefix of the encryption-context keys the ESDK reserves for itself (`aws-crypto-public-key`). */
export const ESDK_RESERVED_CONTEXT_PREFIX = "aws-crypto-";

/** One encrypted data key of an ESDK header. */
export interface EsdkDataKey {
  /** `aws-kms` for KMS; a raw keyring's key namespace otherwise. */
  readonly providerId: string;
  /**
   * The provider info as text: the key ARN for `aws-kms`; for a raw AES keyring, its key name
   * followed by binary IV fields (undecodable bytes shown as U+FFFD).
   */
  readonly providerInfo: string;
  /** The key ARN, when `providerId` is `aws-kms`. */
  readonly keyArn?: string;
}

/** The parsed header of an ESDK message. */
export interface EsdkHeader {
  /** Message format version. */
  readonly version: 1 | 2;
  readonly suite: EsdkSuite;
  /** The encryption context, the ESDK's reserved keys included. */
  readonly encryptionContext: Readonly<Record<string, string>>;
  readonly dataKeys: readonly EsdkDataKey[];
  /** `true` for framed bodies (every current ESDK writer); `false` for the legacy single-block body. */
  readonly framed: boolean;
  /** Plaintext bytes per frame (0 for a non-framed body). */
  readonly frameLength: number;
  /** Bytes of the header, its authentication tag (and v1 IV) included: where the body starts. */
  readonly headerLength: number;
}

/** Limits of {@link parseEsdkHeader}. */
export interface EsdkHeaderLimits {
  /** Most encrypted data keys a header may carry. @default 16 (the ESDK decrypt default of this package) */
  readonly maxEncryptedDataKeys?: number;
}

const TAG_LENGTH = 16;
const V1_IV_LENGTH = 12;
const V2_SUITE_DATA_LENGTH = 32;

/** Thrown internally when the bytes end before a field: carries the bytes needed. */
class Need {
  constructor(readonly minBytes: number) {}
}

/** A cursor over the header bytes that asks for more instead of reading past the end. */
class Cursor {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  private want(n: number): void {
    if (this.at + n > this.bytes.length) throw new Need(this.at + n);
  }
  u8(): number {
    this.want(1);
    return this.bytes[this.at++] as number;
  }
  u16(): number {
    this.want(2);
    const v = readU16(this.bytes, this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.want(4);
    const v = readU32(this.bytes, this.at);
    this.at += 4;
    return v;
  }
  take(n: number): Uint8Array {
    this.want(n);
    const v = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  /** A length-prefixed (u16) field. */
  field(): Uint8Array {
    return this.take(this.u16());
  }
}

function text(b: Uint8Array, what: string): string {
  try {
    return decodeUtf8(b);
  } catch (cause) {
    throw new FormatError(`ESDK header: ${what} is not valid UTF-8`, { cause });
  }
}

function parseContext(aad: Uint8Array): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (aad.length === 0) return out;
  const c = new Cursor(aad);
  try {
    const count = c.u16();
    if (count === 0) throw new FormatError("ESDK header: an encryption context of length > 0 has no pairs");
    for (let i = 0; i < count; i++) {
      const k = text(c.field(), "an encryption context key");
      const v = text(c.field(), "an encryption context value");
      if (Object.hasOwn(out, k)) throw new FormatError("ESDK header: duplicate encryption context key");
      out[k] = v;
    }
  } catch (e) {
    if (e instanceof Need) throw new FormatError("ESDK header: the encryption context is truncated");
    throw e;
  }
  if (c.at !== aad.length) throw new FormatError("ESDK header: the encryption context has trailing bytes");
  return out;
}

/**
 * Parses the header of an ESDK message from the start of `bytes`: `need` with the bytes it
 * takes when `bytes` is short, `ok` with the header otherwise.
 *
 * @throws FormatError when the bytes are not an ESDK header (version, suite, content type,
 * reserved bytes, IV length or frame length out of place, a bad encryption context);
 * LimitError when it carries more data keys than `maxEncryptedDataKeys`.
 * @example
 * ```ts
 * const r = parseEsdkHeader(first4KiB);
 * if (r.status === "need") first4KiB = await readMore(r.minBytes);
 * else console.log(r.value.suite.name, r.value.dataKeys.map((k) => k.keyArn));
 * ```
 */
export function parseEsdkHeader(bytes: Uint8Array, limits: EsdkHeaderLimits = {}): ParseResult<EsdkHeader> {
  const maxKeys = limits.maxEncryptedDataKeys ?? 16;
  const c = new Cursor(bytes);
  try {
    const version = c.u8();
    if (version !== 1 && version !== 2) throw new FormatError("not an AWS Encryption SDK message (version)");
    if (version === 1 && c.u8() !== 0x80) throw new FormatError("not an AWS Encryption SDK message (type)");
    const suiteId = c.u16();
    const suite = esdkSuite(suiteId);
    if (!suite || suite.messageVersion !== version)
      throw new FormatError(
        `not an AWS Encryption SDK message (suite 0x${suiteId.toString(16).padStart(4, "0")})`,
      );
    c.take(version === 1 ? 16 : 32); // message id
    const encryptionContext = parseContext(c.field());
    const keyCount = c.u16();
    if (keyCount === 0) throw new FormatError("ESDK header: no encrypted data key");
    if (keyCount > maxKeys)
      throw new LimitError(`ESDK header: ${keyCount} encrypted data keys, more than ${maxKeys}`);
    const dataKeys: EsdkDataKey[] = [];
    for (let i = 0; i < keyCount; i++) {
      const providerId = text(c.field(), "a provider id");
      const info = c.field();
      c.field(); // the encrypted data key
      const providerInfo = new TextDecoder("utf-8").decode(info);
      dataKeys.push({
        providerId,
        providerInfo,
        ...(providerId === ESDK_KMS_PROVIDER_ID ? { keyArn: text(info, "a KMS key ARN") } : {}),
      });
    }
    const contentType = c.u8();
    if (contentType !== 1 && contentType !== 2)
      throw new FormatError(`ESDK header: unknown content type ${contentType}`);
    const framed = contentType === 2;
    if (version === 1) {
      if (readU32(c.take(4), 0) !== 0) throw new FormatError("ESDK header: reserved bytes are not zero");
      if (c.u8() !== V1_IV_LENGTH) throw new FormatError("ESDK header: unexpected IV length");
    }
    const frameLength = c.u32();
    if (framed ? frameLength === 0 : frameLength !== 0)
      throw new FormatError("ESDK header: frame length does not match the content type");
    if (version === 2) c.take(V2_SUITE_DATA_LENGTH);
    c.take((version === 1 ? V1_IV_LENGTH : 0) + TAG_LENGTH);
    return {
      status: "ok",
      value: {
        version,
        suite,
        encryptionContext: Object.freeze({ ...encryptionContext }),
        dataKeys,
        framed,
        frameLength,
        headerLength: c.at,
      },
    };
  } catch (e) {
    if (e instanceof Need) return { status: "need", minBytes: e.minBytes };
    throw e;
  }
}
