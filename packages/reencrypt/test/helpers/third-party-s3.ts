/**
 * An S3 server this project did not write, started in-process on loopback, so the job's S3 code
 * can be checked against a store that differs from S3 (and from the built-in emulator) in ways
 * nobody here chose: `@20minutes/s3rver`, the maintained fork of s3rver (Koa, files on disk).
 *
 * Why this one: it is on the npm registry, pure JavaScript (no binary to download), runs
 * in-process, and its 4.x line declares `node >=20` with current dependencies; the original
 * `s3rver` (3.7.1) depends on koa 2 / busboy 0.3 / fast-xml-parser 3 era packages, and 5.x of
 * the fork needs Node 24. What it honours is characterised in `third-party-s3.integ.test.ts`.
 *
 * Two settings are needed for the AWS SDK v3 to talk to it:
 * - `allowMismatchedSignatures`: the SDK signs bucket-level paths as `/bucket/`, s3rver
 *   canonicalises them as `/bucket`, so every bucket-level request (CreateBucket, ListObjectsV2,
 *   DeleteObjects) fails with `SignatureDoesNotMatch` otherwise. Signatures are then not checked,
 *   as the built-in emulator does not check them either.
 * - `requestChecksumCalculation` / `responseChecksumValidation: "WHEN_REQUIRED"` on the client:
 *   with the SDK's default, a streamed body is sent `aws-chunked` with a checksum trailer
 *   (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`), which s3rver refuses with 400
 *   `InvalidArgument`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

/** The npm package started by {@link startThirdPartyS3}. */
export const THIRD_PARTY_S3_PACKAGE = "@20minutes/s3rver";

/** Credentials s3rver's default account knows. */
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** The part of s3rver's API used here (the package ships no type declarations). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly httpServer?: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  allowMismatchedSignatures: boolean;
  vhostBuckets: boolean;
}) => S3rverInstance;

/** A running third-party S3 server and a client for it. */
export interface ThirdPartyS3 {
  /** The npm package name, e.g. "@20minutes/s3rver". */
  readonly name: string;
  /** The installed version of the package. */
  readonly version: string;
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Path-style, us-east-1, static credentials, checksums only when required; closed by `stop`. */
  readonly s3: S3Client;
  /** Another client with the same settings, `config` on top; closed by `stop`. */
  createS3Client(config?: S3ClientConfig): S3Client;
  /** Destroys the clients, closes every connection, stops the server, deletes its files. */
  stop(): Promise<void>;
}

/**
 * Starts the third-party S3 server on 127.0.0.1 with a free port and a fresh directory.
 * Resolves to `{ skip }` with the reason only when it cannot start here (package missing,
 * no loopback port).
 *
 * @example
 * ```ts
 * const started = await startThirdPartyS3();
 * if ("skip" in started) return ctx.skip(started.skip);
 * await started.s3.send(new CreateBucketCommand({ Bucket: "data" }));
 * await started.stop();
 * ```
 */
export async function startThirdPartyS3(): Promise<ThirdPartyS3 | { skip: string }> {
  const require = createRequire(import.meta.url);
  let S3rver: S3rverConstructor;
  let version: string;
  try {
    S3rver = require(THIRD_PARTY_S3_PACKAGE) as S3rverConstructor;
    version = (require(`${THIRD_PARTY_S3_PACKAGE}/package.json`) as { version: string }).version;
  } catch (error) {
    return { skip: `${THIRD_PARTY_S3_PACKAGE} cannot be loaded: ${messageOf(error)}` };
  }
  const directory = await mkdtemp(join(tmpdir(), "rekey-third-party-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    return { skip: `${THIRD_PARTY_S3_PACKAGE} ${version} did not start on 127.0.0.1: ${messageOf(error)}` };
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  const createS3Client = (config: S3ClientConfig = {}): S3Client => {
    const client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: CREDENTIALS,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...config,
    });
    clients.push(client);
    return client;
  };
  const s3 = createS3Client();
  let stopping: Promise<void> | undefined;
  return {
    name: THIRD_PARTY_S3_PACKAGE,
    version,
    endpoint,
    s3,
    createS3Client,
    stop: () => {
      stopping ??= (async () => {
        for (const client of clients) client.destroy();
        // close() waits for keep-alive connections to end by themselves; end them now.
        server.httpServer?.closeAllConnections();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
