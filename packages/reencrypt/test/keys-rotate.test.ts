import { describe, expect, it } from "vitest";
import { rotateAndWait } from "../src/keys/rotate-and-wait.js";
import { keyRotationStatus } from "../src/keys/key-rotation-status.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { fakeTime } from "./helpers/fake-time.js";

describe("rotateAndWait", () => {
  it("waits until DescribeKey reports another current material, and returns old and new ids", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({ alias: "alias/app" });
    const old = key.materials[0]!.id;
    kms.rotationDelayReads = 2;
    const time = fakeTime();
    const progress: number[] = [];
    const r = await rotateAndWait(kms, "alias/app", {
      ...time,
      intervalMs: 1000,
      onProgress: (p) => progress.push(p.elapsedMs),
    });
    expect(r.method).toBe("current-key-material-id");
    expect(r.previousKeyMaterialId).toBe(old);
    expect(r.newKeyMaterialId).toBe(key.materials[1]!.id);
    expect(r.newKeyMaterialId).not.toBe(old);
    expect(r.keyArn).toBe(key.arn);
    expect(time.sleeps).toEqual([1000, 1000]);
    expect(progress).toEqual([0, 1000]);
    expect(kms.calls.filter((c) => c.op === "RotateKeyOnDemand")).toEqual([
      { op: "RotateKeyOnDemand", keyId: key.arn },
    ]);
  });

  it("times out with ERR_ROTATION_TIMEOUT and says how to check later", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/slow" });
    kms.rotationDelayReads = 1000;
    const time = fakeTime();
    await expect(
      rotateAndWait(kms, "alias/slow", { ...time, timeoutMs: 5000, intervalMs: 2000 }),
    ).rejects.toMatchObject({
      code: "ERR_ROTATION_TIMEOUT",
      message: expect.stringContaining("rekey keys status alias/slow"),
    });
    expect(time.sleeps).toEqual([2000, 2000, 1000]); // the last wait stops at the deadline
  });

  it("falls back to ListKeyRotations when material ids are not reported", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({ alias: "alias/app" });
    kms.omitMaterialIds = true;
    kms.rotationDelayReads = 1;
    const r = await rotateAndWait(kms, "alias/app", fakeTime());
    expect(r.method).toBe("list-key-rotations");
    expect(r.previousKeyMaterialId).toBeUndefined();
    expect(r.newKeyMaterialId).toBe(key.materials[1]!.id);
  });

  it("falls back to OnDemandRotationStartDate when neither is available", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({ alias: "alias/app" });
    kms.omitMaterialIds = true;
    kms.noListKeyRotations = true;
    kms.rotationDelayReads = 3;
    const time = fakeTime();
    const r = await rotateAndWait(kms, "alias/app", time);
    expect(r.method).toBe("rotation-status");
    expect(r.newKeyMaterialId).toBeUndefined();
    expect(key.materials).toHaveLength(2);
    expect(key.onDemandRotationStartedAt).toBeUndefined();
    expect(time.sleeps.length).toBe(3);
  });

  it("explains the on-demand quota when KMS refuses with LimitExceededException", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    kms.fail({ operation: "RotateKeyOnDemand", error: "LimitExceededException", message: "limit reached" });
    await expect(rotateAndWait(kms, "alias/app", fakeTime())).rejects.toMatchObject({
      code: "ERR_KMS",
      kmsErrorName: "LimitExceededException",
      message: expect.stringMatching(/RotateKeyOnDemand.*quota/),
    });
  });

  it("a missing key is ERR_KEY_NOT_FOUND and nothing is rotated", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    await expect(rotateAndWait(kms, "alias/none", fakeTime())).rejects.toMatchObject({
      code: "ERR_KEY_NOT_FOUND",
    });
    expect(kms.calls.some((c) => c.op === "RotateKeyOnDemand")).toBe(false);
  });
});

describe("rotateAndWait interrupted", () => {
  it("while waiting: ERR_INTERRUPTED saying the rotation continues in KMS", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({ alias: "alias/app" });
    kms.rotationDelayReads = 1_000;
    const controller = new AbortController();
    const err = await rotateAndWait(kms, "alias/app", {
      intervalMs: 5,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_INTERRUPTED" });
    expect((err as Error).message).toMatch(
      new RegExp(`the on-demand rotation of ${key.arn} requested at .* continues in KMS`),
    );
    expect((err as Error).message).toContain("rekey keys status alias/app");
    expect(kms.calls.filter((c) => c.op === "RotateKeyOnDemand")).toHaveLength(1);
  });

  it("before the request: ERR_INTERRUPTED and nothing is rotated", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.addKey({ alias: "alias/app" });
    const controller = new AbortController();
    controller.abort();
    await expect(
      rotateAndWait(kms, "alias/app", { ...fakeTime(), signal: controller.signal }),
    ).rejects.toMatchObject({
      code: "ERR_INTERRUPTED",
      message: expect.stringContaining("nothing was rotated"),
    });
    expect(kms.calls.some((c) => c.op === "RotateKeyOnDemand")).toBe(false);
  });
});

describe("keyRotationStatus", () => {
  it("reports settings, aliases and the history", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    const key = kms.addKey({
      rotation: 180,
      alias: "alias/app",
      lastRotationDaysAgo: 20,
      createdDaysAgo: 400,
    });
    kms.addKey({ alias: "alias/other" });
    const s = await keyRotationStatus(kms, "alias/app");
    expect(s.arn).toBe(key.arn);
    expect(s.aliases).toEqual(["alias/app"]);
    expect(s.rotation).toMatchObject({ enabled: true, periodDays: 180 });
    expect(s.history).toMatchObject({ materials: 2, lastRotationType: "AUTOMATIC" });
    expect(s.currentKeyMaterialId).toBe(key.materials[1]!.id);
    expect(s.notes).toEqual([]);
  });

  it("history 'unknown' with a note where ListKeyRotations is missing; a note for keys that cannot rotate", async () => {
    const kms = new FakeKms({ pageSize: 2 });
    kms.noListKeyRotations = true;
    kms.addKey({ alias: "alias/app" });
    const s = await keyRotationStatus(kms, "alias/app");
    expect(s.history).toBe("unknown");
    expect(s.notes).toEqual([expect.stringMatching(/ListKeyRotations is not supported/)]);
    kms.addKey({ alias: "alias/sign", spec: "RSA_2048", usage: "SIGN_VERIFY" });
    const rsa = await keyRotationStatus(kms, "alias/sign");
    expect(rsa.rotation).toBe("unknown");
    expect(rsa.notes).toContain("this key does not support automatic rotation");
  });
});
