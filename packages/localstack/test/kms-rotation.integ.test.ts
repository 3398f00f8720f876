/**
 * KMS rotation conformance through the test adapter: the same file runs on the built-in
 * emulator, LocalStack or an endpoint from the environment, and skips (with the reason) only
 * what the backend lacks.
 *
 * Rotation tests must prove that the material really changed, because an emulator whose
 * rotation only writes a history entry makes "old data still decrypts" pass trivially: the
 * material id must move, and a rewrap must land on the new material.
 */
import {
  CancelKeyDeletionCommand,
  DecryptCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  LimitExceededException,
  ListKeyRotationsCommand,
  paginateListKeyRotations,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type RotationsListEntry,
} from "@aws-sdk/client-kms";
import { describe as group, expect, it } from "vitest";
import { itWith, useLocalAws } from "../src/vitest.js";
import { createKey, DAY, describe, MATERIAL_ID, waitForNewMaterial } from "./kms-helpers.js";

const aws = useLocalAws();
const context = { purpose: "rotation-test", tenant: "t1" };

async function rotationStatus(keyId: string) {
  return aws.kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
}

async function allRotations(keyId: string, include?: "ALL_KEY_MATERIAL" | "ROTATIONS_ONLY") {
  const entries: RotationsListEntry[] = [];
  const pages = paginateListKeyRotations(
    { client: aws.kms, pageSize: 1 },
    { KeyId: keyId, ...(include === undefined ? {} : { IncludeKeyMaterial: include }) },
  );
  for await (const page of pages) entries.push(...(page.Rotations ?? []));
  return entries;
}

