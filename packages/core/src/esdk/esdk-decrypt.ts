/**
 * Reading AWS Encryption SDK messages, so data written by the ESDK can be decrypted and migrated
 * to rekey (the re-encrypt job's full re-encrypt). Parsing and decryption are done by
 * `@aws-crypto/client-node`; this file only recognizes ESDK messages, builds a KMS keyring with the
 * same trust rules as rekey's (strict key ARNs or a discovery filter), and maps errors to rekey's
 * typed errors. Non-committing (pre-2.0) messages are accepted on read, as a migration must.
 */
import type { Duplex } from "node:stream";
import { buildClient, CommitmentPolicy, KmsKeyringNode } from "@aws-crypto/client-node";
import { DecryptError, EncryptionContextError, InvalidArgumentError, NoMatchingKeyError } from "../errors.js";
import { readU16 } from "../format/bytes.js";
import { kmsApiOf, type KmsClientLike } from "../keyring/kms-client.js";
import { isKeyArn } from "../keyring/arn.js";

/** Algorithm suites of ESDK message format version 1 and 2. */
const V1_SUITES = new Set([0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378]);
const V2_SUITES = new Set([0x0478, 0x0578]);

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
  if (bytes[0] === 0x02) return V2_SUITES.has(readU16(bytes, 1));
  if (bytes[0] === 0x01 && bytes[1] === 0x80 && bytes.length >= 4) return V1_SUITES.has(readU16(bytes, 2));
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
  /** Pairs that must be in the message's encryption context. @default {} */
  readonly requiredEncryptionContext?: Readonly<Record<string, string>>;
  /** Most encrypted data keys a message may carry. @default 16 */
  readonly maxEncryptedDataKeys?: number;
}

/** The result of {@link decryptEsdk}. */
export interface EsdkDecryptResult {
  readonly plaintext: Buffer;
  readonly encryptionContext: Readonly<Record<string, string>>;
  /** The KMS key that unwrapped the data key. */
  readonly keyArn: string | undefined;
}

function keyringFor(options: EsdkDecryptOptions): KmsKeyringNode {
  const api = kmsApiOf(options.client);
  // The ESDK calls `generateDataKey`/`encrypt`/`decrypt` methods on the client, as KmsApi has them.
  const clientProvider = (() => api) as unknown as NonNullable<
    NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>["clientProvider"]
  >;
  const arns = options.allowedKeyArns ?? [];
  for (const a of arns)
    if (!isKeyArn(a)) throw new InvalidArgumentError(`allowedKeyArns takes key ARNs, not "${a}"`);
  if (arns.length > 0 && options.discovery)
    throw new InvalidArgumentError("use allowedKeyArns or discovery, not both");
  if (arns.length > 0) return new KmsKeyringNode({ keyIds: [...arns], clientProvider });
  if (options.discovery) {
    return new KmsKeyringNode({
      discovery: true,
      discoveryFilter: {
        accountIDs: [...options.discovery.accountIds],
        partition: options.discovery.partition,
      },
      clientProvider,
    });
  }
  throw new InvalidArgumentError("decrypting an ESDK message needs allowedKeyArns or a discovery filter");
}

function client(options: EsdkDecryptOptions) {
  return buildClient({
    commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
    maxEncryptedDataKeys: options.maxEncryptedDataKeys ?? 16,
  });
}

function checkContext(
  actual: Readonly<Record<string, string>>,
  required: Readonly<Record<string, string>> | undefined,
): void {
  for (const [k, v] of Object.entries(required ?? {})) {
    if (actual[k] !== v)
      throw new EncryptionContextError("the message's encryption context does not match the required one");
  }
}

function mapError(e: unknown): Error {
  const message = e instanceof Error ? e.message : "";
  // The ESDK reports "no entry could be unwrapped" as a materials error with this message.
  if (/unencryptedDataKey has not been set|Unable to decrypt data key/i.test(message))
    return new NoMatchingKeyError({ cause: e });
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
  const keyring = keyringFor(options);
  let r;
  try {
    r = await client(options).decrypt(keyring, bytes);
  } catch (e) {
    throw mapError(e);
  }
  const encryptionContext = { ...r.messageHeader.encryptionContext };
  checkContext(encryptionContext, options.requiredEncryptionContext);
  const edk = r.messageHeader.encryptedDataKeys.find((k) => k.providerId === "aws-kms");
  return { plaintext: Buffer.from(r.plaintext), encryptionContext, keyArn: edk?.providerInfo };
}

/**
 * A Duplex that decrypts an AWS Encryption SDK message stream (the ESDK's own `decryptStream`,
 * with rekey's keyring rules). Check `requiredEncryptionContext` on its `MessageHeader` event.
 *
 * @example
 * ```ts
 * await pipeline(esdkObject, decryptEsdkStream({ client, discovery }), encryptStream({ keyring }), out);
 * ```
 */
export function decryptEsdkStream(options: EsdkDecryptOptions): Duplex {
  const stream = client(options).decryptStream(keyringFor(options)) as unknown as Duplex;
  stream.on("MessageHeader", (header: { encryptionContext: Record<string, string> }) => {
    try {
      checkContext(header.encryptionContext, options.requiredEncryptionContext);
    } catch (e) {
      stream.destroy(e as Error);
    }
  });
  return stream;
}
