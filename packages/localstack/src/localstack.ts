/**
 * LocalStack through testcontainers: whether a container runtime answers, and the pinned image
 * started once per image and shared by its users. Used by the adapter in a process of its own
 * and, for a whole test run, by the backend broker of the vitest global setup.
 *
 * `testcontainers` is imported only when needed: most runs never start a container.
 */
import { LocalAwsError, messageOf } from "./errors.js";

/** The LocalStack image the project pins (later images need an auth token). */
export const LOCALSTACK_IMAGE = "localstack/localstack:4.14.0";

/** A started LocalStack endpoint, until released. */
export interface LocalstackLease {
  /** `http://host:port` of the container's edge port. */
  readonly endpoint: string;
  /** Gives the lease back; the last lease of a container stops it. Idempotent. */
  release(): Promise<void>;
}

/**
 * Asks testcontainers whether a container runtime (Docker, Podman...) answers within
 * `timeoutMs`. Not cached: callers keep the answer for as long as it is theirs (the adapter
 * for its process, the broker for its run).
 *
 * @example
 * ```ts
 * if (await probeContainerRuntime(1500)) console.log("LocalStack can start here");
 * ```
 */
export async function probeContainerRuntime(timeoutMs: number): Promise<boolean> {
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
}

interface SharedContainer {
  readonly started: Promise<{ endpoint: string; stop: () => Promise<unknown> }>;
  users: number;
}

const containers = new Map<string, SharedContainer>();

/**
 * Starts LocalStack (`SERVICES=kms,s3`), or joins the container of the same image this module
 * instance already started; the last lease released stops it.
 *
 * @throws LocalAwsError `LOCALSTACK_FAILED` when the container does not start (the
 * testcontainers error is its `cause`).
 *
 * @example
 * ```ts
 * const lease = await acquireLocalstack(LOCALSTACK_IMAGE);
 * const kms = new KMSClient({ endpoint: lease.endpoint, region: "us-east-1", credentials });
 * // ...
 * await lease.release();
 * ```
 */
export async function acquireLocalstack(image: string): Promise<LocalstackLease> {
  let shared = containers.get(image);
  if (shared === undefined) {
    const started = (async () => {
      try {
        const { LocalstackContainer } = await import("@testcontainers/localstack");
        const container = await new LocalstackContainer(image)
          .withEnvironment({ SERVICES: "kms,s3" })
          .start();
        return { endpoint: container.getConnectionUri(), stop: () => container.stop() };
      } catch (error) {
        throw new LocalAwsError(
          "LOCALSTACK_FAILED",
          `LocalStack (${image}) did not start: ${messageOf(error)}`,
          {
            cause: error,
          },
        );
      }
    })();
    shared = { started, users: 0 };
    containers.set(image, shared);
    started.catch(() => containers.delete(image));
  }
  const entry = shared;
  entry.users += 1;
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
    release: async () => {
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
