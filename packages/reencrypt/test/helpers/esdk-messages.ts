/** Writes AWS Encryption SDK messages for the job's tests, with the ESDK itself. */
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  type KeyringNode,
} from "@aws-crypto/client-node";
import { kmsApiOf, type KmsClientLike } from "@rekey/core";

/** The ESDK's default suite (signed, committing) and its unsigned committing suite. */
export const SIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
export const UNSIGNED = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
/** A suite without key commitment (ESDK 1.x). */
export const LEGACY = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384;

const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const legacy = buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);

/** An ESDK KMS keyring over any KMS client the tests use (a `KMSClient`, a fake). */
export function esdkKmsKeyring(client: KmsClientLike, generatorKeyId: string): KeyringNode {
  const api = kmsApiOf(client);
  const clientProvider = (() => api) as unknown as NonNullable<
    NonNullable<ConstructorParameters<typeof KmsKeyringNode>[0]>["clientProvider"]
  >;
  return new KmsKeyringNode({ generatorKeyId, clientProvider });
}

/** An ESDK raw AES keyring (`namespace`/`name`, AES-256-GCM). */
export function esdkRawAesKeyring(namespace: string, name: string, key: Uint8Array): KeyringNode {
  return new RawAesKeyringNode({
    keyNamespace: namespace,
    keyName: name,
    // A copy: the ESDK wipes the array it is given.
    unencryptedMasterKey: Uint8Array.from(key),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

/** Encrypts `plaintext` with the ESDK. */
export async function esdkEncrypt(
  keyring: KeyringNode,
  plaintext: Uint8Array,
  options: { suiteId: AlgorithmSuiteIdentifier; frameLength?: number; context?: Record<string, string> },
): Promise<Buffer> {
  const writer = options.suiteId === LEGACY ? legacy : esdk;
  const { result } = await writer.encrypt(keyring, plaintext, {
    suiteId: options.suiteId,
    encryptionContext: options.context ?? {},
    ...(options.frameLength ? { frameLength: options.frameLength } : {}),
  });
  return Buffer.from(result);
}
