/**
 * Fault injection for the built-in emulator: throttling, latency, 5xx and a request-rate cap,
 * per service and operation, reproducible from a seed.
 *
 * Every request passes through {@link FaultInjector.before} once its handler knows the
 * operation. The injector counts the call, then applies each rule whose target matches, most
 * specific first (`"kms:ReEncrypt"`, then a group such as `"kms:cryptographic"`, then `"kms:*"`,
 * then `"*"`):
 *
 * 1. latency: the delays of all matching rules add up and are waited before anything else;
 * 2. rate cap: a rule with `maxRequestsPerSecond` admits at most that many matching requests in
 *    any sliding second of real time; the rest are throttled. A rule has one window for every
 *    operation it matches, so `"kms:cryptographic"` is KMS's shared per-account quota of the
 *    cryptographic operations (Encrypt, Decrypt, GenerateDataKey*, ReEncrypt, GenerateRandom,
 *    GenerateMac, VerifyMac), which DescribeKey, CreateKey and the other calls do not use;
 * 3. failure fraction: each matching rule with a non-zero `errorRate` draws one number from the
 *    seeded generator, and fails the request when the draw falls under the rate.
 *
 * The first rule that fails a request decides the error. Draws happen in arrival order, so a
 * sequential test sees the same failures on every run with the same seed.
 */
import type { FaultGate, InjectedFault } from "./contracts.js";
import { createPrng, type Prng } from "./prng.js";

/** A service spoken by the emulator. */
export type EmulatedService = "kms" | "s3";

/**
 * Named groups of operations a rule can target. `kms:cryptographic` is the set of operations
 * that share KMS's "Cryptographic operations (symmetric) request rate" quota of an account
 * and Region.
 *
 * @example
 * ```ts
 * FAULT_GROUPS["kms:cryptographic"]?.has("ReEncrypt"); // true
 * aws.faults.inject("kms:cryptographic", { maxRequestsPerSecond: 100 });
 * ```
 */
export const FAULT_GROUPS: Readonly<Record<string, ReadonlySet<string>>> = {
  "kms:cryptographic": new Set([
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "ReEncrypt",
    "VerifyMac",
  ]),
};

/**
 * What an injected failure looks like on the wire. KMS answers carry the exception names KMS
 * itself uses, so `@aws-sdk/client-kms` parses them into its modelled classes:
 * - `throttle`: KMS HTTP 400 `ThrottlingException`, S3 HTTP 503 `SlowDown`;
 * - `unavailable`: KMS HTTP 503 `DependencyTimeoutException`, S3 HTTP 503 `ServiceUnavailable`;
 * - `internal`: KMS HTTP 500 `KMSInternalException`, S3 HTTP 500 `InternalError`;
 * - `key-unavailable`: KMS HTTP 500 `KeyUnavailableException` (the key's material cannot be
 *   reached); S3 has no such error and answers as for `internal`;
 * - `not-implemented`: HTTP 501 `NotImplemented`, as LocalStack answers an operation it lacks
 *   (e.g. KMS `ListKeyRotations`), so code paths for a backend without the operation can be
 *   tested here too.
 */
export type FaultErrorKind = "throttle" | "unavailable" | "internal" | "key-unavailable" | "not-implemented";

/**
 * One fault rule, attached to a target such as `"kms:ReEncrypt"`, a group of
 * {@link FAULT_GROUPS} (`"kms:cryptographic"`), `"s3:*"` or `"*"`.
 */
export interface FaultRule {
  /**
   * Fraction of matching requests that fail, from 0 to 1.
   * @default 1 when `error` is given, else 0
   */
  errorRate?: number;
  /**
   * How a failing request fails.
   * @default "throttle"
   */
  error?: FaultErrorKind;
  /**
   * Delay added to every matching request, in milliseconds.
   * @default 0
   */
  latencyMs?: number;
  /**
   * Most matching requests admitted in any sliding second, all matching operations together;
   * the excess is throttled.
   * @default no cap
   */
  maxRequestsPerSecond?: number;
  /**
   * The rule applies to this many matching requests, then removes itself (e.g. "throttle the
   * next two ReEncrypt calls").
   * @default no limit
   */
  times?: number;
}

/** Options of {@link FaultInjector}. */
export interface FaultInjectorOptions {
  /**
   * Seed of the generator that decides which requests fail.
   * @default 1
   */
  seed?: number;
  /**
   * Monotonic real time in milliseconds, for the rate cap's sliding window.
   * @default performance.now
   */
  now?: () => number;
  /**
   * Waits `ms` milliseconds; replaced by tests of the injector itself.
   * @default a `setTimeout` promise
   */
  sleep?: (ms: number) => Promise<void>;
}

