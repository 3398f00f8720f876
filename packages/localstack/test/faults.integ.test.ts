/**
 * Fault injection seen through the real SDK clients: what a batch job's retry and rate logic
 * will face. Needs the `faults` capability (built-in emulator); skipped elsewhere with the reason.
 */
import {
  CreateKeyCommand,
  DependencyTimeoutException,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KeyUnavailableException,
  KMSInternalException,
  KMSServiceException,
  type KMSClient,
} from "@aws-sdk/client-kms";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe as group, expect } from "vitest";
import { itWith, useLocalAws } from "../src/vitest.js";

const aws = useLocalAws();
let keyId: string;
let once: KMSClient;

beforeAll(async () => {
  if (!aws.capabilities.faults) return;
  keyId = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  // One attempt per call: the SDK's own retries would hide the injected failures.
  once = aws.createKmsClient({ maxAttempts: 1 });
});
afterAll(() => once?.destroy());

/** Runs `count` sequential Encrypt calls; returns, per call, the error name or "ok". */
async function encryptOutcomes(count: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      await once.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }));
      outcomes.push("ok");
    } catch (error) {
      outcomes.push((error as Error).name);
    }
  }
  return outcomes;
}

group("fault injection", () => {
  itWith(aws, "faults")("fails a seeded fraction of calls, the same calls on every run", async () => {
    const faults = aws.faults!;
    faults.reset(7);
    faults.inject("kms:Encrypt", { error: "throttle", errorRate: 0.3 });
    const first = await encryptOutcomes(40);
    const failed = first.filter((outcome) => outcome !== "ok");
    expect(new Set(failed)).toEqual(new Set(["ThrottlingException"]));
    expect(failed.length).toBeGreaterThan(3);
    expect(failed.length).toBeLessThan(25);
    expect(faults.failures("kms:Encrypt")).toBe(failed.length);

    faults.reset(7);
    faults.inject("kms:Encrypt", { error: "throttle", errorRate: 0.3 });
    expect(await encryptOutcomes(40)).toEqual(first);

    faults.reset(8);
    faults.inject("kms:Encrypt", { error: "throttle", errorRate: 0.3 });
    expect(await encryptOutcomes(40)).not.toEqual(first);
  });

  itWith(aws, "faults")(
    "fails KMS calls with KMS's own exceptions, which the SDK parses into its modelled classes",
    async () => {
      const faults = aws.faults!;
      const cases = [
        ["unavailable", 503, DependencyTimeoutException],
        ["internal", 500, KMSInternalException],
        ["key-unavailable", 500, KeyUnavailableException],
      ] as const;
      for (const [kind, status, type] of cases) {
        faults.inject("kms:DescribeKey", { error: kind });
        const error = await once.send(new DescribeKeyCommand({ KeyId: keyId })).catch((e: unknown) => e);
        expect(error, kind).toBeInstanceOf(type);
        expect((error as InstanceType<typeof type>).$metadata.httpStatusCode).toBe(status);
        expect((error as InstanceType<typeof type>).$fault).toBe("server");
      }
      // Not modelled by the client: a generic service exception carrying the name and status.
      for (const [kind, status, name] of [
        ["throttle", 400, "ThrottlingException"],
        ["not-implemented", 501, "NotImplementedException"],
      ] as const) {
        faults.inject("kms:DescribeKey", { error: kind });
        const error = await once.send(new DescribeKeyCommand({ KeyId: keyId })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KMSServiceException);
        expect(error).toMatchObject({ name, $metadata: { httpStatusCode: status } });
      }
      // Other operations are untouched by a rule on DescribeKey.
      await expect(
        once.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") })),
      ).resolves.toBeDefined();
    },
  );

  itWith(aws, "faults")(
    "fails only the next N calls with `times`; the SDK's retries then succeed",
    async () => {
      // 5xx first: the SDK retries them after a short delay.
      aws.faults!.inject("kms:GenerateDataKey", { error: "internal", times: 2 });
      const result = await aws.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
      expect(result.$metadata.attempts).toBe(3);
      expect(aws.faults!.calls("kms:GenerateDataKey")).toBe(3);
      expect(aws.faults!.failures("kms:GenerateDataKey")).toBe(2);
      expect(aws.faults!.targets()).toEqual([]);

      // The client recognises the unmodelled ThrottlingException as throttling and retries it.
      aws.faults!.inject("kms:DescribeKey", { error: "throttle", times: 1 });
      const described = await aws.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(described.$metadata.attempts).toBe(2);
    },
  );

  itWith(aws, "faults")("throttles S3 with 503 SlowDown", async () => {
    aws.faults!.inject("s3:*", { error: "throttle" });
    const s3 = aws.createS3Client({ maxAttempts: 1 });
    const error = (await s3.send(new ListBucketsCommand({})).catch((e: unknown) => e)) as {
      name: string;
      $metadata: { httpStatusCode?: number };
    };
    s3.destroy();
    expect(error.name).toBe("SlowDown");
    expect(error.$metadata.httpStatusCode).toBe(503);
    expect(aws.faults!.calls("s3:ListBuckets")).toBe(1);
  });

  itWith(aws, "faults")("adds latency to the matching operations only", async () => {
    aws.faults!.inject("kms:DescribeKey", { latencyMs: 150 });
    const started = performance.now();
    await once.send(new DescribeKeyCommand({ KeyId: keyId }));
    // A lower bound: a timer never fires early, however loaded the machine.
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    // Another operation does not wait: an Encrypt sent after a DescribeKey held for 30 s is
    // answered while that DescribeKey is still held (an order, not a timing).
    aws.faults!.inject("kms:DescribeKey", { latencyMs: 30_000 });
    const held = new AbortController();
    let describeSettled = false;
    const describe = once
      .send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal: held.signal })
      .finally(() => (describeSettled = true))
      .catch(() => undefined);
    await once.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }));
    expect(describeSettled).toBe(false);
    held.abort();
    await describe;
    aws.faults!.clear("kms:DescribeKey");
  });

  itWith(aws, "faults")(
    "caps the shared KMS quota: cryptographic calls share one window, DescribeKey is outside it",
    async () => {
      const cap = 5;
      aws.faults!.inject("kms:cryptographic", { maxRequestsPerSecond: cap });
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 === 0
            ? once.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }))
            : once.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }))
          ).then(
            () => "ok",
            (error: Error) => error.name,
          ),
        ),
      );
      const elapsed = performance.now() - started;
      expect(outcomes.filter((outcome) => outcome !== "ok" && outcome !== "ThrottlingException")).toEqual([]);
      // No sliding second admits more than the cap, however slowly a loaded machine sends the
      // burst: exactly the cap when it fits in one second, never more than one cap per second.
      const admitted = outcomes.filter((outcome) => outcome === "ok").length;
      expect(admitted).toBeGreaterThanOrEqual(cap);
      expect(admitted).toBeLessThanOrEqual(cap * (Math.floor(elapsed / 1000) + 1));
      if (elapsed < 1000) expect(admitted).toBe(cap);
      // The two operations drew on one quota: neither got the cap to itself.
      expect(aws.faults!.failures("kms:cryptographic")).toBe(12 - admitted);
      // DescribeKey has no share in the quota.
      await expect(once.send(new DescribeKeyCommand({ KeyId: keyId }))).resolves.toBeDefined();
      // The quota refills: a second after the burst, cryptographic calls pass again.
      await new Promise((resolve) => setTimeout(resolve, 1050));
      await expect(
        once.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" })),
      ).resolves.toBeDefined();
    },
  );

  itWith(aws, "faults")("counts calls per operation (e.g. KMS calls per object)", async () => {
    const faults = aws.faults!;
    faults.reset();
    for (let i = 0; i < 3; i++)
      await aws.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    await aws.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(faults.calls("kms:GenerateDataKey")).toBe(3);
    expect(faults.calls("kms:DescribeKey")).toBe(1);
    expect(faults.calls("kms:*")).toBe(4);
    expect(faults.counts()).toEqual({ "kms:GenerateDataKey": 3, "kms:DescribeKey": 1 });
    faults.reset();
    expect(faults.calls()).toBe(0);
  });
});
