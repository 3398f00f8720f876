/**
 * Backend selection of the test adapter. Every case passes its own `env`, so the variables of
 * the machine running the suite do not leak in.
 */
import {
  CreateKeyCommand,
  GetKeyRotationStatusCommand,
  ListKeysCommand,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { describe, expect, it, vi } from "vitest";
import { askBroker, BROKER_VARIABLE, type SharedChoice } from "../src/shared-backend.js";
import {
  LOCALSTACK_IMAGE,
  LocalAwsError,
  startEmulator,
  startLocalAws,
  type LocalAws,
} from "../src/index.js";

const silent = { log: false } as const;

/** What the run's broker (the vitest global setup of this repository) decided for this machine. */
async function runChoice(): Promise<SharedChoice> {
  const url = process.env[BROKER_VARIABLE];
  if (url === undefined)
    throw new Error(`${BROKER_VARIABLE} is not set: the vitest global setup did not run`);
  return askBroker(url, { image: LOCALSTACK_IMAGE, runtimeProbeTimeoutMs: 1500 });
}

async function using<T>(aws: LocalAws, body: (aws: LocalAws) => Promise<T>): Promise<T> {
  try {
    return await body(aws);
  } finally {
    await aws.stop();
  }
}

describe("startLocalAws backend selection", () => {
  it("uses REKEY_TEST_ENDPOINT first, then AWS_ENDPOINT_URL, starting nothing", async () => {
    const env = { REKEY_TEST_ENDPOINT: "http://127.0.0.1:1", AWS_ENDPOINT_URL: "http://127.0.0.1:2" };
    await using(await startLocalAws({ env, ...silent }), async (aws) => {
      expect(aws.backend).toBe("env");
      expect(aws.endpoint).toBe("http://127.0.0.1:1");
      expect(aws.faults).toBeUndefined();
      expect(aws.clock).toBeUndefined();
      expect(aws.s3Control).toBeUndefined();
    });
    await using(
      await startLocalAws({ env: { AWS_ENDPOINT_URL: "http://127.0.0.1:2" }, ...silent }),
      async (aws) => {
        expect(aws.endpoint).toBe("http://127.0.0.1:2");
      },
    );
  });

  it("takes an env endpoint to be LocalStack-like unless REKEY_TEST_CAPABILITIES=full", async () => {
    const env = { REKEY_TEST_ENDPOINT: "http://127.0.0.1:1" };
    await using(await startLocalAws({ env, ...silent }), async (aws) => {
      expect(aws.capabilities).toEqual({
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
      });
      expect(aws.missing("listKeyRotations")).toMatch(/501/);
      // Every gap says why.
      for (const capability of [
        "kmsDryRun",
        "reEncryptIncorrectKey",
        "s3ConcurrentConditionalWrites",
        "s3CompleteMultipartIfMatch",
      ] as const) {
        expect(aws.missing(capability)).toMatch(/LocalStack 4\.14 /);
      }
      expect(aws.missing("clock")).toMatch(/built-in emulator/);
      expect(aws.missing("s3BucketBehavior")).toMatch(/built-in emulator/);
    });
    await using(
      await startLocalAws({ env: { ...env, REKEY_TEST_CAPABILITIES: "full" }, ...silent }),
      async (aws) => {
        expect(aws.capabilities).toMatchObject({
          listKeyRotations: true,
          keyMaterialIdInResponses: true,
          faults: false,
          kmsDryRun: true,
          s3ConcurrentConditionalWrites: true,
        });
        expect(aws.capabilities.onDemandRotationLimit).toBe(25);
        expect(aws.missing("listKeyRotations")).toBeUndefined();
        expect(aws.missing("faults")).toMatch(/built-in emulator/);
        // "full" describes the store, not the test control only the emulator has.
        expect(aws.capabilities.s3BucketBehavior).toBe(false);
        expect(aws.s3Control).toBeUndefined();
      },
    );
  });

  it("starts the built-in emulator when forced, even with an endpoint in the environment", async () => {
    const env = { REKEY_TEST_BACKEND: "builtin", AWS_ENDPOINT_URL: "http://127.0.0.1:2" };
    await using(await startLocalAws({ env, ...silent }), async (aws) => {
      expect(aws.backend).toBe("builtin");
      expect(aws.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(aws.capabilities).toMatchObject({
        listKeyRotations: true,
        faults: true,
        clock: true,
        s3BucketBehavior: true,
      });
      expect(aws.missing("faults")).toBeUndefined();
      expect(aws.missing("s3BucketBehavior")).toBeUndefined();
      expect(aws.s3Control).toBeDefined();
      expect(await aws.s3.config.forcePathStyle).toBe(true);
      expect(aws.credentials).toEqual({ accessKeyId: "test", secretAccessKey: "test" });
      const { Keys } = await aws.kms.send(new ListKeysCommand({}));
      expect(Keys).toEqual([]);
    });
  });

  it("passes REKEY_TEST_ON_DEMAND_ROTATION_DELAY_MS to the built-in emulator, and refuses a bad one", async () => {
    const env = { REKEY_TEST_BACKEND: "builtin", REKEY_TEST_ON_DEMAND_ROTATION_DELAY_MS: "60000" };
    await using(await startLocalAws({ env, ...silent }), async (aws) => {
      const keyId = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const status = await aws.kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      expect(status.OnDemandRotationStartDate).toBeInstanceOf(Date);
      expect(aws.emulator!.keyMaterialIds(keyId)).toHaveLength(1);
    });
    await expect(
      startLocalAws({ env: { ...env, REKEY_TEST_ON_DEMAND_ROTATION_DELAY_MS: "soon" }, ...silent }),
    ).rejects.toMatchObject({ name: "LocalAwsError", code: "BAD_VARIABLE" });
  });

  it("refuses a forced env backend without an endpoint, and an unknown backend name", async () => {
    await expect(startLocalAws({ env: { REKEY_TEST_BACKEND: "env" }, ...silent })).rejects.toMatchObject({
      code: "NO_ENDPOINT",
    });
    const error = await startLocalAws({ env: { REKEY_TEST_BACKEND: "docker" }, ...silent }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LocalAwsError);
    expect(error).toMatchObject({ code: "BAD_BACKEND" });
  });

  it("the vitest global setup hands every test file the run's backend broker", async () => {
    expect(process.env[BROKER_VARIABLE]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
    const choice = await runChoice();
    expect(["builtin", "localstack"]).toContain(choice.backend);
    // Asked again (as every test file does), the same decision: it was made once for the run.
    expect(await runChoice()).toEqual(choice);
  });

  it("forced LocalStack: NO_CONTAINER_RUNTIME without a runtime; LocalStack with one", async () => {
    // This machine's answer, as the run's broker probed it (the mocked cases of both branches
    // are in shared-backend.test.ts). How long the probe may wait is its own option
    // (runtimeProbeTimeoutMs), not something a test can time on a loaded machine.
    const choice = await runChoice();
    const result = await startLocalAws({ env: { REKEY_TEST_BACKEND: "localstack" }, ...silent }).catch(
      (e: unknown) => e,
    );
    if (choice.backend === "builtin") {
      expect(result).toBeInstanceOf(LocalAwsError);
      expect(result).toMatchObject({ code: "NO_CONTAINER_RUNTIME" });
    } else {
      expect(result).not.toBeInstanceOf(Error);
      await using(result as LocalAws, async (aws) => expect(aws.backend).toBe("localstack"));
    }
  });

  it("nothing in the environment: the run's backend (the built-in emulator where no runtime answers)", async () => {
    const choice = await runChoice();
    await using(
      await startLocalAws({ env: { [BROKER_VARIABLE]: process.env[BROKER_VARIABLE] }, ...silent }),
      async (aws) => {
        expect(aws.backend).toBe(choice.backend);
        if (choice.backend === "localstack") expect(aws.endpoint).toBe(choice.endpoint);
      },
    );
  });

  it("forced env: an endpoint that does not answer is ENDPOINT_UNREACHABLE; one that answers is used", async () => {
    const error = await startLocalAws({
      env: { REKEY_TEST_BACKEND: "env", REKEY_TEST_ENDPOINT: "http://127.0.0.1:1" },
      ...silent,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalAwsError);
    expect(error).toMatchObject({ code: "ENDPOINT_UNREACHABLE" });
    const emulator = await startEmulator();
    try {
      await using(
        await startLocalAws({
          env: { REKEY_TEST_BACKEND: "env", AWS_ENDPOINT_URL: emulator.endpoint },
          ...silent,
        }),
        async (aws) => {
          expect(aws.backend).toBe("env");
          await expect(aws.kms.send(new ListKeysCommand({}))).resolves.toMatchObject({ Keys: [] });
        },
      );
    } finally {
      await emulator.stop();
    }
  });

  it("reports the choice in one stderr line, once per process and backend", async () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const env = { REKEY_TEST_BACKEND: "builtin" };
      await (await startLocalAws({ env })).stop();
      await (await startLocalAws({ env })).stop();
      const lines = write.mock.calls
        .map(([chunk]) => String(chunk))
        .filter((line) => line.includes("@rekey/localstack"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^\[@rekey\/localstack\] backend builtin at http:\/\/127\.0\.0\.1:\d+ \(.*\)\n$/,
      );
    } finally {
      write.mockRestore();
    }
    const custom: string[] = [];
    await (
      await startLocalAws({ env: { REKEY_TEST_BACKEND: "builtin" }, log: (line) => custom.push(line) })
    ).stop();
    expect(custom).toHaveLength(1);
  });
});
