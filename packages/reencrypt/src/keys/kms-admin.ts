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

/**
 * Adapts a `KMSClient` to {@link KmsAdminApi}; an object that already implements it is returned
 * as is.
 *
 * @example
 * ```ts
 * const kms = kmsAdminOf(new KMSClient({ region: "eu-west-1" }));
 * const { KeyMetadata } = await kms.describeKey({ KeyId: "alias/app-data" });
 * ```
 */
export function kmsAdminOf(client: KmsAdminClient): KmsAdminApi {
  if (isAdminApi(client)) return client;
  const c = client;
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