group("on-demand rotation", () => {
  it("moves CurrentKeyMaterialId to new material, and old ciphertext still decrypts", async () => {
    const key = await createKey(aws);
    const keyId = key.KeyId!;
    const before = key.CurrentKeyMaterialId;
    expect(before).toBeTypeOf("string");

    const dataKey = await aws.kms.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context }),
    );
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const after = await waitForNewMaterial(aws, keyId, before!);
    expect(after).not.toBe(before);
    // The key itself does not change: same id and ARN.
    expect((await describe(aws, keyId)).Arn).toBe(key.Arn);

    const decrypted = await aws.kms.send(
      new DecryptCommand({
        CiphertextBlob: dataKey.CiphertextBlob,
        EncryptionContext: context,
        KeyId: keyId,
      }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
    expect(decrypted.KeyId).toBe(key.Arn);

    // ReEncrypt onto the key's current material: new wrapped bytes for the same data key, and
    // the old blob keeps decrypting beside it.
    const rewrapped = await aws.kms.send(
      new ReEncryptCommand({
        CiphertextBlob: dataKey.CiphertextBlob,
        SourceKeyId: keyId,
        SourceEncryptionContext: context,
        DestinationKeyId: keyId,
        DestinationEncryptionContext: context,
      }),
    );
    expect(Buffer.from(rewrapped.CiphertextBlob!)).not.toEqual(Buffer.from(dataKey.CiphertextBlob!));
    const moved = await aws.kms.send(
      new DecryptCommand({
        CiphertextBlob: rewrapped.CiphertextBlob,
        EncryptionContext: context,
        KeyId: keyId,
      }),
    );
    expect(Buffer.from(moved.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
    const again = await aws.kms.send(
      new DecryptCommand({
        CiphertextBlob: dataKey.CiphertextBlob,
        EncryptionContext: context,
        KeyId: keyId,
      }),
    );
    expect(Buffer.from(again.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));

    // New bytes alone prove little (every wrap draws a fresh nonce). That the rewrap landed on
    // other material is shown by the material ids, wherever the backend exposes them: in the
    // answers, or behind the API.
    if (aws.capabilities.keyMaterialIdInResponses) {
      expect(rewrapped).toMatchObject({ SourceKeyMaterialId: before, DestinationKeyMaterialId: after });
      expect(moved.KeyMaterialId).toBe(after);
      expect(again.KeyMaterialId).toBe(before);
    }
    if (aws.emulator !== undefined) {
      expect(aws.emulator.readCiphertext(dataKey.CiphertextBlob!)?.keyMaterialId).toBe(before);
      expect(aws.emulator.readCiphertext(rewrapped.CiphertextBlob!)?.keyMaterialId).toBe(after);
    }
  });

  itWith(aws, "keyMaterialIdInResponses")(
    "names the material in GenerateDataKey, Decrypt and ReEncrypt, and ReEncrypt moves a blob onto the current material",
    async () => {
      const key = await createKey(aws);
      const keyId = key.KeyId!;
      const first = key.CurrentKeyMaterialId!;
      expect(first).toMatch(MATERIAL_ID);

      const dataKey = await aws.kms.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: context }),
      );
      expect(dataKey.KeyMaterialId).toBe(first);

      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const second = await waitForNewMaterial(aws, keyId, first);
      expect(second).toMatch(MATERIAL_ID);

      // New data keys are wrapped under the new material, old blobs still name the old one.
      const fresh = await aws.kms.send(
        new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 32, EncryptionContext: context }),
      );
      expect(fresh.KeyMaterialId).toBe(second);
      const old = await aws.kms.send(
        new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }),
      );
      expect(old.KeyMaterialId).toBe(first);

      const rewrapped = await aws.kms.send(
        new ReEncryptCommand({
          CiphertextBlob: dataKey.CiphertextBlob,
          SourceKeyId: keyId,
          SourceEncryptionContext: context,
          DestinationKeyId: keyId,
          DestinationEncryptionContext: context,
        }),
      );
      expect(rewrapped.SourceKeyId).toBe(key.Arn);
      expect(rewrapped.KeyId).toBe(key.Arn);
      expect(rewrapped.SourceKeyMaterialId).toBe(first);
      expect(rewrapped.DestinationKeyMaterialId).toBe(second);
      expect(Buffer.from(rewrapped.CiphertextBlob!)).not.toEqual(Buffer.from(dataKey.CiphertextBlob!));

      // The rewrapped blob unwraps to the same data key, now under the current material.
      const moved = await aws.kms.send(
        new DecryptCommand({ CiphertextBlob: rewrapped.CiphertextBlob, EncryptionContext: context }),
      );
      expect(moved.KeyMaterialId).toBe(second);
      expect(Buffer.from(moved.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
    },
  );

  it("Encrypt answers without a KeyMaterialId", async () => {
    const key = await createKey(aws);
    const encrypted = await aws.kms.send(
      new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("x") }),
    );
    expect(encrypted.KeyId).toBe(key.Arn);
    expect(encrypted).not.toHaveProperty("KeyMaterialId");
  });

  it("refuses on-demand rotation past the per-key limit with LimitExceededException", async () => {
    const key = await createKey(aws);
    const keyId = key.KeyId!;
    let material = key.CurrentKeyMaterialId!;
    for (let i = 0; i < aws.capabilities.onDemandRotationLimit; i++) {
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      material = await waitForNewMaterial(aws, keyId, material);
    }
    // LimitExceededException counts as throttling for the SDK's retry strategy: one attempt only.
    const once = aws.createKmsClient({ maxAttempts: 1 });
    await expect(once.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(
      LimitExceededException,
    );
    once.destroy();
  });

  it("refuses on-demand rotation of a disabled key", async () => {
    const key = await createKey(aws);
    await aws.kms.send(new DisableKeyCommand({ KeyId: key.KeyId! }));
    await expect(aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId! }))).rejects.toMatchObject({
      name: "DisabledException",
    });
  });
});

group("ListKeyRotations", () => {
  itWith(aws, "listKeyRotations")("lists each rotation with its material, state, date and type", async () => {
    const key = await createKey(aws);
    const keyId = key.KeyId!;
    const first = key.CurrentKeyMaterialId!;
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const second = await waitForNewMaterial(aws, keyId, first);
    await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const third = await waitForNewMaterial(aws, keyId, second);

    const rotations = await allRotations(keyId);
    expect(rotations.map((entry) => entry.KeyMaterialId)).toEqual([second, third]);
    expect(rotations.map((entry) => entry.KeyMaterialState)).toEqual(["NON_CURRENT", "CURRENT"]);
    for (const entry of rotations) {
      expect(entry.RotationType).toBe("ON_DEMAND");
      expect(entry.RotationDate).toBeInstanceOf(Date);
    }

    const all = await allRotations(keyId, "ALL_KEY_MATERIAL");
    expect(all.map((entry) => entry.KeyMaterialId)).toEqual([first, second, third]);
    // The first material was not made by a rotation: no type, no date.
    expect(all[0]?.RotationType).toBeUndefined();
    expect(all[0]?.RotationDate).toBeUndefined();
    expect(all[0]?.KeyMaterialState).toBe("NON_CURRENT");
  });

  itWith(aws, "listKeyRotations")("pages with Limit and Marker", async () => {
    const key = await createKey(aws);
    let material = key.CurrentKeyMaterialId!;
    for (let i = 0; i < 3; i++) {
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId! }));
      material = await waitForNewMaterial(aws, key.KeyId!, material);
    }
    const first = await aws.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId!, Limit: 2 }));
    expect(first.Rotations).toHaveLength(2);
    expect(first.Truncated).toBe(true);
    const rest = await aws.kms.send(
      new ListKeyRotationsCommand({ KeyId: key.KeyId!, Limit: 2, Marker: first.NextMarker! }),
    );
    expect(rest.Rotations).toHaveLength(1);
    expect(rest.Truncated).toBe(false);
    expect(rest.Rotations?.[0]?.KeyMaterialId).toBe(material);
  });
});

