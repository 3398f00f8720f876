/**
 * @rekey/core — envelope encryption on AWS KMS whose data keys can be rewrapped after a key
 * rotation without touching the payload. The format is described in SPEC.md.
 */
export { encrypt, type EncryptResult } from "./api/encrypt.js";
export { encryptChunks, type EncryptChunksResult } from "./api/encrypt-chunks.js";
export { decrypt, type DecryptResult } from "./api/decrypt.js";
export { encryptStream } from "./api/encrypt-stream.js";
export { decryptStream, type DecryptStream } from "./api/decrypt-stream.js";
export { encryptWebStream, decryptWebStream, type WebTransform } from "./api/web-streams.js";
export {
  inspect,
  inspectStream,
  describeEntry,
  type Inspection,
  type InspectedEntry,
} from "./api/inspect.js";
export type { EncryptOptions, DecryptOptions } from "./api/options.js";
export {
  decryptEsdk,
  decryptEsdkStream,
  isEsdkMessage,
  type EsdkDecryptOptions,
  type EsdkDecryptResult,
} from "./esdk/esdk-decrypt.js";
export {
  parseEsdkHeader,
  esdkSuite,
  ESDK_KMS_PROVIDER_ID,
  ESDK_RESERVED_CONTEXT_PREFIX,
  type EsdkHeader,
  type EsdkDataKey,
  type EsdkSuite,
  type EsdkHeaderLimits,
} from "./esdk/esdk-header.js";

export type { Keyring, WrapRequest, WrapResult, UnwrapRequest } from "./keyring/types.js";
export {
  KmsKeyring,
  rewrapKmsEntry,
  type KmsKeyringOptions,
  type RewrapKmsEntryOptions,
} from "./keyring/kms-keyring.js";
export { RawAesKeyring, RAW_AES_ENTRY_TYPE, type RawAesKeyringOptions } from "./keyring/raw-aes-keyring.js";
export { MultiKeyring } from "./keyring/multi-keyring.js";
export { CachingKeyring, type CachingKeyringOptions } from "./keyring/caching-keyring.js";
export { kmsApiOf, type KmsApi, type KmsClientLike, type KmsCallOptions } from "./keyring/kms-client.js";
export {
  decodeKmsEntry,
  encodeKmsEntry,
  isKmsEntry,
  KMS_ENTRY_TYPE,
  type KmsEntry,
} from "./keyring/kms-entry.js";
export {
  observeKmsCall,
  type KmsCallEvent,
  type KmsCallListener,
  type KmsOperation,
} from "./keyring/kms-events.js";
export { parseKmsArn, isKeyArn, isAlias, type KmsArn } from "./keyring/arn.js";

export { parseMessagePrefix, serializePrefixWithEntries, type MessagePrefix } from "./format/message.js";
export { hasMagic, type MessageHeader, type ParseResult } from "./format/header.js";
export type { WrappedKeyEntry } from "./format/entries.js";
export type { EncryptionContext } from "./format/encryption-context.js";
export {
  DEFAULT_FRAME_LENGTH,
  DEFAULT_LIMITS,
  SIGNING_KEY_CONTEXT_KEY,
  type FormatLimits,
} from "./format/constants.js";

export {
  RekeyError,
  awsErrorNameOf,
  causeChain,
  errorNameOf,
  httpStatusOf,
  DecryptError,
  FormatError,
  LimitError,
  NoMatchingKeyError,
  KmsError,
  EncryptionContextError,
  InvalidArgumentError,
  type RekeyErrorCode,
} from "./errors.js";
