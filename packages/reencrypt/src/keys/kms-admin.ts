/**
 * The KMS control-plane operations the key tooling calls, as a small interface. Pass a
 * `KMSClient` (adapted by {@link kmsAdminOf}) or anything implementing these methods — an
 * in-memory fake in unit tests. Inputs and outputs are the SDK's own shapes, so nothing is
 * translated and every optional field (e.g. `CurrentKeyMaterialId`) stays optional.
 */
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  UpdateAliasCommand,
  type CreateKeyCommandInput,
  type CreateKeyCommandOutput,
  type DescribeKeyCommandInput,
  type DescribeKeyCommandOutput,
  type EnableKeyRotationCommandInput,
  type EnableKeyRotationCommandOutput,
  type GenerateDataKeyCommandInput,
  type GenerateDataKeyCommandOutput,
  type GetKeyPolicyCommandInput,
  type GetKeyPolicyCommandOutput,
  type GetKeyRotationStatusCommandInput,
  type GetKeyRotationStatusCommandOutput,
  type KMSClient,
  type ListAliasesCommandInput,
  type ListAliasesCommandOutput,
  type ListGrantsCommandInput,
  type ListGrantsCommandOutput,
  type ListKeyRotationsCommandInput,
  type ListKeyRotationsCommandOutput,
  type ListKeysCommandInput,
  type ListKeysCommandOutput,
  type ListResourceTagsCommandInput,
  type ListResourceTagsCommandOutput,
  type RotateKeyOnDemandCommandInput,
  type RotateKeyOnDemandCommandOutput,
  type UpdateAliasCommandInput,
  type UpdateAliasCommandOutput,
} from "@aws-sdk/client-kms";

import { observeKmsCall, type KmsCallListener, type KmsOperation } from "@rekey/core";

type Out<T> = Omit<T, "$metadata">;

/** The KMS operations of `rekey keys` and `rekey alias`. */
export interface KmsAdminApi {
  listKeys(input: ListKeysCommandInput): Promise<Out<ListKeysCommandOutput>>;
  describeKey(input: DescribeKeyCommandInput): Promise<Out<DescribeKeyCommandOutput>>;
  listAliases(input: ListAliasesCommandInput): Promise<Out<ListAliasesCommandOutput>>;
  getKeyRotationStatus(
    input: GetKeyRotationStatusCommandInput,
  ): Promise<Out<GetKeyRotationStatusCommandOutput>>;
  listKeyRotations(input: ListKeyRotationsCommandInput): Promise<Out<ListKeyRotationsCommandOutput>>;
  enableKeyRotation(input: EnableKeyRotationCommandInput): Promise<Out<EnableKeyRotationCommandOutput>>;
  rotateKeyOnDemand(input: RotateKeyOnDemandCommandInput): Promise<Out<RotateKeyOnDemandCommandOutput>>;
  getKeyPolicy(input: GetKeyPolicyCommandInput): Promise<Out<GetKeyPolicyCommandOutput>>;
  listGrants(input: ListGrantsCommandInput): Promise<Out<ListGrantsCommandOutput>>;
  listResourceTags(input: ListResourceTagsCommandInput): Promise<Out<ListResourceTagsCommandOutput>>;
  createKey(input: CreateKeyCommandInput): Promise<Out<CreateKeyCommandOutput>>;
  updateAlias(input: UpdateAliasCommandInput): Promise<Out<UpdateAliasCommandOutput>>;
  generateDataKey(input: GenerateDataKeyCommandInput): Promise<Out<GenerateDataKeyCommandOutput>>;
}

/** A `KMSClient`, or an implementation of {@link KmsAdminApi}. */
export type KmsAdminClient = KMSClient | KmsAdminApi;

function isAdminApi(client: KmsAdminClient): client is KmsAdminApi {
  return typeof (client as Partial<KmsAdminApi>).describeKey === "function";
}

/** Options of {@link kmsAdminOf}. */
export interface KmsAdminOptions {
  /**
   * Called after every KMS call made through the returned API, with the operation, the key named,
   * the key ARN and material KMS answered (`DescribeKey`: `Arn` and `CurrentKeyMaterialId`),
   * the duration and the error name — the same event as the SDK's and the job's `onKmsCall`.
   * @default undefined
   */
  readonly onKmsCall?: KmsCallListener;
}

