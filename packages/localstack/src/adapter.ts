/**
 * One KMS and one S3 endpoint for tests, whatever the machine offers.
 *
 * Backend selection, in order (the choice is logged once, one line on stderr):
 * 1. `env`: an endpoint from `REKEY_TEST_ENDPOINT` or `AWS_ENDPOINT_URL`;
 * 2. `localstack`: LocalStack (`localstack/localstack:4.14.0`) through `@testcontainers/localstack`,
 *    when a container runtime answers a short probe;
 * 3. `builtin`: the built-in emulator on 127.0.0.1 with a free port.
 * `REKEY_TEST_BACKEND=env|localstack|builtin` forces one; a forced backend that is not available
 * is a {@link LocalAwsError}, never a silent fallback (a CI job that asked for LocalStack must not
 * pass on the emulator).
 *
 * Under the vitest global setup (`REKEY_TEST_BROKER` set), steps 2 and 3 are decided once for the
 * whole run by its broker: one probe, at most one LocalStack container, shared by every test file
 * (see `shared-backend.ts`). Without it, each process decides for itself.
 *
 * Backends differ; `capabilities` says what this one supports, so a test skips on that backend
 * only, with the reason, instead of failing or being skipped everywhere.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { KMSClient, type KMSClientConfig } from "@aws-sdk/client-kms";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { ManualClock } from "./emulator/clock.js";
import type { FaultInjector } from "./emulator/faults.js";
import type { KmsInspector } from "./emulator/kms/inspector.js";
import type { S3EmulatorControl } from "./emulator/s3/index.js";
import { startEmulator } from "./emulator/server.js";
import { LocalAwsError, messageOf } from "./errors.js";
import { acquireLocalstack, LOCALSTACK_IMAGE, whyNoLocalstack } from "./localstack.js";
import { askBroker, BROKER_VARIABLE } from "./shared-backend.js";

/** Where the endpoint comes from. */
export type LocalAwsBackend = "env" | "localstack" | "builtin";

/** A feature some backends lack. */
export type LocalAwsCapability =
  | "listKeyRotations"
  | "keyMaterialIdInResponses"
  | "faults"
  | "clock"
  | "kmsDryRun"
  | "reEncryptIncorrectKey"
  | "s3ConcurrentConditionalWrites"
  | "s3CompleteMultipartIfMatch"
  | "s3BucketBehavior";

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
  /**
   * `DryRun: true` is honoured (checks run, nothing happens, `DryRunOperationException`) on
   * Encrypt, Decrypt, ReEncrypt, GenerateDataKey* and CreateGrant.
   */
  readonly kmsDryRun: boolean;
  /** ReEncrypt with a `SourceKeyId` other than the blob's key is `IncorrectKeyException`. */
  readonly reEncryptIncorrectKey: boolean;
  /** Conditional writes racing on one key are decided atomically: exactly one wins. */
  readonly s3ConcurrentConditionalWrites: boolean;
  /** CompleteMultipartUpload honours `If-Match` (`If-None-Match` is available everywhere). */
  readonly s3CompleteMultipartIfMatch: boolean;
  /**
   * `s3Control` is present: a bucket can be made to ignore conditional headers or lack
   * UploadPartCopy, and listeners can run before each S3 operation.
   */
  readonly s3BucketBehavior: boolean;
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
  /**
   * Per-bucket S3 behaviour modes and listeners before each S3 operation; built-in emulator
   * only (capability `s3BucketBehavior`).
   */
  readonly s3Control?: S3EmulatorControl;
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
   * How long to wait for a container runtime to answer before falling through to the emulator
   * (under the vitest global setup, the first test file's value is used for the whole run).
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
   * @default one line to stderr: once per run when the vitest global setup decided it, else
   * once per process and backend
   */
  log?: ((line: string) => void) | false;
}

/**
 * How long a forced env endpoint has to answer (any HTTP answer will do) before
 * {@link startLocalAws} gives up with `ENDPOINT_UNREACHABLE`.
 */
export const ENDPOINT_PROBE_TIMEOUT_MS = 5000;

const CREDENTIALS: LocalAwsCredentials = { accessKeyId: "test", secretAccessKey: "test" };
const BACKENDS: readonly LocalAwsBackend[] = ["env", "localstack", "builtin"];

const FULL: LocalAwsCapabilities = {
  listKeyRotations: true,
  keyMaterialIdInResponses: true,
  faults: true,
  clock: true,
  kmsDryRun: true,
  reEncryptIncorrectKey: true,
  s3ConcurrentConditionalWrites: true,
  s3CompleteMultipartIfMatch: true,
  s3BucketBehavior: true,
  onDemandRotationLimit: 25,
};

const LOCALSTACK_LIKE: LocalAwsCapabilities = {
  listKeyRotations: false,
  keyMaterialIdInResponses: false,
  faults: false,
  clock: false,
  kmsDryRun: false,
  reEncryptIncorrectKey: false,
  s3ConcurrentConditionalWrites: false,
  s3CompleteMultipartIfMatch: false,
  s3BucketBehavior: false,
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
    s3BucketBehavior: `per-bucket S3 behaviour modes and request listeners need the built-in emulator (backend is ${backend})`,
  };
  if (backend === "builtin") return { capabilities: FULL, reasons: {} };
  if (backend === "env" && env["REKEY_TEST_CAPABILITIES"] === "full") {
    return {
      capabilities: { ...FULL, faults: false, clock: false, s3BucketBehavior: false },
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
      // Known gaps of LocalStack's KMS provider: DryRun was left as a to-do on Encrypt,
      // Decrypt and GenerateDataKey* and added piecemeal (GenerateDataKeyPair only in 2025).
      kmsDryRun: `${who} does not honour DryRun on every KMS operation that has it (a dry run may perform the call)`,
      // Its ReEncrypt is recent (2025) and not known to check SourceKeyId against the blob.
      reEncryptIncorrectKey: `${who} is not known to refuse a ReEncrypt SourceKeyId other than the blob's key with IncorrectKeyException`,
      // Its S3 checks a precondition before storing the body, not atomically with the write.
      s3ConcurrentConditionalWrites: `${who} does not decide racing conditional writes atomically (more than one may win)`,
      // Its S3 added If-None-Match on CompleteMultipartUpload with S3's 2024 launch; If-Match
      // there is not known to be honoured.
      s3CompleteMultipartIfMatch: `${who} is not known to honour If-Match on CompleteMultipartUpload`,
    },
  };
}

