/**
 * The KMS half of the built-in emulator: AWS JSON 1.1 over HTTP, as `@aws-sdk/client-kms`
 * speaks it. `POST /` with `X-Amz-Target: TrentService.<Operation>`; the answer is JSON, and an
 * error is `{"__type": "<ExceptionName>", "message": "..."}` with HTTP 400 (500 or 503 for
 * `KMSInternalException`, `KeyUnavailableException`, `DependencyTimeoutException`), which the
 * client maps onto its exception classes.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorClock, FaultGate, ServiceHandler } from "../contracts.js";
import { readBody } from "../http.js";
import { KmsError, serialization } from "./errors.js";
import type { JsonObject } from "./input.js";
import { KMS_OPERATIONS as OPERATIONS } from "./operations/all.js";
import { KmsState } from "./state.js";

const TARGET_PREFIX = "TrentService.";
// KMS requests are small (4 KiB plaintext, 6 KiB ciphertext, 32 KiB policy); anything much
// larger is a client bug or hostile input and is refused without buffering it.
const MAX_BODY = 256 * 1024;

/** Options of {@link createKmsService}. */
export interface KmsServiceOptions {
  /** Decides injected failures and latency, and counts calls. */
  faults: FaultGate;
  /** Emulated time; automatic rotations and key deletions follow it. */
  clock: EmulatorClock;
  /**
   * Region in ARNs.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * Account id in ARNs.
   * @default "000000000000"
   */
  accountId?: string;
  /**
   * How long an on-demand rotation runs, in milliseconds of emulated time (see `state.ts`).
   * @default 0 (RotateKeyOnDemand completes the rotation before it answers)
   */
  onDemandRotationDelayMs?: number;
}

/** The KMS {@link ServiceHandler}, with its state open to tests. */
export interface KmsService extends ServiceHandler {
  /** The emulated account: keys, materials, aliases. */
  readonly state: KmsState;
  /** Names of the operations the emulator implements. */
  readonly operations: readonly string[];
}

/**
 * Creates the emulator's KMS.
 *
 * @example
 * ```ts
 * const kms = createKmsService({ faults: new FaultInjector(), clock: new ManualClock() });
 * http.createServer((req, res) => void kms.handle(req, res));
 * ```
 */
export function createKmsService(options: KmsServiceOptions): KmsService {
  const state = new KmsState({
    region: options.region ?? "us-east-1",
    accountId: options.accountId ?? "000000000000",
    clock: options.clock,
    ...(options.onDemandRotationDelayMs === undefined
      ? {}
      : { onDemandRotationDelayMs: options.onDemandRotationDelayMs }),
  });
  const { faults } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const { body, tooLarge } = await readBody(req, MAX_BODY);
      // Automatic rotations and deletions become due by the clock; apply them before anything
      // reads the state, so every answer reflects the emulated present.
      state.processDue();
      const target = req.headers["x-amz-target"];
      const name =
        typeof target === "string" && target.startsWith(TARGET_PREFIX)
          ? target.slice(TARGET_PREFIX.length)
          : "";
      const operation = OPERATIONS.get(name);
      if (req.method !== "POST" || operation === undefined) {
        throw new KmsError(
          "UnknownOperationException",
          operation === undefined
            ? `Operation ${name || "(none)"} is not supported by the emulator`
            : "KMS takes POST /",
        );
      }
      const fault = await faults.before("kms", name);
      if (fault.kind === "error") throw new KmsError(fault.code, fault.message, fault.status);
      if (tooLarge) throw serialization(`Request body larger than ${MAX_BODY} bytes`);
      send(res, 200, requestId, operation(parseBody(body), state));
    } catch (error) {
      if (error instanceof KmsError) {
        send(res, error.status, requestId, {
          __type: error.code,
          ...(error.hasMessage ? { message: error.message } : {}),
        });
      } else {
        // A bug of the emulator: answered as KMS answers its own internal errors.
        send(res, 500, requestId, { __type: "KMSInternalException", message: String(error) });
      }
    }
  }

  return {
    state,
    operations: [...OPERATIONS.keys()],
    matches: (req) => {
      const target = req.headers["x-amz-target"];
      return typeof target === "string" && target.startsWith(TARGET_PREFIX);
    },
    handle,
    close: async () => {},
  };
}

function parseBody(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw serialization("Request body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw serialization("Request body must be a JSON object");
  }
  return parsed as JsonObject;
}

function send(res: ServerResponse, status: number, requestId: string, payload: JsonObject): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, {
    "Content-Type": "application/x-amz-json-1.1",
    "Content-Length": body.length,
    "x-amzn-RequestId": requestId,
  });
  res.end(body);
}
