/**
 * One backend decision for a whole test run. Vitest runs every test file in a fresh module
 * registry (and, with the `forks` pool, a fresh process), so anything a test process caches —
 * the container-runtime probe, a started LocalStack container — is paid again by every file.
 * The vitest global setup therefore starts this broker once per run, in the main process, and
 * publishes its URL to every test process in `REKEY_TEST_BROKER`; `startLocalAws` asks it instead
 * of probing and starting containers itself.
 *
 * The broker answers lazily: the first test process that needs a backend makes it probe the
 * container runtime and, if one answers, start LocalStack; a run of unit tests only starts
 * nothing. The container lives until the run ends (the global setup's teardown).
 *
 * The built-in emulator is not shared: its fault injector, call counters and clock are objects
 * of the process that started it, and tests rely on a fresh account whose counters and clock
 * no other file moves. When the answer is "builtin", each test file starts its own emulator,
 * which takes milliseconds.
 *
 * Protocol: `POST <url>` with `{"image", "runtimeProbeTimeoutMs"}`; the answer is
 * `{"ok": true, "choice": {...}}` or `{"ok": false, "code", "message"}` (a {@link LocalAwsError}).
 * The URL carries a random token, so other local processes cannot make it start containers.
 */
import { randomBytes } from "node:crypto";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LOCAL_AWS_ERROR_CODES, LocalAwsError, messageOf, type LocalAwsErrorCode } from "./errors.js";
import { acquireLocalstack, whyNoLocalstack, type LocalstackLease } from "./localstack.js";

/** The variable through which the global setup hands the broker's URL to test processes. */
export const BROKER_VARIABLE = "REKEY_TEST_BROKER";

/** What the broker decided for the run. */
export type SharedChoice =
  | { readonly backend: "localstack"; readonly endpoint: string; readonly why: string }
  | {
      readonly backend: "builtin";
      readonly why: string;
      /** Why not LocalStack: its libraries are not installed, or no container runtime answered. */
      readonly code?: "NO_CONTAINER_LIBRARY" | "NO_CONTAINER_RUNTIME";
    };

/** What a test process asks the broker. */
export interface BrokerRequest {
  /** The LocalStack image it would start. */
  readonly image: string;
  /** How long the runtime probe may take (the first request's value is used). */
  readonly runtimeProbeTimeoutMs: number;
}

