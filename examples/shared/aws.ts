/**
 * How the examples reach AWS: the built-in emulator by default (nothing to set up), an endpoint
 * when `AWS_ENDPOINT_URL` is set (LocalStack, the standalone `pnpm emulator`), or real AWS with
 * the SDK's default credential chain when `REKEY_USE_AWS=1`.
 */
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { startLocalAws } from "@rekey/localstack";

/** Clients for an example, and how to let go of them. */
export interface ExampleAws {
  readonly kms: KMSClient;
  readonly s3: S3Client;
  readonly where: string;
  close(): Promise<void>;
}

export async function connect(): Promise<ExampleAws> {
  if (process.env.REKEY_USE_AWS === "1") {
    const kms = new KMSClient({});
    const s3 = new S3Client({});
    return { kms, s3, where: "AWS (default credential chain)", close: async () => undefined };
  }
  const aws = await startLocalAws({ backend: process.env.AWS_ENDPOINT_URL ? "env" : "builtin", log: false });
  return {
    kms: aws.kms,
    s3: aws.s3,
    where: aws.backend === "builtin" ? `the built-in emulator at ${aws.endpoint}` : `${aws.endpoint}`,
    close: () => aws.stop(),
  };
}

/** A short random suffix so repeated runs against a shared endpoint do not collide. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
