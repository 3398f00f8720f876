/**
 * Counters a job keeps while it runs: bytes of the objects finished, bytes through the job (read,
 * written), bytes copied by S3
 * server-side, and requests per service and operation (every attempt, retries included). The
 * report and the progress display read them; tasks only add.
 */

/** Bytes of the objects the job finished, and bytes that went through the job. */
export interface ByteCounts {
  /**
   * Sizes of the objects finished (planned, in a dry run): the one counter behind the report's
   * `bytes.objects` (a plan's `bytes`) and the progress display's bytes.
   */
  objects: number;
  /** Bytes the job downloaded (GET bodies, file reads). */
  read: number;
  /** Bytes the job uploaded (PUT / UploadPart bodies, file writes). */
  written: number;
  /** Bytes S3 copied server-side (`UploadPartCopy`) without passing through the job. */
  copiedServerSide: number;
}

/** The services whose requests are counted. */
export type CountedService = "kms" | "s3" | "postgres";

/** Request counts. */
export interface RequestCounts {
  /** Every request sent, per `"service:Operation"` (e.g. `"kms:ReEncrypt"`, `"postgres:UPDATE"`), retries included. */
  readonly byOperation: Record<string, number>;
  /** Retries per `"service:Operation"`. */
  readonly retries: Record<string, number>;
  /** Throttling answers (`ThrottlingException`, `SlowDown`) per `"service:Operation"`. */
  readonly throttled: Record<string, number>;
}

/**
 * Mutable counters shared by the tasks of one job.
 *
 * @example
 * ```ts
 * const counters = new JobCounters();
 * counters.request("kms", "ReEncrypt");
 * counters.bytes.read += body.length;
 * counters.total("kms"); // 1
 * ```
 */
export class JobCounters {
  readonly bytes: ByteCounts = { objects: 0, read: 0, written: 0, copiedServerSide: 0 };
  readonly requests: RequestCounts = { byOperation: {}, retries: {}, throttled: {} };

  /** Counts one request sent. */
  request(service: CountedService, operation: string): void {
    bump(this.requests.byOperation, `${service}:${operation}`);
  }

  /** Counts one retry, and a throttling answer when `throttled`. */
  retried(service: CountedService, operation: string, throttled: boolean): void {
    bump(this.requests.retries, `${service}:${operation}`);
    if (throttled) bump(this.requests.throttled, `${service}:${operation}`);
  }

  /** Requests sent to a service, or to one `"service:Operation"`. */
  total(serviceOrOperation: string): number {
    let n = 0;
    for (const [k, v] of Object.entries(this.requests.byOperation)) {
      if (k === serviceOrOperation || k.startsWith(`${serviceOrOperation}:`)) n += v;
    }
    return n;
  }
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}
