/**
 * The few KMS operations rekey uses, as a small interface. Pass an `@aws-sdk/client-kms`
 * `KMSClient` (wrapped with {@link kmsApiOf}) or anything that implements these methods — a fake
 * in unit tests, a client with custom retries in production.
 */
import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ReEncryptCommand,
  type DecryptCommandInput,
  type DecryptCommandOutput,
  type EncryptCommandInput,
  type EncryptCommandOutput,
  type GenerateDataKeyCommandInput,
  type GenerateDataKeyCommandOutput,
  type KMSClient,
  type ReEncryptCommandInput,
  type ReEncryptCommandOutput,
} from "@aws-sdk/client-kms";

type Out<T> = Omit<T, "$metadata">;
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
    generateDataKey: (input, o) => c.send(new GenerateDataKeyCommand(input), opts(o)),
    encrypt: (input, o) => c.send(new EncryptCommand(input), opts(o)),
    decrypt: (input, o) => c.send(new DecryptCommand(input), opts(o)),
    reEncrypt: (input, o) => c.send(new ReEncryptCommand(input), opts(o)),
  };
}
