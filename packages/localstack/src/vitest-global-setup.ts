/**
 * Vitest global setup: one backend decision and at most one LocalStack container per test run,
 * shared by every test file (see `shared-backend.ts` for why and how). Add it to the config:
 *
 * ```ts
 * export default defineConfig({ test: { globalSetup: ["@rekey/localstack/vitest-global-setup"] } });
 * ```
 *
 * It starts a small loopback broker and puts its URL in `REKEY_TEST_BROKER`, which the test
 * processes inherit; nothing is probed or started until a test file calls `startLocalAws`.
 * A run that cannot start the broker goes on without it (each file then decides for itself).
 */
import { BROKER_VARIABLE, startBackendBroker } from "./shared-backend.js";
import { messageOf } from "./errors.js";

/**
 * Starts the run's backend broker; the returned teardown stops it and any LocalStack container
 * it started.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ["@rekey/localstack/vitest-global-setup"] } });
 * ```
 */
export default async function setup(): Promise<() => Promise<void>> {
  // A run started from inside another run's test keeps the outer broker.
  if (process.env[BROKER_VARIABLE]) return async () => {};
  try {
    const broker = await startBackendBroker();
    process.env[BROKER_VARIABLE] = broker.url;
    return async () => {
      delete process.env[BROKER_VARIABLE];
      await broker.close();
    };
  } catch (error) {
    process.stderr.write(`[@rekey/localstack] no shared backend for this run: ${messageOf(error)}\n`);
    return async () => {};
  }
}
