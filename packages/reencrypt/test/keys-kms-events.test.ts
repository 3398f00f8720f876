/**
 * The key tooling reports every KMS call through `kmsAdminOf(client, { onKmsCall })`, with the
 * same event as the SDK's keyrings: operation, key named, key ARN and material answered,
 * duration, and the error name of a failed call.
 */
import { describe, expect, it } from "vitest";
import type { KmsCallEvent } from "@rekey/core";
import { kmsAdminOf } from "../src/keys/kms-admin.js";
import { keyRotationStatus } from "../src/keys/key-rotation-status.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

describe("kmsAdminOf onKmsCall", () => {
  it("reports each call a key tool makes, in order, with the facts KMS answered", async () => {
    const fake = new FakeKms({ pageSize: 2 });
    const key = fake.addKey({ alias: "alias/app" });
    const events: KmsCallEvent[] = [];
    const kms = kmsAdminOf(fake, { onKmsCall: (e) => events.push(e) });
    await keyRotationStatus(kms, "alias/app");
    // Every call the fake saw was reported, in the same order.
    expect(events.map((e) => e.operation)).toEqual(fake.calls.map((c) => c.op));
    expect(events.map((e) => e.operation)).toEqual([
      "DescribeKey",
      "ListAliases",
      "GetKeyRotationStatus",
      "ListKeyRotations",
    ]);
    const describe = events.find((e) => e.operation === "DescribeKey");
    expect(describe).toMatchObject({
      keyId: "alias/app",
      keyArn: key.arn,
      keyMaterialId: key.materials.at(-1)?.id,
    });
    for (const e of events) {
      expect(e.durationMs).toBeGreaterThanOrEqual(0);
      expect(e.error).toBeUndefined();
    }
  });

  it("reports a failed call with its error name, and the tool still fails as before", async () => {
    const fake = new FakeKms({ pageSize: 2 });
    fake.addKey({ alias: "alias/app" });
    fake.fail({ operation: "DescribeKey", error: "AccessDeniedException" });
    const events: KmsCallEvent[] = [];
    const kms = kmsAdminOf(fake, { onKmsCall: (e) => events.push(e) });
    await expect(keyRotationStatus(kms, "alias/app")).rejects.toMatchObject({
      kmsErrorName: "AccessDeniedException",
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      operation: "DescribeKey",
      keyId: "alias/app",
      keyArn: undefined,
      errorName: "AccessDeniedException",
    });
  });

  it("without onKmsCall, an API object is returned as it is", () => {
    const fake = new FakeKms({ pageSize: 2 });
    expect(kmsAdminOf(fake)).toBe(fake);
  });
});
