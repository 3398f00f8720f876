/**
 * The KMS operations the job calls: the four of `@rekey/core`'s `KmsApi` (rewrap, decrypt for
 * full verification and re-encryption) plus `DescribeKey` and `ListAliases` to resolve the
 * target. Code against this interface so unit tests can pass a fake.
 */
import {
  DescribeKeyCommand,
  ListAliasesCommand,
  type DescribeKeyCommandInput,
  type DescribeKeyCommandOutput,
  type KMSClient,
  type ListAliasesCommandInput,
  type ListAliasesCommandOutput,
} from "@aws-sdk/client-kms";
import { kmsApiOf, type KmsApi, type KmsCallOptions } from "@rekey/core";

type Out<T> = Omit<T, "$metadata">;

/** The KMS operations of the job. */
export interface JobKmsApi extends KmsApi {
  describeKey(
    input: DescribeKeyCommandInput,
    options?: KmsCallOptions,
  ): Promise<Out<DescribeKeyCommandOutput>>;
  listAliases(
    input: ListAliasesCommandInput,
    options?: KmsCallOptions,
  ): Promise<Out<ListAliasesCommandOutput>>;
}

/** A `KMSClient`, or any implementation of {@link JobKmsApi}. */
export type JobKmsClient = KMSClient | JobKmsApi;

function isJobKmsApi(c: JobKmsClient): c is JobKmsApi {
  const o = c as Partial<JobKmsApi>;
  return typeof o.describeKey === "function" && typeof o.reEncrypt === "function";
}

/**
 * Adapts a `KMSClient` (or a fake) to {@link JobKmsApi}.
 *
 * @example
 * ```ts
 * const kms = jobKmsOf(new KMSClient({ region: "eu-west-1" }));
 * const { KeyMetadata } = await kms.describeKey({ KeyId: "alias/app" });
 * ```
 */
export function jobKmsOf(client: JobKmsClient): JobKmsApi {
  if (isJobKmsApi(client)) return client;
  const c = client;
  const core = kmsApiOf(c);
  const opts = (o?: KmsCallOptions) => (o?.abortSignal ? { abortSignal: o.abortSignal } : {});
  return Object.assign({}, core, {
    describeKey: (input: DescribeKeyCommandInput, o?: KmsCallOptions) =>
      c.send(new DescribeKeyCommand(input), opts(o)),
    listAliases: (input: ListAliasesCommandInput, o?: KmsCallOptions) =>
      c.send(new ListAliasesCommand(input), opts(o)),
  });
}
