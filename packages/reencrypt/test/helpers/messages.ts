/** Builds real rekey messages with the fake KMS, for unit tests. */
import { encrypt, inspect, KmsKeyring, MultiKeyring, RawAesKeyring, type MessagePrefix } from "@rekey/core";
import { randomBytes } from "node:crypto";
import type { FakeKms } from "@rekey/localstack/fake-kms";

/** Encrypts `plaintext` under the given keys (first = primary). */
export async function sealWith(
  kms: FakeKms,
  keyIds: readonly string[],
  plaintext: Uint8Array = randomBytes(100),
  options: { context?: Record<string, string>; frameLength?: number; rawAes?: boolean } = {},
): Promise<Buffer> {
  const [keyId, ...additionalKeyIds] = keyIds;
  const keyrings = [];
  if (keyId) keyrings.push(new KmsKeyring({ client: kms, keyId, additionalKeyIds }));
  if (options.rawAes) keyrings.push(new RawAesKeyring({ name: "offline", key: Buffer.alloc(32, 7) }));
  const keyring = keyrings.length === 1 ? keyrings[0]! : new MultiKeyring(keyrings);
  const { ciphertext } = await encrypt(plaintext, {
    keyring,
    encryptionContext: options.context ?? { purpose: "test" },
    ...(options.frameLength ? { frameLength: options.frameLength } : {}),
  });
  return ciphertext;
}

/** The parsed prefix of a message. */
export function prefixOf(message: Uint8Array): MessagePrefix {
  return inspect(message).prefix;
}