/** A running broker. */
export interface BackendBroker {
  /** `http://127.0.0.1:<port>/<token>`, the value of {@link BROKER_VARIABLE}. */
  readonly url: string;
  /** Stops any container it started and closes the server. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startBackendBroker}. */
export interface BackendBrokerOptions {
  /**
   * Where the run's backend choice is reported, or `false` for silence.
   * @default one line to stderr, once per image
   */
  log?: ((line: string) => void) | false;
}

type BrokerAnswer =
  { ok: true; choice: SharedChoice } | { ok: false; code: LocalAwsErrorCode; message: string };

const MAX_REQUEST_BYTES = 4096;

/**
 * Starts the broker on loopback.
 *
 * @example
 * ```ts
 * const broker = await startBackendBroker();
 * process.env[BROKER_VARIABLE] = broker.url; // before the test processes start
 * // ... the run ...
 * await broker.close();
 * ```
 */
export async function startBackendBroker(options: BackendBrokerOptions = {}): Promise<BackendBroker> {
  const token = randomBytes(16).toString("hex");
  const decisions = new Map<string, Promise<SharedChoice>>();
  const leases: LocalstackLease[] = [];
  const log =
    options.log === false
      ? () => {}
      : (options.log ?? ((line: string) => void process.stderr.write(`${line}\n`)));

  const decide = (ask: BrokerRequest): Promise<SharedChoice> => {
    let decision = decisions.get(ask.image);
    if (decision === undefined) {
      decision = (async (): Promise<SharedChoice> => {
        // Probed once per image and run: the decision itself is what is kept.
        const absent = await whyNoLocalstack(ask.runtimeProbeTimeoutMs);
        if (absent !== undefined) {
          return {
            backend: "builtin",
            why: `${absent.why}; one built-in emulator per test file`,
            code: absent.code,
          };
        }
        const lease = await acquireLocalstack(ask.image);
        leases.push(lease);
        return {
          backend: "localstack",
          endpoint: lease.endpoint,
          why: `container runtime answered; ${ask.image}, one container for the whole run`,
        };
      })();
      decisions.set(ask.image, decision);
      decision.then(
        (choice) =>
          log(
            `[@rekey/localstack] backend ${choice.backend}${choice.backend === "localstack" ? ` at ${choice.endpoint}` : ""} (${choice.why})`,
          ),
        (error: unknown) => log(`[@rekey/localstack] ${messageOf(error)}`),
      );
    }
    return decision;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void answer(req, res);
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: BrokerAnswer | { error: string }): void => {
      const bytes = Buffer.from(JSON.stringify(body));
      res.writeHead(status, { "content-type": "application/json", "content-length": bytes.length });
      res.end(bytes);
    };
    try {
      const body = await readSmall(req);
      if (req.method !== "POST" || req.url !== `/${token}`) return reply(404, { error: "not found" });
      const ask = parseRequest(body);
      if (ask === undefined) return reply(400, { error: "expected {image, runtimeProbeTimeoutMs}" });
      reply(200, { ok: true, choice: await decide(ask) });
    } catch (error) {
      const code = error instanceof LocalAwsError ? error.code : "LOCALSTACK_FAILED";
      if (!res.headersSent) reply(200, { ok: false, code, message: messageOf(error) });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  // The broker must never keep a finished run alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}/${token}`,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.allSettled([...decisions.values()]);
        await Promise.allSettled(leases.map((lease) => lease.release()));
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * Asks the broker at `url` for the run's backend.
 *
 * @example
 * ```ts
 * const choice = await askBroker(process.env[BROKER_VARIABLE]!, {
 *   image: LOCALSTACK_IMAGE,
 *   runtimeProbeTimeoutMs: 1500,
 * });
 * if (choice.backend === "localstack") console.log(choice.endpoint);
 * ```
 *
 * @throws LocalAwsError with the broker's code when it could not provide one (e.g.
 * `LOCALSTACK_FAILED`), or `LOCALSTACK_FAILED` when the broker itself cannot be reached.
 */
export function askBroker(url: string, ask: BrokerRequest): Promise<SharedChoice> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown): void =>
      reject(
        new LocalAwsError(
          "LOCALSTACK_FAILED",
          `the test run's backend broker did not answer: ${messageOf(error)}`,
          {
            cause: error,
          },
        ),
      );
    // No timeout: the first answer may wait for a LocalStack image to be pulled.
    const req = request(url, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      readSmall(res).then((body) => {
        let parsed: BrokerAnswer;
        try {
          parsed = JSON.parse(body.toString("utf8")) as BrokerAnswer;
        } catch (error) {
          return fail(error);
        }
        if (parsed.ok === true) return resolve(parsed.choice);
        if (parsed.ok === false && (LOCAL_AWS_ERROR_CODES as readonly string[]).includes(parsed.code)) {
          return reject(new LocalAwsError(parsed.code, parsed.message));
        }
        fail(new Error(`unexpected answer (HTTP ${res.statusCode ?? 0})`));
      }, fail);
    });
    req.on("error", fail);
    req.end(JSON.stringify(ask));
  });
}

function parseRequest(body: Buffer): BrokerRequest | undefined {
  try {
    const value = JSON.parse(body.toString("utf8")) as Partial<BrokerRequest>;
    if (typeof value.image !== "string" || typeof value.runtimeProbeTimeoutMs !== "number") return undefined;
    return { image: value.image, runtimeProbeTimeoutMs: value.runtimeProbeTimeoutMs };
  } catch {
    return undefined;
  }
}

function readSmall(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}
