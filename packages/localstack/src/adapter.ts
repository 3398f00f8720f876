/**
 * One KMS and one S3 endpoint for tests, whatever the machine offers.
 *
 * Backend selection, in order (the choice is logged once per process, one line on stderr):
 * 1. `env`: an endpoint from `REKEY_TEST_ENDPOINT` or `AWS_ENDPOINT_URL`;
 * 2. `localstack`: LocalStack (`localstack/localstack:4.14.0`) through `@testcontainers/localstack`,
 *    when a container runtime answers a short probe;
 * 3. `builtin`: the built-in emulator on 127.0.0.1 with a free port.
 * `REKEY_TEST_BACKEND=env|localstack|builtin` forces one; a forced backend that is not available
 * is an error, never a silent fallback (a CI job that asked for LocalStack must not pass on the
 * emulator).
 *
 * Backends differ; `capabilities` says what this one supports, so a test skips on that backend
 * only, with the reason, instead of failing or being skipped everywhere.
 */
import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { ManualClock } from "./emulator/clock.js";
import type { FaultInjector } from "./emulator/faults.js";
import type { KmsInspector } from "./emulator/kms/inspector.js";
import { startEmulator } from "./emulator/server.js";

/** Where the endpoint comes from. */
export type LocalAwsBackend = "env" | "localstack" | "builtin";

/** A feature some backends lack. */
export type LocalAwsCapability = "listKeyRotations" | "keyMaterialIdInResponses" | "faults" | "clock";

/** What the chosen backend supports. */
export interface LocalAwsCapabilities {
  /** `ListKeyRotations` works (LocalStack 4.14 answers 501). */
  readonly listKeyRotations: boolean;
  /**
   * `KeyMaterialId` in GenerateDataKey*, Decrypt and ReEncrypt answers (LocalStack 4.14 sends
   * none; `CurrentKeyMaterialId` in DescribeKey is available everywhere).
   */
  readonly keyMaterialIdInResponses: boolean;
  /** `faults` is present: throttling, latency, 5xx and call counters can be injected. */
  readonly faults: boolean;
  /** `clock` is present: emulated time can be advanced to fire automatic rotation. */
  readonly clock: boolean;
  /** On-demand rotations allowed per key (AWS 25, LocalStack 10). */
  readonly onDemandRotationLimit: number;
}

/** Static credentials for test endpoints (LocalStack and the emulator accept any). */
export interface LocalAwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A running test backend and clients pointed at it. */
export interface LocalAws {
  /** Endpoint for both KMS and S3, e.g. `http://127.0.0.1:39201`. */
  readonly endpoint: string;
  /** Region the clients use. */
  readonly region: string;
  /** Static test credentials. */
  readonly credentials: LocalAwsCredentials;
  /** A KMS client for the endpoint, with the SDK's default retries. */
  readonly kms: KMSClient;
  /** An S3 client for the endpoint, path-style. */
  readonly s3: S3Client;
  /** Which backend was chosen. */
  readonly backend: LocalAwsBackend;
  /** Fault injection and call counters; built-in emulator only. */
  readonly faults?: FaultInjector;
  /** The emulated clock; built-in emulator only. */
  readonly clock?: ManualClock;
  /** A read-only view of the emulated KMS state; built-in emulator only. */
  readonly emulator?: KmsInspector;
  /** What this backend supports. */
  readonly capabilities: LocalAwsCapabilities;
  /** Why this backend lacks a capability, or `undefined` when it has it. */
  missing(capability: LocalAwsCapability): string | undefined;
  /** A further KMS client for the endpoint, e.g. `{ maxAttempts: 1 }` to see injected faults. */
  createKmsClient(config?: KMSClientConfig): KMSClient;
  /** A further S3 client for the endpoint (path-style unless overridden). */
  createS3Client(config?: S3ClientConfig): S3Client;
  /** Destroys the clients and stops whatever this call started. */
  stop(): Promise<void>;
}

/** Options of {@link startLocalAws}. */
export interface StartLocalAwsOptions {
  /**
   * Forces a backend.
   * @default `REKEY_TEST_BACKEND`, else the first available in the order env, localstack, builtin
   */
  backend?: LocalAwsBackend;
  /**
   * Environment to read the `REKEY_TEST_*` and `AWS_*` variables from.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Region of the clients (and of the emulator's ARNs).
   * @default `REKEY_TEST_REGION`, else `AWS_REGION`, else "us-east-1"
   */
  region?: string;
  /**
   * Seed of the built-in emulator's fault injector.
   * @default 1
   */
  seed?: number;
  /**
   * How long an on-demand rotation of the built-in emulator runs before its material becomes
   * current (milliseconds of emulated time). Meanwhile GetKeyRotationStatus reports
   * `OnDemandRotationStartDate`, as KMS does while it rotates in the background. Code that
   * waits for a rotation should be tested with a non-zero delay.
   * @default `REKEY_TEST_ON_DEMAND_ROTATION_DELAY_MS`, else 0 (the rotation completes before
   * RotateKeyOnDemand answers)
   */
  onDemandRotationDelayMs?: number;
  /**
   * How long to wait for a container runtime to answer before falling through to the emulator.
   * @default 1500
   */
  runtimeProbeTimeoutMs?: number;
  /**
   * LocalStack image. Later images need an auth token; change with care.
   * @default "localstack/localstack:4.14.0"
   */
  localstackImage?: string;
  /**
   * Where the backend choice is reported, or `false` for silence.
   * @default one line to stderr, once per process and backend
   */
  log?: ((line: string) => void) | false;
}

