/**
 * Application encrypt/decrypt: a service stores customer records in S3, each encrypted with its
 * own data key from KMS (through an alias), bound to an encryption context that names the tenant
 * and the record. Reading checks the context, so a record copied to another tenant's path does
 * not decrypt there.
 *
 * Run: `pnpm exec tsx --conditions=rekey-source examples/app-encrypt-decrypt/index.ts` (the
 * built-in emulator; `shared/aws.ts` says how real AWS or another endpoint is chosen).
 */
import { CreateAliasCommand, CreateKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  type CreateBucketCommandInput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { decrypt, encrypt, inspect, KmsKeyring, type Keyring } from "@rekey/core";
import {
  cleanupCommands,
  connect,
  isMain,
  suffix,
  type ExampleAws,
  type ExampleOptions,
} from "../shared/aws.js";

/** A small "repository" as an application would write it. */
export class RecordStore {
  /**
   * @param listPageSize - Keys per ListObjectsV2 page in {@link RecordStore.list}. @default 1000
   */
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly keyring: Keyring,
    private readonly listPageSize = 1000,
  ) {}

  /** Every record's tenant and id, page after page (a bucket may hold any number). */
  async *list(): AsyncGenerator<{ tenant: string; id: string }> {
    const pages = paginateListObjectsV2(
      { client: this.s3, pageSize: this.listPageSize },
      { Bucket: this.bucket },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        const m = /^([^/]+)\/(.+)\.rkey$/.exec(o.Key ?? "");
        if (m) yield { tenant: m[1] as string, id: m[2] as string };
      }
    }
  }

  async put(tenant: string, id: string, record: unknown): Promise<void> {
    const encryptionContext = { tenant, record: id };
    const { ciphertext } = await encrypt(Buffer.from(JSON.stringify(record)), {
      keyring: this.keyring,
      encryptionContext,
    });
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${tenant}/${id}.rkey`,
        Body: ciphertext,
        ContentType: "application/vnd.rekey",
      }),
    );
  }

  async get(tenant: string, id: string): Promise<unknown> {
    const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${tenant}/${id}.rkey` }));
    const bytes = await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const { plaintext } = await decrypt(bytes, {
      keyring: this.keyring,
      requiredEncryptionContext: { tenant, record: id },
    });
    return JSON.parse(plaintext.toString("utf8")) as unknown;
  }

  async raw(tenant: string, id: string): Promise<Uint8Array> {
    const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${tenant}/${id}.rkey` }));
    return (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  }
}

/**
 * CreateBucket's input: outside us-east-1, S3 requires the Region as `LocationConstraint`
 * (us-east-1 refuses it).
 *
 * @example
 * ```ts
 * createBucketInput("data", "eu-west-1"); // { Bucket: "data", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } }
 * ```
 */
export function createBucketInput(bucket: string, region: string): CreateBucketCommandInput {
  return region === "us-east-1"
    ? { Bucket: bucket }
    : {
        Bucket: bucket,
        CreateBucketConfiguration: {
          LocationConstraint: region as NonNullable<
            CreateBucketCommandInput["CreateBucketConfiguration"]
          >["LocationConstraint"],
        },
      };
}

/**
 * Creates a key with an alias and a bucket (what Terraform would do in a real deployment),
 * noting each in `created` as soon as it exists.
 */
export async function provision(
  kms: KMSClient,
  s3: S3Client,
  name: string,
  created?: ExampleAws["created"],
): Promise<{ keyArn: string; alias: string; bucket: string }> {
  const key = await kms.send(new CreateKeyCommand({ Description: `rekey example ${name}` }));
  const keyArn = key.KeyMetadata?.Arn as string;
  created?.keys.push(keyArn);
  const alias = `alias/${name}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
  created?.aliases.push(alias);
  const bucket = name;
  await s3.send(new CreateBucketCommand(createBucketInput(bucket, await s3.config.region())));
  created?.buckets.push(bucket);
  return { keyArn, alias, bucket };
}

/** The example: write three records, read them back, show a header. Returns what it read. */
export async function main(options: ExampleOptions = {}): Promise<unknown[]> {
  const log = options.log ?? console.log;
  const aws = await connect(options.env);
  try {
    log(`Using ${aws.where}`);
    const { alias, bucket, keyArn } = await provision(aws.kms, aws.s3, `rekey-app-${suffix()}`, aws.created);
    log(`Key ${keyArn} as ${alias}, bucket ${bucket}`);
    const store = new RecordStore(aws.s3, bucket, new KmsKeyring({ client: aws.kms, keyId: alias }));
    const records = [
      { id: "c-1", name: "Ada", card: "4111 1111 1111 1111" },
      { id: "c-2", name: "Grace", card: "5500 0000 0000 0004" },
      { id: "c-3", name: "Edsger", card: "3400 0000 0000 009" },
    ];
    for (const r of records) await store.put("acme", r.id, r);
    const read = [];
    for (const r of records) read.push(await store.get("acme", r.id));
    log(`Read back ${read.length} records`);
    const header = inspect(await store.raw("acme", "c-1"));
    const entry = header.entries[0];
    log(
      `Header of acme/c-1.rkey: key ${entry?.keyArn}, named as ${entry?.requestedKeyId}, material ${entry?.keyMaterialId ?? "(not reported)"}`,
    );
    log(`Encryption context: ${JSON.stringify(header.encryptionContext)}`);
    return read;
  } finally {
    for (const line of cleanupCommands(aws.target, aws.created)) log(line);
    await aws.close();
  }
}

if (isMain(import.meta.url)) await main();
