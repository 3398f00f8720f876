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

/** `--region` / `--endpoint-url` as given on the command line. */
export interface AwsClientOptions {
  readonly region?: string;
  readonly endpointUrl?: string;
  /** SDK attempts per request; the re-encrypt job asks for 1 because it retries itself. @default the SDK's (3) */
  readonly maxAttempts?: number;
}

/** The surroundings of a command. */
export interface CliContext {
  readonly stdin: Readable;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Sets the exit code without ending the process (bin.ts exits with it). */
  setExitCode(code: number): void;
  kmsClient(options: AwsClientOptions): KMSClient;
  s3Client(options: AwsClientOptions): S3Client;
}

/**
 * The SDK clients for the command line: region and endpoint from the flags, else the SDK's own
 * configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles). S3 uses path-style addressing
 * whenever the endpoint is not AWS's, because emulators on loopback have no bucket subdomains.
 */
export function processContext(): CliContext {
  const common = (o: AwsClientOptions) => ({
    ...(o.region ? { region: o.region } : {}),
    ...(o.endpointUrl ? { endpoint: o.endpointUrl } : {}),
    ...(o.maxAttempts ? { maxAttempts: o.maxAttempts } : {}),
  });
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