/**
 * Adapts a `KMSClient` to {@link KmsAdminApi}; an object that already implements it is returned
 * as is, or, with `onKmsCall`, wrapped so that every call is reported.
 *
 * @example
 * ```ts
 * const kms = kmsAdminOf(new KMSClient({ region: "eu-west-1" }), { onKmsCall: (e) => log(e) });
 * const { KeyMetadata } = await kms.describeKey({ KeyId: "alias/app-data" });
 * ```
 */
export function kmsAdminOf(client: KmsAdminClient, options: KmsAdminOptions = {}): KmsAdminApi {
  const api = isAdminApi(client) ? client : sdkAdmin(client);
  return options.onKmsCall ? observed(api, options.onKmsCall) : api;
}

function sdkAdmin(c: KMSClient): KmsAdminApi {
  return {
    listKeys: (input) => c.send(new ListKeysCommand(input)),
    describeKey: (input) => c.send(new DescribeKeyCommand(input)),
    listAliases: (input) => c.send(new ListAliasesCommand(input)),
    getKeyRotationStatus: (input) => c.send(new GetKeyRotationStatusCommand(input)),
    listKeyRotations: (input) => c.send(new ListKeyRotationsCommand(input)),
    enableKeyRotation: (input) => c.send(new EnableKeyRotationCommand(input)),
    rotateKeyOnDemand: (input) => c.send(new RotateKeyOnDemandCommand(input)),
    getKeyPolicy: (input) => c.send(new GetKeyPolicyCommand(input)),
    listGrants: (input) => c.send(new ListGrantsCommand(input)),
    listResourceTags: (input) => c.send(new ListResourceTagsCommand(input)),
    createKey: (input) => c.send(new CreateKeyCommand(input)),
    updateAlias: (input) => c.send(new UpdateAliasCommand(input)),
    generateDataKey: (input) => c.send(new GenerateDataKeyCommand(input)),
  };
}

type Facts = { keyArn: string | undefined; keyMaterialId: string | undefined };
const none = (): Facts => ({ keyArn: undefined, keyMaterialId: undefined });

/** `api` with every call reported to `listener`. */
function observed(api: KmsAdminApi, listener: KmsCallListener): KmsAdminApi {
  const watch =
    <I, O>(
      operation: KmsOperation,
      call: (input: I) => Promise<O>,
      keyOf: (input: I) => string | undefined,
      describe: (output: O) => Facts = none,
    ) =>
    (input: I): Promise<O> =>
      observeKmsCall(listener, operation, keyOf(input), () => call(input), describe);
  const keyId = <I extends { KeyId?: string | undefined }>(i: I): string | undefined => i.KeyId;
  const noKey = (): undefined => undefined;
  return {
    listKeys: watch("ListKeys", api.listKeys.bind(api), noKey),
    describeKey: watch("DescribeKey", api.describeKey.bind(api), keyId, (o) => ({
      keyArn: o.KeyMetadata?.Arn,
      keyMaterialId: o.KeyMetadata?.CurrentKeyMaterialId,
    })),
    listAliases: watch("ListAliases", api.listAliases.bind(api), keyId),
    getKeyRotationStatus: watch("GetKeyRotationStatus", api.getKeyRotationStatus.bind(api), keyId),
    listKeyRotations: watch("ListKeyRotations", api.listKeyRotations.bind(api), keyId),
    enableKeyRotation: watch("EnableKeyRotation", api.enableKeyRotation.bind(api), keyId),
    rotateKeyOnDemand: watch("RotateKeyOnDemand", api.rotateKeyOnDemand.bind(api), keyId),
    getKeyPolicy: watch("GetKeyPolicy", api.getKeyPolicy.bind(api), keyId),
    listGrants: watch("ListGrants", api.listGrants.bind(api), keyId),
    listResourceTags: watch("ListResourceTags", api.listResourceTags.bind(api), keyId),
    createKey: watch("CreateKey", api.createKey.bind(api), noKey, (o) => ({
      keyArn: o.KeyMetadata?.Arn,
      keyMaterialId: o.KeyMetadata?.CurrentKeyMaterialId,
    })),
    updateAlias: watch("UpdateAlias", api.updateAlias.bind(api), (i) => i.AliasName),
    generateDataKey: watch("GenerateDataKey", api.generateDataKey.bind(api), keyId, (o) => ({
      keyArn: o.KeyId,
      keyMaterialId: o.KeyMaterialId,
    })),
  };
}
