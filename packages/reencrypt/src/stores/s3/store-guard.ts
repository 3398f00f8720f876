/**
 * The job's rule for writing to an S3-compatible store, in one place: before the first write to
 * a bucket, the bucket is probed once ({@link probeS3Store}; one probe per job and bucket, or per
 * Lambda container and bucket, however many objects ask at once). A store that does not honour
 * conditional writes is refused (`ERR_JOB_STORE_UNSAFE`) — unless the user said every other
 * writer is stopped (`writersStopped`); then each write is preceded by a re-read of the object's
 * ETag and header, which must still be the planned ones, and followed by a read-back, and the
 * object's result is marked `unconditional`.
 */
import { JobError } from "../../errors.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import type { PlannedVersion } from "./pinned-read.js";
import { readPinned } from "./pinned-read.js";
import {
  DEFAULT_PROBE_PREFIX,
  honoursConditionalWrites,
  ignoredConditions,
  probeS3Store,
  type StoreCapabilities,
} from "./probe-store.js";
import type { S3Runtime } from "./s3-runtime.js";
import type { StoreWriteMode } from "../../model/object-store.js";
import { JobCounters } from "../../support/job-counters.js";

/** How the job may write to stores. */
export interface StoreSafetyOptions {
  /**
   * Every other writer of the objects is stopped: a store that ignores conditional writes is
   * written to anyway, with a re-read before and a read-back after each write.
   * @default false (such a store is refused, nothing written)
   */
  readonly writersStopped?: boolean;
  /** Where the capability probe writes its scratch objects. @default ".rekey-probe/" */
  readonly probePrefix?: string;
}

/** Options of a {@link StoreGuard}. */
export interface StoreGuardOptions extends StoreSafetyOptions {
  /** Called once per bucket with what the probe found. */
  readonly onProbed?: (capabilities: StoreCapabilities) => void;
}

/** How the job writes to one bucket, and what the probe found there. */
export interface S3WriteMode extends StoreWriteMode {
  readonly capabilities: StoreCapabilities;
}

/**
 * Probes each bucket once and decides how (and whether) the job writes there.
 *
 * @example
 * ```ts
 * const guard = new StoreGuard(rt, { writersStopped: false });
 * const mode = await guard.writeModeFor("data"); // throws ERR_JOB_STORE_UNSAFE on a store that ignores If-Match
 * ```
 */
export class StoreGuard {
  private readonly probes = new Map<string, Promise<StoreCapabilities>>();
  private readonly found: StoreCapabilities[] = [];
  /** The probe prefix in use. */
  readonly probePrefix: string;

  constructor(
    private readonly rt: S3Runtime,
    private readonly options: StoreGuardOptions = {},
  ) {
    this.probePrefix = options.probePrefix ?? DEFAULT_PROBE_PREFIX;
    if (this.probePrefix === "" || this.probePrefix.startsWith("/"))
      throw new JobError(
        "ERR_JOB_INVALID_OPTION",
        `the probe prefix must be a non-empty key prefix, got "${this.probePrefix}"`,
      );
  }

  /** What each bucket probed so far honours, in the order they were probed. */
  get probed(): readonly StoreCapabilities[] {
    return this.found;
  }

  /**
   * The bucket's capabilities, probing it on first use (concurrent callers share one probe).
   *
   * @example
   * ```ts
   * const caps = await guard.capabilities("data");
   * ```
   */
  capabilities(bucket: string): Promise<StoreCapabilities> {
    let probe = this.probes.get(bucket);
    if (!probe) {
      // The probe's requests are its own, not the job's: they are counted apart.
      const rt: S3Runtime = Object.assign({}, this.rt, { counters: new JobCounters() });
      probe = probeS3Store(rt, bucket, this.probePrefix).then(
        (caps) => {
          this.found.push(caps);
          this.options.onProbed?.(caps);
          return caps;
        },
        (e: unknown) => {
          // A failed probe (throttled, denied) is not remembered: a long-lived container asks
          // again for its next object instead of failing every one for good.
          this.probes.delete(bucket);
          throw e;
        },
      );
      this.probes.set(bucket, probe);
    }
    return probe;
  }

  /**
   * How the job writes to `bucket`.
   *
   * @throws JobError `ERR_JOB_STORE_UNSAFE` when the store ignores conditional writes and
   * `writersStopped` is not set; `ERR_JOB_STORE_PROBE` when the probe could not run.
   * @example
   * ```ts
   * const { unconditional } = await guard.writeModeFor(ref.bucket);
   * ```
   */
  async writeModeFor(bucket: string): Promise<S3WriteMode> {
    const capabilities = await this.capabilities(bucket);
    if (honoursConditionalWrites(capabilities)) return { capabilities, unconditional: false };
    if (!this.options.writersStopped)
      throw new JobError(
        "ERR_JOB_STORE_UNSAFE",
        `${capabilities.store} does not honour conditional writes (${ignoredConditions(capabilities).join(", ")} ignored): ` +
          "a write could undo another writer's, so nothing was written. Stop every other writer of " +
          "these objects and run again with --writers-stopped (writersStopped: true)",
      );
    return { capabilities, unconditional: true };
  }

  /** True when `key` is one of the probe's scratch objects (a job never plans them). */
  isProbeKey(key: string): boolean {
    return key.startsWith(this.probePrefix);
  }
}

/**
 * Right before an unconditional write: the object must still be the planned version (ETag and
 * header bytes, read again). A no-op on a store that honours conditional writes.
 *
 * @throws JobError `ERR_JOB_CONFLICT` when it changed.
 * @example
 * ```ts
 * await recheckBeforeWrite(mode, rt, ref, plan);
 * ```
 */
export async function recheckBeforeWrite(
  mode: StoreWriteMode,
  rt: S3Runtime,
  ref: S3ObjectRef,
  planned: PlannedVersion,
): Promise<void> {
  if (!mode.unconditional) return;
  const head = planned.headBytes;
  if (!head) throw new JobError("ERR_JOB_CONFLICT", "no planned header to compare before writing");
  await readPinned(rt, ref, planned, Math.min(planned.size, head.length));
}