const logged = new Set<string>();

/**
 * Reports the backend choice. `shared` choices were already reported once for the whole run by
 * the broker, so only an explicit `log` function hears of them again.
 */
function report(
  options: StartLocalAwsOptions,
  backend: LocalAwsBackend,
  line: string,
  shared: boolean,
): void {
  if (options.log === false) return;
  if (options.log !== undefined) {
    options.log(line);
    return;
  }
  if (shared || logged.has(backend)) return;
  logged.add(backend);
  process.stderr.write(`${line}\n`);
}

interface Started {
  endpoint: string;
  why: string;
  stop: () => Promise<void>;
  /** Decided (and reported) by the run's broker. */
  shared?: boolean;
  faults?: FaultInjector;
  clock?: ManualClock;
  emulator?: KmsInspector;
  s3Control?: S3EmulatorControl;
}

/** LocalStack, or why there is none (the caller falls through to the emulator, or fails). */
type LocalstackLookup =
  | { found: Started }
  | { missing: string; code: "NO_CONTAINER_LIBRARY" | "NO_CONTAINER_RUNTIME"; shared: boolean };

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
    // Forced, the endpoint must be there: a CI job that asked for it must not run against nothing.
    if (forced === "env") await requireAnswer(envEndpoint);
    backend = "env";
    started = { endpoint: envEndpoint, why: "endpoint from the environment", stop: async () => {} };
  } else if (forced === "builtin") {
    backend = "builtin";
    started = await startBuiltin(region, options, env, "forced by REKEY_TEST_BACKEND");
  } else {
    const timeoutMs = options.runtimeProbeTimeoutMs ?? 1500;
    const image = options.localstackImage ?? LOCALSTACK_IMAGE;
    const broker = env[BROKER_VARIABLE] || undefined;
    const lookup =
      broker === undefined
        ? await ownLocalstack(image, timeoutMs)
        : await sharedLocalstack(broker, image, timeoutMs);
    if ("found" in lookup) {
      backend = "localstack";
      started = lookup.found;
    } else if (forced === "localstack") {
      throw new LocalAwsError(lookup.code, `backend localstack was forced but ${lookup.missing}`);
    } else {
      backend = "builtin";
      started = {
        ...(await startBuiltin(region, options, env, lookup.missing)),
        shared: lookup.shared,
      };
    }
  }

  report(
    options,
    backend,
    `[@rekey/localstack] backend ${backend} at ${started.endpoint} (${started.why})`,
    started.shared === true,
  );
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
    ...(started.s3Control === undefined ? {} : { s3Control: started.s3Control }),
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
    s3Control: emulator.s3Control,
  };
}

let runtimeProbe: ReturnType<typeof whyNoLocalstack> | undefined;

/**
 * LocalStack started (or joined) by this process. The runtime probe is cached for the process:
 * another file of the same process would only pay the same wait again.
 */
async function ownLocalstack(image: string, timeoutMs: number): Promise<LocalstackLookup> {
  runtimeProbe ??= whyNoLocalstack(timeoutMs);
  const absent = await runtimeProbe;
  if (absent !== undefined) return { missing: absent.why, code: absent.code, shared: false };
  const lease = await acquireLocalstack(image);
  return {
    found: {
      endpoint: lease.endpoint,
      why: `container runtime answered; ${image}`,
      stop: () => lease.release(),
    },
  };
}

/** The run's LocalStack, as the broker of the vitest global setup decided it. */
async function sharedLocalstack(broker: string, image: string, timeoutMs: number): Promise<LocalstackLookup> {
  const choice = await askBroker(broker, { image, runtimeProbeTimeoutMs: timeoutMs });
  if (choice.backend === "builtin") {
    return { missing: choice.why, code: choice.code ?? "NO_CONTAINER_RUNTIME", shared: true };
  }
  // The container belongs to the run; the global setup's teardown stops it.
  return { found: { endpoint: choice.endpoint, why: choice.why, stop: async () => {}, shared: true } };
}

/**
 * Resolves once `endpoint` gives any HTTP answer.
 *
 * @throws LocalAwsError `ENDPOINT_UNREACHABLE` when it does not within {@link ENDPOINT_PROBE_TIMEOUT_MS}.
 */
async function requireAnswer(endpoint: string): Promise<void> {
  const unreachable = (why: string, cause?: unknown): LocalAwsError =>
    new LocalAwsError(
      "ENDPOINT_UNREACHABLE",
      `backend env was forced but ${endpoint} does not answer: ${why}`,
      cause === undefined ? undefined : { cause },
    );
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw unreachable("not a URL", error);
  }
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { method: "GET", timeout: ENDPOINT_PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve();
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${ENDPOINT_PROBE_TIMEOUT_MS} ms`)));
    req.on("error", (error: Error) => reject(unreachable(messageOf(error), error)));
    req.end();
  });
}