interface ActiveRule {
  readonly target: string;
  readonly errorRate: number;
  readonly error: FaultErrorKind;
  readonly latencyMs: number;
  readonly maxRequestsPerSecond: number | undefined;
  remaining: number | undefined;
  /** Real times (ms) of the requests admitted within the last second, oldest first. */
  readonly admitted: number[];
}

const DEFAULT_SEED = 1;
const WINDOW_MS = 1000;

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The emulator's {@link FaultGate}: rules per `service:operation`, call counters, a seed.
 *
 * @example
 * ```ts
 * aws.faults.inject("kms:ReEncrypt", { error: "throttle", errorRate: 0.3 });
 * aws.faults.inject("kms:cryptographic", { maxRequestsPerSecond: 50 }); // the shared quota
 * aws.faults.inject("s3:GetObject", { latencyMs: 20 });
 * // ... run the job ...
 * expect(aws.faults.calls("kms:ReEncrypt")).toBe(objects);
 * aws.faults.reset();
 * ```
 */
export class FaultInjector implements FaultGate {
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #seed: number;
  #random: Prng;
  readonly #rules = new Map<string, ActiveRule>();
  readonly #calls = new Map<string, number>();
  readonly #failures = new Map<string, number>();

  constructor(options: FaultInjectorOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? sleepFor;
    this.#seed = options.seed ?? DEFAULT_SEED;
    this.#random = createPrng(this.#seed);
  }

