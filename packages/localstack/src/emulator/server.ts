/**
 * The built-in emulator's HTTP server: KMS and S3 on one loopback port, as AWS endpoints.
 *
 * A request whose `X-Amz-Target` starts with `TrentService.` goes to KMS, everything else to
 * S3 (path-style). Keep-alive connections are safe: every handler reads the whole body before
 * answering. A malformed request gets a 400 and never crashes the process.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "./clock.js";
import type { ServiceHandler } from "./contracts.js";
import { FaultInjector } from "./faults.js";
import { createKmsService } from "./kms/index.js";
import { inspectKms, type KmsInspector } from "./kms/inspector.js";
import { createS3Service, S3Control } from "./s3/index.js";
import type { S3EmulatorControl } from "./s3/index.js";

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * Interface to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Directory for S3 object bytes. The caller owns it: it is not deleted on stop.
   * @default a fresh `fs.mkdtemp` directory under `os.tmpdir()`, deleted on stop
   */
  dataDir?: string;
  /**
   * Seed of the fault injector's generator.
   * @default 1
   */
  seed?: number;
  /**
   * Region in ARNs and in the endpoint's answers.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * Account id in ARNs.
   * @default "000000000000"
   */
  accountId?: string;
  /**
   * How long an on-demand rotation runs before its material becomes current, in milliseconds
   * of emulated time (real time passing, or `clock.advance`). Meanwhile GetKeyRotationStatus
   * reports `OnDemandRotationStartDate` and the key keeps its current material, as with KMS,
   * which rotates in the background. 0 completes the rotation before RotateKeyOnDemand answers.
   * @default 0
   */
  onDemandRotationDelayMs?: number;
}

/** A running emulator. */
export interface RunningEmulator {
  /** `http://host:port`, for both KMS and S3. */
  readonly endpoint: string;
  /** Region of the emulated account. */
  readonly region: string;
  /** Emulated account id. */
  readonly accountId: string;
  /** Where S3 object bytes are kept. */
  readonly dataDir: string;
  /** Injected faults and call counters, per service and operation. */
  readonly faults: FaultInjector;
  /** Emulated time; moving it fires automatic rotations and key deletions. */
  readonly clock: ManualClock;
  /** A read-only view of the KMS state for tests. */
  readonly kms: KmsInspector;
  /**
   * Per-bucket S3 behaviour modes (a bucket that ignores conditional headers or lacks
   * UploadPartCopy) and listeners awaited before each S3 operation.
   */
  readonly s3Control: S3EmulatorControl;
  /** Closes every connection, stops listening and deletes the temporary data directory. */
  stop(): Promise<void>;
}

/**
 * Starts the built-in KMS + S3 emulator on loopback.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator();
 * const kms = new KMSClient({ endpoint: emulator.endpoint, region: emulator.region, credentials });
 * // ...
 * await emulator.stop();
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "000000000000";
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "rekey-emulator-")));

  const clock = new ManualClock();
  const faults = new FaultInjector(options.seed === undefined ? {} : { seed: options.seed });
  const kms = createKmsService({
    faults,
    clock,
    region,
    accountId,
    ...(options.onDemandRotationDelayMs === undefined
      ? {}
      : { onDemandRotationDelayMs: options.onDemandRotationDelayMs }),
  });
  const s3Control = new S3Control();
  const s3 = createS3Service({ dataDir, faults, clock, control: s3Control });
  const services: ServiceHandler[] = [kms, s3];
  const unsubscribe = clock.onAdvance((now) => kms.state.processDue(now));

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const service = services.find((candidate) => candidate.matches(req));
    const handled =
      service === undefined ? Promise.reject(new Error("no service")) : service.handle(req, res);
    handled.catch(() => {
      // Handlers answer their own errors; this is the last resort for a bug in one of them.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "Content-Type": "text/plain", "Content-Length": 14 });
        res.end("internal error");
      } else {
        res.destroy();
      }
    });
  });
  // Bytes that are not HTTP (or headers too large) never reach a handler: answer 400 and close.
  server.on("clientError", (_error: Error, socket: Socket) => {
    if (socket.writable && !socket.destroyed) {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    } else {
      socket.destroy();
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    unsubscribe();
    await Promise.allSettled(services.map((service) => service.close()));
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unsubscribe();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.allSettled(services.map((service) => service.close()));
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return {
    endpoint,
    region,
    accountId,
    dataDir,
    faults,
    clock,
    kms: inspectKms(kms.state),
    s3Control,
    stop,
  };
}
