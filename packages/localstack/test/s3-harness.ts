/**
 * A loopback HTTP server around the emulator's S3 service, for tests that need the emulator
 * itself (fault injection, memory use, raw requests), and an S3 client pointed at it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import type { EmulatorClock, FaultGate, InjectedFault } from "../src/emulator/contracts.js";
import { createS3Service } from "../src/emulator/s3/index.js";

/** A clock tests can move. */
export class TestClock implements EmulatorClock {
  constructor(private time = Date.UTC(2025, 0, 15, 12, 0, 0)) {}
  now(): Date {
    return new Date(this.time);
  }
  async advance(ms: number): Promise<void> {
    this.time += ms;
  }
}

/** A fault gate that fails the next `n` matching calls with a given error, and records every call. */
export class StubFaultGate implements FaultGate {
  readonly calls: string[] = [];
  private plan: { operation?: string; remaining: number; fault: InjectedFault } | undefined;

  failNext(n: number, fault: InjectedFault & { kind: "error" }, operation?: string): void {
    this.plan = { remaining: n, fault, ...(operation === undefined ? {} : { operation }) };
  }

  async before(service: "kms" | "s3", operation: string): Promise<InjectedFault> {
    this.calls.push(`${service}:${operation}`);
    const plan = this.plan;
    if (
      plan !== undefined &&
      plan.remaining > 0 &&
      (plan.operation === undefined || plan.operation === operation)
    ) {
      plan.remaining--;
      return plan.fault;
    }
    return { kind: "none" };
  }
}

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A running emulator S3 on loopback. */
export interface S3Harness {
  readonly endpoint: string;
  readonly client: S3Client;
  readonly faults: StubFaultGate;
  readonly clock: TestClock;
  readonly dataDir: string;
  /** Every request received, in order: method, URL and headers as the server saw them. */
  readonly requests: RecordedRequest[];
  /** A client with other options (e.g. no retries), closed with the harness. */
  newClient(config?: Partial<S3ClientConfig>): S3Client;
  close(): Promise<void>;
}

/** Starts the S3 service on an ephemeral loopback port. */
export async function startS3Harness(): Promise<S3Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), "rekey-s3-test-"));
  const faults = new StubFaultGate();
  const clock = new TestClock();
  const service = createS3Service({ dataDir, faults, clock });
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    void service.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  const newClient = (config: Partial<S3ClientConfig> = {}): S3Client => {
    const client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      ...config,
    });
    clients.push(client);
    return client;
  };
  const client = newClient();
  return {
    endpoint,
    client,
    faults,
    clock,
    dataDir,
    requests,
    newClient,
    async close() {
      for (const c of clients) c.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