group("automatic rotation", () => {
  it("validates RotationPeriodInDays (90 to 2560, default 365)", async () => {
    const key = await createKey(aws);
    const keyId = key.KeyId!;
    for (const days of [89, 2561]) {
      await expect(
        aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: days })),
      ).rejects.toMatchObject({ name: "ValidationException" });
    }
    expect((await rotationStatus(keyId)).KeyRotationEnabled).toBe(false);

    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
    let status = await rotationStatus(keyId);
    expect(status.KeyRotationEnabled).toBe(true);
    expect(status.RotationPeriodInDays).toBe(365);

    for (const days of [90, 2560]) {
      await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: days }));
      status = await rotationStatus(keyId);
      expect(status.RotationPeriodInDays).toBe(days);
    }

    await aws.kms.send(new DisableKeyRotationCommand({ KeyId: keyId }));
    expect((await rotationStatus(keyId)).KeyRotationEnabled).toBe(false);
  });

  it("reports rotation off for a key pending deletion", async () => {
    const key = await createKey(aws);
    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId!, RotationPeriodInDays: 90 }));
    await aws.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId!, PendingWindowInDays: 7 }));
    expect((await rotationStatus(key.KeyId!)).KeyRotationEnabled).toBe(false);
  });

  itWith(aws, "clock")("rotates when the clock passes NextRotationDate, once per period", async () => {
    const key = await createKey(aws);
    const keyId = key.KeyId!;
    const first = key.CurrentKeyMaterialId!;
    const enabledAt = aws.clock!.now().getTime();
    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    const next = (await rotationStatus(keyId)).NextRotationDate!;
    expect(Math.abs(next.getTime() - (enabledAt + 90 * DAY))).toBeLessThan(60_000);

    await aws.clock!.advance(89 * DAY);
    expect((await describe(aws, keyId)).CurrentKeyMaterialId).toBe(first);

    await aws.clock!.advance(2 * DAY);
    const second = (await describe(aws, keyId)).CurrentKeyMaterialId!;
    expect(second).not.toBe(first);
    const rotations = await allRotations(keyId);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({ KeyMaterialId: second, RotationType: "AUTOMATIC" });
    expect(rotations[0]?.RotationDate?.getTime()).toBe(next.getTime());
    expect((await rotationStatus(keyId)).NextRotationDate?.getTime()).toBe(next.getTime() + 90 * DAY);

    // Old ciphertext still decrypts; a jump over two periods rotates twice.
    await aws.clock!.advance(180 * DAY);
    const history = await allRotations(keyId, "ALL_KEY_MATERIAL");
    expect(history).toHaveLength(4);
    expect(new Set(history.map((entry) => entry.KeyMaterialId)).size).toBe(4);
    expect(history.slice(1).every((entry) => entry.RotationType === "AUTOMATIC")).toBe(true);
  });

  itWith(aws, "clock")(
    "does not rotate a disabled key, and rotates at once on re-enable when overdue",
    async () => {
      const key = await createKey(aws);
      const keyId = key.KeyId!;
      const first = key.CurrentKeyMaterialId!;
      await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      await aws.kms.send(new DisableKeyCommand({ KeyId: keyId }));
      await aws.clock!.advance(200 * DAY);
      expect((await describe(aws, keyId)).CurrentKeyMaterialId).toBe(first);
      // Disabling a key does not change its rotation setting, and the next date it reports is
      // never in the past: overdue, it would rotate the moment it is enabled again.
      const whileDisabled = await rotationStatus(keyId);
      expect(whileDisabled.KeyRotationEnabled).toBe(true);
      expect(whileDisabled.NextRotationDate!.getTime()).toBeGreaterThanOrEqual(
        aws.clock!.now().getTime() - 60_000,
      );

      await aws.kms.send(new EnableKeyCommand({ KeyId: keyId }));
      const second = (await describe(aws, keyId)).CurrentKeyMaterialId!;
      expect(second).not.toBe(first);
      expect(await allRotations(keyId)).toHaveLength(1);
      const next = (await rotationStatus(keyId)).NextRotationDate!;
      expect(Math.abs(next.getTime() - (aws.clock!.now().getTime() + 90 * DAY))).toBeLessThan(60_000);
    },
  );

  itWith(aws, "clock")(
    "resumes the original schedule on re-enable when the material is younger",
    async () => {
      const key = await createKey(aws);
      const keyId = key.KeyId!;
      await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      await aws.clock!.advance(60 * DAY);
      await aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      const onDemand = (await describe(aws, keyId)).CurrentKeyMaterialId!;
      await aws.kms.send(new DisableKeyCommand({ KeyId: keyId }));
      await aws.clock!.advance(40 * DAY); // the scheduled date passed while disabled
      await aws.kms.send(new EnableKeyCommand({ KeyId: keyId }));
      // The on-demand material is 40 days old: no catch-up rotation; the day-90 date was missed,
      // so the next one is day 180 of the original schedule, 80 days from now.
      expect((await describe(aws, keyId)).CurrentKeyMaterialId).toBe(onDemand);
      const next = (await rotationStatus(keyId)).NextRotationDate!;
      expect(Math.abs(next.getTime() - (aws.clock!.now().getTime() + 80 * DAY))).toBeLessThan(60_000);
    },
  );

  itWith(aws, "clock")(
    "a new period on an enabled key rotates at most once, dated now, then follows the new period",
    async () => {
      const key = await createKey(aws);
      const keyId = key.KeyId!;
      await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 365 }));
      await aws.clock!.advance(300 * DAY);
      expect(await allRotations(keyId)).toHaveLength(0);

      // 90 days from the day rotation was enabled passed 210 days ago: one catch-up, not three.
      await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      const now = aws.clock!.now().getTime();
      const rotations = await allRotations(keyId);
      expect(rotations).toHaveLength(1);
      expect(rotations[0]).toMatchObject({ RotationType: "AUTOMATIC", KeyMaterialState: "CURRENT" });
      expect(Math.abs(rotations[0]!.RotationDate!.getTime() - now)).toBeLessThan(60_000);
      expect((await describe(aws, keyId)).CurrentKeyMaterialId).toBe(rotations[0]!.KeyMaterialId);
      const status = await rotationStatus(keyId);
      expect(status.RotationPeriodInDays).toBe(90);
      expect(Math.abs(status.NextRotationDate!.getTime() - (now + 90 * DAY))).toBeLessThan(60_000);
    },
  );

  itWith(aws, "clock")("a new period not yet due moves the next date and rotates nothing", async () => {
    const key = await createKey(aws);
    const keyId = key.KeyId!;
    const enabledAt = aws.clock!.now().getTime();
    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 365 }));
    await aws.clock!.advance(30 * DAY);
    await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    expect(await allRotations(keyId)).toHaveLength(0);
    const next = (await rotationStatus(keyId)).NextRotationDate!;
    expect(Math.abs(next.getTime() - (enabledAt + 90 * DAY))).toBeLessThan(60_000);
  });

  itWith(aws, "clock")(
    "does not rotate a key pending deletion; cancelling restores the setting",
    async () => {
      const key = await createKey(aws);
      const keyId = key.KeyId!;
      const first = key.CurrentKeyMaterialId!;
      await aws.kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      await aws.clock!.advance(85 * DAY);
      await aws.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 30 }));
      await aws.clock!.advance(10 * DAY);
      expect((await describe(aws, keyId)).CurrentKeyMaterialId).toBe(first);
      expect((await rotationStatus(keyId)).KeyRotationEnabled).toBe(false);

      await aws.kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
      expect((await describe(aws, keyId)).KeyState).toBe("Disabled");
      expect((await rotationStatus(keyId)).KeyRotationEnabled).toBe(true);
    },
  );
});
