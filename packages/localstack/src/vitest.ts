/**
 * Vitest glue: one line gives a test file its KMS and S3 endpoint, and a helper skips a test on
 * backends that lack a capability, saying why.
 */
import { afterAll, afterEach, beforeAll, it, type TestContext } from "vitest";
import {
  startLocalAws,
  type LocalAws,
  type LocalAwsCapability,
  type StartLocalAwsOptions,
} from "./adapter.js";

/** Options of {@link useLocalAws}. */
export interface UseLocalAwsOptions extends StartLocalAwsOptions {
  /**
   * Clears injected faults and call counters after every test, so one test's throttling never
   * leaks into the next (built-in emulator only; elsewhere there are no faults).
   * @default true
   */
  resetFaultsAfterEach?: boolean;
}

/**
 * Registers `beforeAll` / `afterAll` hooks that start and stop a backend for the current file
 * (or `describe` block), and returns a handle whose members are usable inside tests and hooks.
 * Reading a member before `beforeAll` ran (e.g. at collection time) throws.
 *
 * @example
 * ```ts
 * const aws = useLocalAws();
 * it("creates a key", async () => {
 *   const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({}));
 *   expect(KeyMetadata?.KeyState).toBe("Enabled");
 * });
 * ```
 */
export function useLocalAws(options: UseLocalAwsOptions = {}): LocalAws {
  let current: LocalAws | undefined;
  const { resetFaultsAfterEach = true, ...startOptions } = options;

  beforeAll(async () => {
    current = await startLocalAws(startOptions);
  });
  afterEach(() => {
    if (resetFaultsAfterEach) current?.faults?.reset();
  });
  afterAll(async () => {
    await current?.stop();
    current = undefined;
  });

  return new Proxy({} as LocalAws, {
    get(_target, property) {
      if (current === undefined) {
        throw new Error(`useLocalAws(): "${String(property)}" read before beforeAll started the backend`);
      }
      return Reflect.get(current, property);
    },
    has(_target, property) {
      return current !== undefined && Reflect.has(current, property);
    },
  });
}

/**
 * Skips the running test when the backend lacks any of `capabilities`, with the reason as the
 * skip note; does nothing when all are present.
 *
 * @example
 * ```ts
 * it("lists rotations", async (ctx) => {
 *   requireCapability(ctx, aws, "listKeyRotations");
 *   // ...
 * });
 * ```
 */
export function requireCapability(
  ctx: TestContext,
  aws: LocalAws,
  ...capabilities: LocalAwsCapability[]
): void {
  for (const capability of capabilities) {
    const reason = aws.missing(capability);
    if (reason !== undefined) ctx.skip(`needs ${capability}: ${reason}`);
  }
}

/** A test body, as `it` takes it. */
export type TestBody = (ctx: TestContext) => Promise<void> | void;

/**
 * `it`, but skipped (with the reason) on backends that lack any of `capabilities`.
 *
 * @example
 * ```ts
 * itWith(aws, "clock")("fires automatic rotation", async () => {
 *   await aws.clock!.advance(366 * 86_400_000);
 * });
 * ```
 */
export function itWith(
  aws: LocalAws,
  ...capabilities: LocalAwsCapability[]
): (name: string, body: TestBody, timeoutMs?: number) => void {
  return (name, body, timeoutMs) => {
    it(
      name,
      async (ctx) => {
        requireCapability(ctx, aws, ...capabilities);
        await body(ctx);
      },
      timeoutMs,
    );
  };
}
