/**
 * What a command needs from its surroundings: the three standard streams, a way to set the exit
 * code, and AWS clients. The executable uses the process's; tests pass their own (captured
 * output, the emulator's clients) and run commands in-process.
 */
import type { Readable, Writable } from "node:stream";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";

/** A writable stream that may be a terminal. */
export type OutputStream = Writable & { readonly isTTY?: boolean; readonly columns?: number };

/** `--profile` / `--region` / `--endpoint-url` as given on the command line. */
export interface AwsClientOptions {
  /** Named profile of the AWS config files; the SDK reads AWS_PROFILE itself when absent. */
  readonly profile?: string;
  readonly region?: string;
  readonly endpointUrl?: string;
  /** SDK attempts per request; the re-encrypt job asks for 1 because it retries itself. @default the SDK's (3) */
  readonly maxAttempts?: number;
}

/** A readable stream that may be a terminal. */
export type InputStream = Readable & { readonly isTTY?: boolean };

/** The surroundings of a command. */
export interface CliContext {
  readonly stdin: InputStream;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Sets the exit code without ending the process (bin.ts exits with it). */
  setExitCode(code: number): void;
  kmsClient(options: AwsClientOptions): KMSClient;
  s3Client(options: AwsClientOptions): S3Client;
}

/**
 * The SDK clients for the command line, configured as the AWS CLI would be: profile from
 * `--profile`, else `AWS_PROFILE`; Region from `--region`, else `AWS_REGION`, else
 * `AWS_DEFAULT_REGION` (which the SDK alone ignores), else the profile's; endpoint from
 * `--endpoint-url`, else the SDK's (`AWS_ENDPOINT_URL`...). S3 uses path-style addressing
 * whenever the endpoint is not AWS's, because emulators on loopback have no bucket subdomains.
 */
export function processContext(): CliContext {
  const envRegion = process.env["AWS_REGION"] || process.env["AWS_DEFAULT_REGION"] || undefined;
  const common = (o: AwsClientOptions) => {
    const region = o.region || envRegion;
    return {
      ...(o.profile ? { profile: o.profile } : {}),
      ...(region ? { region } : {}),
      ...(o.endpointUrl ? { endpoint: o.endpointUrl } : {}),
      ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
    };
  };
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    kmsClient: (o) => new KMSClient(common(o)),
    s3Client: (o) => {
      const custom = o.endpointUrl ?? process.env["AWS_ENDPOINT_URL_S3"] ?? process.env["AWS_ENDPOINT_URL"];
      return new S3Client({ ...common(o), ...(custom ? { forcePathStyle: true } : {}) });
    },
  };
}
