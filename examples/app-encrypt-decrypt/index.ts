/**
 * Application encrypt/decrypt: a service stores customer records in S3, each encrypted with its
 * own data key from KMS (through an alias), bound to an encryption context that names the tenant
 * and the record. Reading checks the context, so a record copied to another tenant's path does
 * not decrypt there.
 *
 * Run: `pnpm exec tsx --conditions=rekey-source examples/app-encrypt-decrypt/index.ts`
 */
import { CreateAliasCommand, CreateKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { decrypt, encrypt, inspect, KmsKeyring, type Keyring } from "@rekey/core";
import { connect, suffix } from "../shared/aws.js";

/** A small "repository" as an application would write it. */
export class RecordStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly keyring: Keyring,
  ) {}

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

/** Creates a key with an alias and a bucket (what Terraform would do in a real deployment). */
export async function provision(
  kms: KMSClient,
  s3: S3Client,
  name: string,
): Promise<{ keyArn: string; alias: string; bucket: string }> {
  const key = await kms.send(new CreateKeyCommand({ Description: `rekey example ${name}` }));
  const keyArn = key.KeyMetadata?.Arn as string;
  const alias = `alias/${name}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
  const bucket = name;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return { keyArn, alias, bucket };
}

/** The example: write three records, read them back, show a header. Returns what it read. */
export async function main(log: (line: string) => void = console.log): Promise<unknown[]> {
  const aws = await connect();
  try {
    log(`Using ${aws.where}`);
    const { alias, bucket, keyArn } = await provision(aws.kms, aws.s3, `rekey-app-${suffix()}`);
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
    await aws.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