/** Why {@link startLocalAws} could not provide the backend that was asked for. */
export class LocalAwsError extends Error {
  /** Stable reason code. */
  readonly code: "BAD_BACKEND" | "BAD_VARIABLE" | "NO_ENDPOINT" | "NO_CONTAINER_RUNTIME";

  constructor(code: LocalAwsError["code"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LocalAwsError";
    this.code = code;
  }
}

/** The LocalStack image the project pins (later images need an auth token). */
export const LOCALSTACK_IMAGE = "localstack/localstack:4.14.0";

const CREDENTIALS: LocalAwsCredentials = { accessKeyId: "test", secretAccessKey: "test" };
const BACKENDS: readonly LocalAwsBackend[] = ["env", "localstack", "builtin"];

const FULL: LocalAwsCapabilities = {
  listKeyRotations: true,
  keyMaterialIdInResponses: true,
  faults: true,
  clock: true,
  onDemandRotationLimit: 25,
};

const LOCALSTACK_LIKE: LocalAwsCapabilities = {
  listKeyRotations: false,
  keyMaterialIdInResponses: false,
  faults: false,
  clock: false,
  onDemandRotationLimit: 10,
};

/** The capabilities and the reasons behind each gap, per backend. */
function describeBackend(
  backend: LocalAwsBackend,
  env: Readonly<Record<string, string | undefined>>,
): { capabilities: LocalAwsCapabilities; reasons: Partial<Record<LocalAwsCapability, string>> } {
  const emulatorOnly = {
    faults: `fault injection needs the built-in emulator (backend is ${backend})`,
    clock: `an advanceable clock needs the built-in emulator (backend is ${backend})`,
  };
  if (backend === "builtin") return { capabilities: FULL, reasons: {} };
  if (backend === "env" && env["REKEY_TEST_CAPABILITIES"] === "full") {
    return {
      capabilities: { ...FULL, faults: false, clock: false },
      reasons: emulatorOnly,
    };
  }
  const who =
    backend === "localstack"
      ? "LocalStack 4.14"
      : "the endpoint from the environment is taken to be LocalStack-like (REKEY_TEST_CAPABILITIES=full says otherwise), and LocalStack 4.14";
  return {
    capabilities: LOCALSTACK_LIKE,
    reasons: {
      ...emulatorOnly,
      listKeyRotations: `${who} does not implement ListKeyRotations (501)`,
      keyMaterialIdInResponses: `${who} sends no KeyMaterialId in GenerateDataKey/Decrypt/ReEncrypt answers`,
    },
  };
}

const logged = new Set<string>();

function report(options: StartLocalAwsOptions, backend: LocalAwsBackend, line: string): void {
  if (options.log === false) return;
  if (options.log !== undefined) {
    options.log(line);
    return;
  }
  if (logged.has(backend)) return;
  logged.add(backend);
  process.stderr.write(`${line}\n`);
}

interface Started {
  endpoint: string;
  why: string;
  stop: () => Promise<void>;
  faults?: FaultInjector;
  clock?: ManualClock;
  emulator?: KmsInspector;
}

/**
 * Starts (or finds) a KMS + S3 endpoint for tests and returns clients pointed at it.
 *
 * @example
 * ```ts
 * const aws = await startLocalAws();
 * const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
 * if (aws.capabilities.clock) await aws.clock!.advance(366 * 86_400_000);
 * await aws.stop();
 * ```
 */
export async function startLocalAws(options: StartLocalAwsOptions = {}): Promise<LocalAws> {
  const env = options.env ?? process.env;
  const region = options.region ?? env["REKEY_TEST_REGION"] ?? env["AWS_REGION"] ?? "us-east-1";
  const forced = options.backend ?? readForcedBackend(env);
  const envEndpoint = env["REKEY_TEST_ENDPOINT"] || env["AWS_ENDPOINT_URL"] || undefined;

  let backend: LocalAwsBackend;
  let started: Started;
  if (forced === "env" || (forced === undefined && envEndpoint !== undefined)) {
    if (envEndpoint === undefined) {
      throw new LocalAwsError("NO_ENDPOINT", "backend env needs REKEY_TEST_ENDPOINT or AWS_ENDPOINT_URL");
    }
    backend = "env";
    started = { endpoint: envEndpoint, why: "endpoint from the environment", stop: async () => {} };
  } else if (forced === "builtin") {
    backend = "builtin";
    started = await startBuiltin(region, options, env, "forced by REKEY_TEST_BACKEND");
  } else {
    const timeoutMs = options.runtimeProbeTimeoutMs ?? 1500;
    const runtime = await containerRuntimeAnswers(timeoutMs);
    if (runtime) {
      backend = "localstack";
      started = await startLocalstack(options.localstackImage ?? LOCALSTACK_IMAGE);
    } else if (forced === "localstack") {
      throw new LocalAwsError(
        "NO_CONTAINER_RUNTIME",
        `backend localstack was forced but no container runtime answered within ${timeoutMs} ms`,
      );
    } else {
      backend = "builtin";
      started = await startBuiltin(
        region,
        options,
        env,
        "no endpoint in the environment, no container runtime",
      );
    }
  }

  report(options, backend, `[@rekey/localstack] backend ${backend} at ${started.endpoint} (${started.why})`);
  const { capabilities, reasons } = describeBackend(backend, env);
  const createKmsClient = (config: KMSClientConfig = {}): KMSClient =>
    new KMSClient({ endpoint: started.endpoint, region, credentials: CREDENTIALS, ...config });
  const createS3Client = (config: S3ClientConfig = {}): S3Client =>
    new S3Client({
      endpoint: started.endpoint,
      region,
      credentials: CREDENTIALS,
      forcePathStyle: true,
      ...config,
    });
  const kms = createKmsClient();
  const s3 = createS3Client();
  let stopping: Promise<void> | undefined;

  return {
    endpoint: started.endpoint,
    region,
    credentials: CREDENTIALS,
    kms,
    s3,
    backend,
    ...(started.faults === undefined ? {} : { faults: started.faults }),
    ...(started.clock === undefined ? {} : { clock: started.clock }),
    ...(started.emulator === undefined ? {} : { emulator: started.emulator }),
    capabilities,
    missing: (capability) => (capabilities[capability] ? undefined : reasons[capability]),
    createKmsClient,
    createS3Client,
    stop: () => {
      stopping ??= (async () => {
        kms.destroy();
        s3.destroy();
        await started.stop();
      })();
      return stopping;
    },
  };
}

function readForcedBackend(env: Readonly<Record<string, string | undefined>>): LocalAwsBackend | undefined {
  const value = env["REKEY_TEST_BACKEND"];
  if (value === undefined || value === "") return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new LocalAwsError(
      "BAD_BACKEND",
      `REKEY_TEST_BACKEND must be one of ${BACKENDS.join(", ")}, got "${value}"`,
    );
  }
  return value as LocalAwsBackend;
}

