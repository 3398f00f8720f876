/**
 * LocalStack selection with testcontainers stood in for: one decision and one container for a
 * whole run through the broker, whatever module registries and processes the test files run
 * in; the specific outcome of each backend situation; and a failed container start reported as
 * a LocalAwsError. The stand-in container is a built-in emulator, so the clients really work.
 */
import { CreateKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { RunningEmulator } from "../src/emulator/server.js";
import { startEmulator } from "../src/emulator/server.js";
import { startBackendBroker, type BackendBroker } from "../src/shared-backend.js";

const runtime = vi.hoisted(() => ({
  answers: true,
  probes: 0,
  starts: 0,
  stops: 0,
  failStart: undefined as Error | undefined,
  endpoint: "",
}));

vi.mock("testcontainers", () => ({
  getContainerRuntimeClient: async () => {
    runtime.probes += 1;
    if (!runtime.answers) throw new Error("Could not find a working container runtime strategy");
    return {};
  },
}));

vi.mock("@testcontainers/localstack", () => ({
  LocalstackContainer: class {
    constructor(readonly image: string) {}
    withEnvironment(): this {
      return this;
    }
    async start() {
      runtime.starts += 1;
      if (runtime.failStart !== undefined) throw runtime.failStart;
      return {
        getConnectionUri: () => runtime.endpoint,
        stop: async () => {
          runtime.stops += 1;
        },
      };
    }
  },
}));

let container: RunningEmulator;

beforeAll(async () => {
  container = await startEmulator();
  runtime.endpoint = container.endpoint;
});
afterAll(() => container.stop());

beforeEach(() => {
  Object.assign(runtime, { answers: true, probes: 0, starts: 0, stops: 0, failStart: undefined });
});

/** `startLocalAws` as a fresh test file sees it: a new module registry, nothing cached. */
async function freshAdapter() {
  vi.resetModules();
  return (await import("../src/adapter.js")).startLocalAws;
}

/** The error class of the current module registry (each fresh registry has its own). */
async function currentLocalAwsError() {
  return (await import("../src/errors.js")).LocalAwsError;
}

describe("under the run's broker", () => {
  let broker: BackendBroker;
  const lines: string[] = [];
  beforeEach(async () => {
    lines.length = 0;
    broker = await startBackendBroker({ log: (line) => lines.push(line) });
  });
  afterEach(() => broker.close());

  it("test files share one probe and one LocalStack container, stopped only when the run ends", async () => {
    const env = { REKEY_TEST_BROKER: broker.url };
    const keyIds: string[] = [];
    for (let file = 0; file < 3; file++) {
      const startLocalAws = await freshAdapter();
      const aws = await startLocalAws({ env });
      expect(aws.backend).toBe("localstack");
      expect(aws.endpoint).toBe(container.endpoint);
      expect(aws.capabilities.listKeyRotations).toBe(false);
      // What one file created, the next one sees: it is the same LocalStack.
      keyIds.push((await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      const { Keys } = await aws.kms.send(new ListKeysCommand({}));
      expect(Keys?.map((key) => key.KeyId)).toEqual(expect.arrayContaining(keyIds));
      await aws.stop();
    }
    expect({ probes: runtime.probes, starts: runtime.starts, stops: runtime.stops }).toEqual({
      probes: 1,
      starts: 1,
      stops: 0,
    });
    expect(lines).toEqual([expect.stringMatching(/^\[@rekey\/localstack\] backend localstack at http:/)]);
    await broker.close();
    expect(runtime.stops).toBe(1);
  });

  it("without a container runtime: one probe for the run, and each file gets its own emulator", async () => {
    runtime.answers = false;
    const env = { REKEY_TEST_BROKER: broker.url };
    const endpoints = new Set<string>();
    for (let file = 0; file < 2; file++) {
      const startLocalAws = await freshAdapter();
      const aws = await startLocalAws({ env, log: false });
      expect(aws.backend).toBe("builtin");
      expect(aws.faults).toBeDefined();
      endpoints.add(aws.endpoint);
      await aws.stop();
    }
    expect(endpoints.size).toBe(2);
    expect(runtime.probes).toBe(1);
    expect(runtime.starts).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/backend builtin \(no container runtime answered/)]);

    const startLocalAws = await freshAdapter();
    await expect(
      startLocalAws({ env: { ...env, REKEY_TEST_BACKEND: "localstack" }, log: false }),
    ).rejects.toMatchObject({ name: "LocalAwsError", code: "NO_CONTAINER_RUNTIME" });
  });

  it("a container that does not start is LOCALSTACK_FAILED for every file, tried once", async () => {
    runtime.failStart = new Error("port is already allocated");
    for (let file = 0; file < 2; file++) {
      const startLocalAws = await freshAdapter();
      const error = await startLocalAws({ env: { REKEY_TEST_BROKER: broker.url }, log: false }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(await currentLocalAwsError());
      expect(error).toMatchObject({ code: "LOCALSTACK_FAILED" });
      expect((error as Error).message).toMatch(/port is already allocated/);
    }
    expect(runtime.starts).toBe(1);
  });
});

describe("in a process of its own (no broker)", () => {
  it("forced LocalStack without a runtime is NO_CONTAINER_RUNTIME, fast", async () => {
    runtime.answers = false;
    const startLocalAws = await freshAdapter();
    await expect(
      startLocalAws({ env: { REKEY_TEST_BACKEND: "localstack" }, log: false }),
    ).rejects.toMatchObject({ name: "LocalAwsError", code: "NO_CONTAINER_RUNTIME" });
  });

  it("with a runtime, LocalStack is started and its files in one process share the container", async () => {
    const startLocalAws = await freshAdapter();
    const first = await startLocalAws({ env: {}, log: false });
    const second = await startLocalAws({ env: {}, log: false });
    expect([first.backend, second.backend]).toEqual(["localstack", "localstack"]);
    expect(runtime.starts).toBe(1);
    await first.stop();
    expect(runtime.stops).toBe(0);
    await second.stop();
    expect(runtime.stops).toBe(1);
  });

  it("a failed container start is a LocalAwsError with the testcontainers error as its cause", async () => {
    const cause = new Error("pull access denied");
    runtime.failStart = cause;
    const startLocalAws = await freshAdapter();
    const error = await startLocalAws({ env: { REKEY_TEST_BACKEND: "localstack" }, log: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(await currentLocalAwsError());
    expect(error).toMatchObject({ code: "LOCALSTACK_FAILED", cause });
  });

  it("without a runtime and nothing forced, the built-in emulator", async () => {
    runtime.answers = false;
    const startLocalAws = await freshAdapter();
    const aws = await startLocalAws({ env: {}, log: false });
    expect(aws.backend).toBe("builtin");
    await aws.stop();
  });
});
