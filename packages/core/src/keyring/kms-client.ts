/**
 * The few KMS operations rekey uses, as a small interface. Pass an `@aws-sdk/client-kms`
 * `KMSClient` (wrapped with {@link kmsApiOf}) or anything that implements these methods — a fake
 * in unit tests, a client with custom retries in production.
 */
import type * as KmsSdkModule from "@aws-sdk/client-kms";
import type {
  DecryptCommandInput,
  DecryptCommandOutput,
  EncryptCommandInput,
  EncryptCommandOutput,
  GenerateDataKeyCommandInput,
  GenerateDataKeyCommandOutput,
  KMSClient,
  ReEncryptCommandInput,
  ReEncryptCommandOutput,
} from "@aws-sdk/client-kms";
import { errorNameOf } from "../errors.js";

type Out<T> = Omit<T, "$metadata">;

/** KMS errors that mean "this blob is not under this key": a keyring tries its next entry. */
const NOT_THIS_KEY = new Set(["InvalidCiphertextException", "IncorrectKeyException"]);

/** True when a KMS error says only that the blob is not for the key named (not a failure of KMS). */
export function isNotThisKey(e: unknown): boolean {
  return NOT_THIS_KEY.has(errorNameOf(e) ?? "");
}
/** Per-call options. */
export interface KmsCallOptions {
  readonly abortSignal?: AbortSignal;
}

/** The KMS operations rekey calls. */
export interface KmsApi {
  generateDataKey(
    input: GenerateDataKeyCommandInput,
    options?: KmsCallOptions,
  ): Promise<Out<GenerateDataKeyCommandOutput>>;
  encrypt(input: EncryptCommandInput, options?: KmsCallOptions): Promise<Out<EncryptCommandOutput>>;
  decrypt(input: DecryptCommandInput, options?: KmsCallOptions): Promise<Out<DecryptCommandOutput>>;
  reEncrypt(input: ReEncryptCommandInput, options?: KmsCallOptions): Promise<Out<ReEncryptCommandOutput>>;
}

/** A KMS client: the SDK's `KMSClient`, or an implementation of {@link KmsApi}. */
export type KmsClientLike = KMSClient | KmsApi;

function isKmsApi(c: KmsClientLike): c is KmsApi {
  const o = c as Partial<KmsApi>;
  return (
    typeof o.generateDataKey === "function" &&
    typeof o.decrypt === "function" &&
    typeof o.reEncrypt === "function"
  );
}

/**
 * Adapts a `KMSClient` (or the aggregated `KMS` class, or a fake) to {@link KmsApi}.
 *
 * @example
 * ```ts
 * const kms = kmsApiOf(new KMSClient({ region: "eu-west-1" }));
 * ```
 */
export function kmsApiOf(client: KmsClientLike): KmsApi {
  if (isKmsApi(client)) return client;
  const c = client;
  const opts = (o?: KmsCallOptions) => (o?.abortSignal ? { abortSignal: o.abortSignal } : {});
  return {
    generateDataKey: async (input, o) => c.send(new (await sdk()).GenerateDataKeyCommand(input), opts(o)),
    encrypt: async (input, o) => c.send(new (await sdk()).EncryptCommand(input), opts(o)),
    decrypt: async (input, o) => c.send(new (await sdk()).DecryptCommand(input), opts(o)),
    reEncrypt: async (input, o) => c.send(new (await sdk()).ReEncryptCommand(input), opts(o)),
  };
}

/**
 * The SDK's command classes, loaded when a `KMSClient` is first used (its owner has loaded the SDK
 * already): importing rekey costs nothing for raw-AES or fake-KMS users.
 */
type KmsSdk = typeof KmsSdkModule;
let kmsSdk: Promise<KmsSdk> | undefined;
const sdk = (): Promise<KmsSdk> => (kmsSdk ??= import("@aws-sdk/client-kms"));