/** A non-negative integer from an environment variable, or `undefined` when it is unset. */
function readCount(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LocalAwsError("BAD_VARIABLE", `${name} must be a non-negative integer, got "${text}"`);
  }
  return value;
}

async function startBuiltin(
  region: string,
  options: StartLocalAwsOptions,
  env: Readonly<Record<string, string | undefined>>,
  why: string,
): Promise<Started> {
  const delay = options.onDemandRotationDelayMs ?? readCount(env, "REKEY_TEST_ON_DEMAND_ROTATION_DELAY_MS");
  const emulator = await startEmulator({
    region,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(delay === undefined ? {} : { onDemandRotationDelayMs: delay }),
  });
  return {
    endpoint: emulator.endpoint,
    why,
    stop: () => emulator.stop(),
    faults: emulator.faults,
    clock: emulator.clock,
    emulator: emulator.kms,
  };
}

let runtimeProbe: Promise<boolean> | undefined;

/**
 * Asks testcontainers whether a container runtime (Docker, Podman...) answers. The answer is
 * cached for the process: every test file would otherwise pay the probe again.
 */
function containerRuntimeAnswers(timeoutMs: number): Promise<boolean> {
  runtimeProbe ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import("testcontainers");
      const probe = getContainerRuntimeClient().then(
        () => true,
        () => false,
      );
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
      });
      const answer = await Promise.race([probe, timeout]);
      clearTimeout(timer);
      return answer;
    } catch {
      return false;
    }
  })();
  return runtimeProbe;
}

interface SharedContainer {
  started: Promise<{ endpoint: string; stop: () => Promise<unknown> }>;
  users: number;
}

const containers = new Map<string, SharedContainer>();

/**
 * Starts LocalStack, or joins the container this process already started: a container takes
 * seconds to boot, so test files in one worker share it, and the last user stops it.
 */
async function startLocalstack(image: string): Promise<Started> {
  let shared = containers.get(image);
  if (shared === undefined) {
    const started = (async () => {
      const { LocalstackContainer } = await import("@testcontainers/localstack");
      const container = await new LocalstackContainer(image).withEnvironment({ SERVICES: "kms,s3" }).start();
      return { endpoint: container.getConnectionUri(), stop: () => container.stop() };
    })();
    shared = { started, users: 0 };
    containers.set(image, shared);
    started.catch(() => containers.delete(image));
  }
  shared.users += 1;
  const entry = shared;
  let container: Awaited<SharedContainer["started"]>;
  try {
    container = await entry.started;
  } catch (error) {
    entry.users -= 1;
    throw error;
  }
  let released = false;
  return {
    endpoint: container.endpoint,
    why: `container runtime answered; ${image}`,
    stop: async () => {
      if (released) return;
      released = true;
      entry.users -= 1;
      if (entry.users === 0) {
        containers.delete(image);
        await container.stop();
      }
    },
  };
}
