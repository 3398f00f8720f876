/**
 * LocalStack through testcontainers: whether a container runtime answers, and the pinned image
 * started once per image and shared by its users. Used by the adapter in a process of its own
 * and, for a whole test run, by the backend broker of the vitest global setup.
 *
 * `testcontainers` and `@testcontainers/localstack` are optional peer dependencies, imported only
 * when needed: most runs never start a container, and an install without them still has the
 * environment endpoint and the built-in emulator.
 */
import type * as TestcontainersModule from "testcontainers";
import type * as LocalstackModule from "@testcontainers/localstack";
import { LocalAwsError, messageOf } from "./errors.js";

/** The optional peer dependencies LocalStack needs. */
const CONTAINER_LIBRARIES = ["testcontainers", "@testcontainers/localstack"] as const;

/** How to install them, quoted by every message that says they are missing. */
export const CONTAINER_LIBRARIES_HINT =
  "LocalStack needs the optional peer dependencies testcontainers and @testcontainers/localstack " +
  "(npm install --save-dev testcontainers@11 @testcontainers/localstack@11)";

/** Imports a module by name; the seam the tests replace to simulate an install without one. */
export type ModuleImporter = (name: string) => Promise<unknown>;

const importModule: ModuleImporter = (name) => import(name);

/** True when `error` says that the package `name` itself is not installed (not one of its imports). */
function isMissingPackage(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && messageOf(error).includes(`'${name}'`)
  );
}

/**
 * Why LocalStack cannot start here, or `undefined` when it can: the container libraries are
 * installed and a container runtime (Docker, Podman...) answers within `timeoutMs`. Not cached:
 * callers keep the answer for as long as it is theirs (the adapter for its process, the broker
 * for its run).
 *
 * @example
 * ```ts
 * const missing = await whyNoLocalstack(1500);
 * if (missing === undefined) console.log("LocalStack can start here");
 * else console.log(missing.code, missing.why); // NO_CONTAINER_LIBRARY or NO_CONTAINER_RUNTIME
 * ```
 */
export async function whyNoLocalstack(
  timeoutMs: number,
  importer: ModuleImporter = importModule,
): Promise<{ code: "NO_CONTAINER_LIBRARY" | "NO_CONTAINER_RUNTIME"; why: string } | undefined> {
  for (const name of CONTAINER_LIBRARIES) {
    try {
      await importer(name);
    } catch (error) {
      if (isMissingPackage(error, name))
        return { code: "NO_CONTAINER_LIBRARY", why: CONTAINER_LIBRARIES_HINT };
      throw error;
    }
  }
  if (await probeContainerRuntime(timeoutMs, importer)) return undefined;
  return { code: "NO_CONTAINER_RUNTIME", why: `no container runtime answered within ${timeoutMs} ms` };
}

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
export async function probeContainerRuntime(
  timeoutMs: number,
  importer: ModuleImporter = importModule,
): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = (await importer("testcontainers")) as typeof TestcontainersModule;
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
 * @throws LocalAwsError `NO_CONTAINER_LIBRARY` when testcontainers is not installed;
 * `LOCALSTACK_FAILED` when the container does not start (the testcontainers error is its `cause`).
 *
 * @example
 * ```ts
 * const lease = await acquireLocalstack(LOCALSTACK_IMAGE);
 * const kms = new KMSClient({ endpoint: lease.endpoint, region: "us-east-1", credentials });
 * // ...
 * await lease.release();
 * ```
 */
export async function acquireLocalstack(
  image: string,
  importer: ModuleImporter = importModule,
): Promise<LocalstackLease> {
  let shared = containers.get(image);
  if (shared === undefined) {
    const started = (async () => {
      let library: typeof LocalstackModule;
      try {
        library = (await importer("@testcontainers/localstack")) as typeof library;
      } catch (error) {
        if (!isMissingPackage(error, "@testcontainers/localstack")) throw error;
        throw new LocalAwsError("NO_CONTAINER_LIBRARY", CONTAINER_LIBRARIES_HINT, { cause: error });
      }
      try {
        const { LocalstackContainer } = library;
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
