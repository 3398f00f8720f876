/**
 * Contracts shared by the built-in emulator's pieces (HTTP server, KMS, S3, faults, clock).
 * Each service handler identifies the operation of a request, asks the fault injector whether
 * to fail or delay it, then answers in its own wire protocol.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** The emulator's clock. Tests advance it to make automatic key rotations come due. */
export interface EmulatorClock {
  /** Current emulated time. */
  now(): Date;
  /** Moves emulated time forward and fires whatever became due (e.g. automatic rotations). */
  advance(ms: number): Promise<void>;
}

/** What the fault injector decided for one request. */
export type InjectedFault =
  { kind: "error"; status: number; code: string; message: string } | { kind: "none" };

/** Decides, per service and operation, whether a request is delayed, throttled or failed. */
export interface FaultGate {
  /**
   * Called by a handler once it knows the operation (e.g. `("kms", "ReEncrypt")`,
   * `("s3", "PutObject")`). Resolves after any injected latency; the handler must answer with
   * the returned error in its own protocol when `kind === "error"`.
   */
  before(service: "kms" | "s3", operation: string): Promise<InjectedFault>;
}

/** One AWS service spoken over HTTP by the emulator. */
export interface ServiceHandler {
  /** True if this request belongs to the service (KMS: `X-Amz-Target: TrentService.*`). */
  matches(req: IncomingMessage): boolean;
  /** Answers the request completely; never throws (errors become protocol errors). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Releases resources (files, timers). */
  close(): Promise<void>;
}