  /**
   * Sets the rule for a target, replacing any rule already set for the same target.
   *
   * @param target - `"service:Operation"`, a group (`"kms:cryptographic"`), `"service:*"` or `"*"`.
   * @throws RangeError on a malformed target or out-of-range values.
   */
  inject(target: string, rule: FaultRule): void {
    parseTarget(target);
    const errorRate = rule.errorRate ?? (rule.error === undefined ? 0 : 1);
    if (!(errorRate >= 0 && errorRate <= 1))
      throw new RangeError(`errorRate must be in [0, 1], got ${errorRate}`);
    const latencyMs = rule.latencyMs ?? 0;
    if (!(latencyMs >= 0 && Number.isFinite(latencyMs))) {
      throw new RangeError(`latencyMs must be a finite number >= 0, got ${latencyMs}`);
    }
    const cap = rule.maxRequestsPerSecond;
    if (cap !== undefined && !(Number.isInteger(cap) && cap >= 0)) {
      throw new RangeError(`maxRequestsPerSecond must be an integer >= 0, got ${cap}`);
    }
    const times = rule.times;
    if (times !== undefined && !(Number.isInteger(times) && times > 0)) {
      throw new RangeError(`times must be a positive integer, got ${times}`);
    }
    this.#rules.set(target, {
      target,
      errorRate,
      error: rule.error ?? "throttle",
      latencyMs,
      maxRequestsPerSecond: cap,
      remaining: times,
      admitted: [],
    });
  }

  /** Removes the rule of one target, or every rule when no target is given. Counters stay. */
  clear(target?: string): void {
    if (target === undefined) this.#rules.clear();
    else this.#rules.delete(target);
  }

  /** Targets that currently have a rule. */
  targets(): string[] {
    return [...this.#rules.keys()];
  }

  /**
   * Number of requests seen (failed or not) whose operation matches `pattern`.
   *
   * @param pattern - `"kms:Decrypt"`, a group (`"kms:cryptographic"`), `"kms:*"` or `"*"`.
   * @default pattern `"*"`
   */
  calls(pattern = "*"): number {
    return sumMatching(this.#calls, pattern);
  }

  /** Number of requests failed by an injected fault whose operation matches `pattern`. */
  failures(pattern = "*"): number {
    return sumMatching(this.#failures, pattern);
  }

  /** Requests seen per `"service:Operation"`. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#calls);
  }

  /**
   * Forgets every rule and counter and restarts the generator.
   *
   * @param seed - A new seed; the current seed when omitted.
   */
  reset(seed?: number): void {
    if (seed !== undefined) this.#seed = seed;
    this.#random = createPrng(this.#seed);
    this.#rules.clear();
    this.#calls.clear();
    this.#failures.clear();
  }

  /** Counts the call, waits any injected latency, then decides whether it fails. */
  async before(service: EmulatedService, operation: string): Promise<InjectedFault> {
    const key = `${service}:${operation}`;
    this.#calls.set(key, (this.#calls.get(key) ?? 0) + 1);
    const rules = [
      this.#rules.get(key),
      ...groupsOf(service, operation).map((group) => this.#rules.get(group)),
      this.#rules.get(`${service}:*`),
      this.#rules.get("*"),
    ].filter((rule): rule is ActiveRule => rule !== undefined);
    if (rules.length === 0) return { kind: "none" };
    for (const rule of rules) {
      if (rule.remaining !== undefined && --rule.remaining === 0) this.#rules.delete(rule.target);
    }

    const latency = rules.reduce((total, rule) => total + rule.latencyMs, 0);
    if (latency > 0) await this.#sleep(latency);

    let failure: FaultErrorKind | undefined;
    const now = this.#now();
    for (const rule of rules) {
      if (rule.maxRequestsPerSecond === undefined) continue;
      while (rule.admitted.length > 0 && now - (rule.admitted[0] ?? 0) >= WINDOW_MS) rule.admitted.shift();
      if (failure === undefined && rule.admitted.length >= rule.maxRequestsPerSecond) failure = "throttle";
    }
    for (const rule of rules) {
      if (rule.errorRate === 0) continue;
      // Draw even when an earlier rule already failed the request, so the sequence of draws
      // depends only on the sequence of requests, not on which rules happened to fire.
      const draw = this.#random();
      if (failure === undefined && draw < rule.errorRate) failure = rule.error;
    }
    if (failure === undefined) {
      // Only admitted requests use up quota, as with KMS: a throttled call costs nothing.
      for (const rule of rules) if (rule.maxRequestsPerSecond !== undefined) rule.admitted.push(now);
      return { kind: "none" };
    }
    this.#failures.set(key, (this.#failures.get(key) ?? 0) + 1);
    return faultFor(service, failure);
  }
}

/** The wire error of an injected failure for a service (see {@link FaultErrorKind}). */
export function faultFor(service: EmulatedService, kind: FaultErrorKind): InjectedFault {
  switch (kind) {
    case "throttle":
      return service === "kms"
        ? { kind: "error", status: 400, code: "ThrottlingException", message: "Rate exceeded" }
        : { kind: "error", status: 503, code: "SlowDown", message: "Please reduce your request rate." };
    case "unavailable":
      return service === "kms"
        ? {
            kind: "error",
            status: 503,
            code: "DependencyTimeoutException",
            message: "The system timed out while trying to fulfill the request (injected)",
          }
        : {
            kind: "error",
            status: 503,
            code: "ServiceUnavailable",
            message: "Service is unable to handle request.",
          };
    case "key-unavailable":
      if (service === "kms") {
        return {
          kind: "error",
          status: 500,
          code: "KeyUnavailableException",
          message: "The specified KMS key is not currently available (injected)",
        };
      }
      return faultFor(service, "internal");
    case "internal":
      return service === "kms"
        ? {
            kind: "error",
            status: 500,
            code: "KMSInternalException",
            message: "An internal error occurred (injected)",
          }
        : {
            kind: "error",
            status: 500,
            code: "InternalError",
            message: "We encountered an internal error. Please try again.",
          };
    case "not-implemented":
      return {
        kind: "error",
        status: 501,
        code: service === "kms" ? "NotImplementedException" : "NotImplemented",
        message: "This operation is not implemented by this backend (injected)",
      };
  }
}

function parseTarget(target: string): void {
  if (target === "*" || Object.hasOwn(FAULT_GROUPS, target)) return;
  const match = /^(kms|s3):([A-Z][A-Za-z]*|\*)$/.exec(target);
  if (match === null) {
    throw new RangeError(
      `fault target must be "kms:<Operation>", "s3:<Operation>", ${Object.keys(FAULT_GROUPS)
        .map((group) => `"${group}"`)
        .join(", ")}, "kms:*", "s3:*" or "*", got "${target}"`,
    );
  }
}

/** The groups of {@link FAULT_GROUPS} an operation belongs to. */
function groupsOf(service: EmulatedService, operation: string): string[] {
  return Object.entries(FAULT_GROUPS)
    .filter(([group, operations]) => group.startsWith(`${service}:`) && operations.has(operation))
    .map(([group]) => group);
}

function matches(key: string, pattern: string): boolean {
  if (pattern === "*" || key === pattern) return true;
  if (pattern.endsWith(":*")) return key.startsWith(pattern.slice(0, -1));
  const group = Object.hasOwn(FAULT_GROUPS, pattern) ? FAULT_GROUPS[pattern] : undefined;
  const service = pattern.slice(0, pattern.indexOf(":") + 1);
  return group !== undefined && key.startsWith(service) && group.has(key.slice(service.length));
}

function sumMatching(counters: Map<string, number>, pattern: string): number {
  parseTarget(pattern);
  let total = 0;
  for (const [key, count] of counters) if (matches(key, pattern)) total += count;
  return total;
}
