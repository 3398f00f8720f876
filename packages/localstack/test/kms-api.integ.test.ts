/**
 * KMS conformance through the test adapter, beyond rotation: key resolution, aliases, key
 * states, the exact exception classes of `@aws-sdk/client-kms`, encryption context, DryRun,
 * policy, grants and tags. Runs unchanged on every backend.
 */
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  DryRunOperationException,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetKeyPolicyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  MalformedPolicyDocumentException,
  NotFoundException,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UpdateAliasCommand,
  type AliasListEntry,
} from "@aws-sdk/client-kms";
import { randomUUID } from "node:crypto";
import { describe as group, expect, it } from "vitest";
import { itWith, useLocalAws } from "../src/vitest.js";
import { createKey, DAY, describe, uniqueAlias } from "./kms-helpers.js";

const aws = useLocalAws();
const context = { bucket: "b1", key: "objects/1" };

group("key resolution", () => {
  it("finds a key by id, key ARN, alias name and alias ARN", async () => {
    const key = await createKey(aws);
    const alias = uniqueAlias("resolve");
    await aws.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId! }));
    const aliasArn = key.Arn!.replace(/:key\/.*$/, `:${alias}`);
    for (const reference of [key.KeyId!, key.Arn!, alias, aliasArn]) {
      const metadata = await describe(aws, reference);
      expect(metadata.KeyId).toBe(key.KeyId);
      expect(metadata.Arn).toBe(key.Arn);
    }
  });

  it("describes a new key as an enabled, customer-managed, symmetric AWS_KMS key", async () => {
    const key = await createKey(aws, "described");
    expect(key).toMatchObject({
      Enabled: true,
      KeyState: "Enabled",
      KeySpec: "SYMMETRIC_DEFAULT",
      KeyUsage: "ENCRYPT_DECRYPT",
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
      Description: "described",
    });
    expect(key.Arn).toMatch(new RegExp(`^arn:aws:kms:${aws.region}:\\d{12}:key/${key.KeyId}$`));
    expect(key.CreationDate).toBeInstanceOf(Date);
    expect(key.CurrentKeyMaterialId).toBeTypeOf("string");
  });

  it("answers NotFoundException for an unknown key id, ARN or alias", async () => {
    const key = await createKey(aws);
    const missingId = randomUUID();
    for (const reference of [missingId, key.Arn!.replace(key.KeyId!, missingId), uniqueAlias("missing")]) {
      await expect(aws.kms.send(new DescribeKeyCommand({ KeyId: reference }))).rejects.toBeInstanceOf(
        NotFoundException,
      );
    }
    await expect(
      aws.kms.send(new EncryptCommand({ KeyId: uniqueAlias("missing"), Plaintext: Buffer.from("x") })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it("pages ListKeys with Limit and Marker", async () => {
    const created = new Set<string>();
    for (let i = 0; i < 3; i++) created.add((await createKey(aws)).KeyId!);
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await aws.kms.send(
        new ListKeysCommand({ Limit: 2, ...(marker === undefined ? {} : { Marker: marker }) }),
      );
      expect(page.Keys!.length).toBeLessThanOrEqual(2);
      for (const entry of page.Keys ?? []) {
        expect(entry.KeyArn).toMatch(/^arn:aws:kms:.*:key\//);
        seen.push(entry.KeyId!);
      }
      marker = page.Truncated === true ? page.NextMarker : undefined;
      pages += 1;
    } while (marker !== undefined);
    expect(pages).toBeGreaterThanOrEqual(2);
    for (const id of created) expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

group("aliases", () => {
  it("creates, lists with TargetKeyId, pages by key, updates and deletes", async () => {
    const key = await createKey(aws);
    const other = await createKey(aws);
    const names = [uniqueAlias("a"), uniqueAlias("b"), uniqueAlias("c")];
    for (const name of names)
      await aws.kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId! }));

    const listed: AliasListEntry[] = [];
    const first = await aws.kms.send(new ListAliasesCommand({ KeyId: key.KeyId!, Limit: 2 }));
    expect(first.Aliases).toHaveLength(2);
    expect(first.Truncated).toBe(true);
    listed.push(...first.Aliases!);
    const second = await aws.kms.send(
      new ListAliasesCommand({ KeyId: key.KeyId!, Limit: 2, Marker: first.NextMarker! }),
    );
    expect(second.Truncated).toBe(false);
    listed.push(...second.Aliases!);
    expect(listed.map((entry) => entry.AliasName).sort()).toEqual([...names].sort());
    for (const entry of listed) {
      expect(entry.TargetKeyId).toBe(key.KeyId);
      expect(entry.AliasArn).toBe(key.Arn!.replace(/:key\/.*$/, `:${entry.AliasName}`));
    }

    // Manual rotation: the alias moves to the new key; new data keys come from it.
    await aws.kms.send(new UpdateAliasCommand({ AliasName: names[0]!, TargetKeyId: other.KeyId! }));
    const dataKey = await aws.kms.send(new GenerateDataKeyCommand({ KeyId: names[0]!, KeySpec: "AES_256" }));
    expect(dataKey.KeyId).toBe(other.Arn);
    const byKey = await aws.kms.send(new ListAliasesCommand({ KeyId: other.KeyId! }));
    expect(byKey.Aliases?.map((entry) => entry.AliasName)).toEqual([names[0]]);

    await aws.kms.send(new DeleteAliasCommand({ AliasName: names[0]! }));
    await expect(aws.kms.send(new DescribeKeyCommand({ KeyId: names[0]! }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
  });

  it("refuses a duplicate alias with AlreadyExistsException and an unknown one with NotFoundException", async () => {
    const key = await createKey(aws);
    const name = uniqueAlias("dup");
    await aws.kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId! }));
    await expect(
      aws.kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId! })),
    ).rejects.toBeInstanceOf(AlreadyExistsException);
    await expect(
      aws.kms.send(new DeleteAliasCommand({ AliasName: uniqueAlias("nope") })),
    ).rejects.toBeInstanceOf(NotFoundException);
    await expect(
      aws.kms.send(new UpdateAliasCommand({ AliasName: uniqueAlias("nope"), TargetKeyId: key.KeyId! })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });
});

group("data keys and ciphertext", () => {
  it("generates data keys of the asked size; KeyId is the key ARN", async () => {
    const key = await createKey(aws);
    const alias = uniqueAlias("gdk");
    await aws.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId! }));
    const aes256 = await aws.kms.send(new GenerateDataKeyCommand({ KeyId: alias, KeySpec: "AES_256" }));
    expect(aes256.Plaintext).toHaveLength(32);
    expect(aes256.KeyId).toBe(key.Arn);
    const aes128 = await aws.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_128" }));
    expect(aes128.Plaintext).toHaveLength(16);
    const bytes = await aws.kms.send(new GenerateDataKeyCommand({ KeyId: key.Arn!, NumberOfBytes: 64 }));
    expect(bytes.Plaintext).toHaveLength(64);

    const without = await aws.kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: key.KeyId!,
        KeySpec: "AES_256",
        EncryptionContext: context,
      }),
    );
    expect(without).not.toHaveProperty("Plaintext");
    expect(without.KeyId).toBe(key.Arn);
    const unwrapped = await aws.kms.send(
      new DecryptCommand({ CiphertextBlob: without.CiphertextBlob, EncryptionContext: context }),
    );
    expect(unwrapped.Plaintext).toHaveLength(32);
  });

  it("answers ValidationException when neither or both of KeySpec and NumberOfBytes are given", async () => {
    const key = await createKey(aws);
    await expect(aws.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId! }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    await expect(
      aws.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_256", NumberOfBytes: 32 })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("binds the encryption context: a different, missing or extra pair is InvalidCiphertextException", async () => {
    const key = await createKey(aws);
    const { CiphertextBlob } = await aws.kms.send(
      new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("secret"), EncryptionContext: context }),
    );
    for (const wrong of [
      { ...context, key: "objects/2" },
      {},
      { ...context, extra: "1" },
      { bucket: "b1" },
    ]) {
      await expect(
        aws.kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: wrong })),
      ).rejects.toBeInstanceOf(InvalidCiphertextException);
    }
    // Pair order does not matter.
    const reordered = { key: context.key, bucket: context.bucket };
    const { Plaintext } = await aws.kms.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: reordered }),
    );
    expect(Buffer.from(Plaintext!).toString()).toBe("secret");
  });

  it("answers InvalidCiphertextException for a tampered blob", async () => {
    const key = await createKey(aws);
    const { CiphertextBlob } = await aws.kms.send(
      new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("secret") }),
    );
    const tampered = Buffer.from(CiphertextBlob!);
    tampered[tampered.length - 20]! ^= 0x01;
    await expect(aws.kms.send(new DecryptCommand({ CiphertextBlob: tampered }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
  });

  it("answers IncorrectKeyException when Decrypt names another key than the blob", async () => {
    const key = await createKey(aws);
    const other = await createKey(aws);
    const { CiphertextBlob } = await aws.kms.send(
      new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("secret") }),
    );
    await expect(
      aws.kms.send(new DecryptCommand({ CiphertextBlob, KeyId: other.KeyId! })),
    ).rejects.toBeInstanceOf(IncorrectKeyException);
  });

  itWith(aws, "reEncryptIncorrectKey")(
    "answers IncorrectKeyException when ReEncrypt names another source key than the blob",
    async () => {
      const key = await createKey(aws);
      const other = await createKey(aws);
      const { CiphertextBlob } = await aws.kms.send(
        new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("secret") }),
      );
      await expect(
        aws.kms.send(
          new ReEncryptCommand({ CiphertextBlob, SourceKeyId: other.KeyId!, DestinationKeyId: other.KeyId! }),
        ),
      ).rejects.toBeInstanceOf(IncorrectKeyException);
    },
  );

  it("re-encrypts under another key (alias cutover) and changes the encryption context", async () => {
    const oldKey = await createKey(aws);
    const newKey = await createKey(aws);
    const dataKey = await aws.kms.send(
      new GenerateDataKeyCommand({ KeyId: oldKey.KeyId!, KeySpec: "AES_256", EncryptionContext: context }),
    );
    const moved = await aws.kms.send(
      new ReEncryptCommand({
        CiphertextBlob: dataKey.CiphertextBlob,
        SourceKeyId: oldKey.KeyId!,
        SourceEncryptionContext: context,
        DestinationKeyId: newKey.Arn!,
        DestinationEncryptionContext: { ...context, moved: "yes" },
      }),
    );
    expect(moved.SourceKeyId).toBe(oldKey.Arn);
    expect(moved.KeyId).toBe(newKey.Arn);
    const unwrapped = await aws.kms.send(
      new DecryptCommand({
        CiphertextBlob: moved.CiphertextBlob,
        KeyId: newKey.KeyId!,
        EncryptionContext: { ...context, moved: "yes" },
      }),
    );
    expect(Buffer.from(unwrapped.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
  });
});

group("key states", () => {
  it("answers DisabledException for a disabled key, and works again once enabled", async () => {
    const key = await createKey(aws);
    const { CiphertextBlob } = await aws.kms.send(
      new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("secret") }),
    );
    await aws.kms.send(new DisableKeyCommand({ KeyId: key.KeyId! }));
    expect(await describe(aws, key.KeyId!)).toMatchObject({ KeyState: "Disabled", Enabled: false });
    await expect(
      aws.kms.send(new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("x") })),
    ).rejects.toBeInstanceOf(DisabledException);
    await expect(aws.kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(
      DisabledException,
    );
    await expect(
      aws.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_256" })),
    ).rejects.toBeInstanceOf(DisabledException);

    await aws.kms.send(new EnableKeyCommand({ KeyId: key.KeyId! }));
    const { Plaintext } = await aws.kms.send(new DecryptCommand({ CiphertextBlob }));
    expect(Buffer.from(Plaintext!).toString()).toBe("secret");
  });

  it("schedules deletion (7 to 30 days), refuses use with KMSInvalidStateException, and cancels to Disabled", async () => {
    const key = await createKey(aws);
    for (const days of [6, 31]) {
      await expect(
        aws.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId!, PendingWindowInDays: days })),
      ).rejects.toMatchObject({ name: "ValidationException" });
    }
    const before = Date.now();
    const scheduled = await aws.kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyId!, PendingWindowInDays: 7 }),
    );
    expect(scheduled.KeyState).toBe("PendingDeletion");
    expect(scheduled.KeyId).toBe(key.Arn);
    expect(scheduled.PendingWindowInDays).toBe(7);
    // The emulated clock may run ahead of real time after other tests advanced it.
    expect(scheduled.DeletionDate!.getTime()).toBeGreaterThanOrEqual(before + 7 * DAY - 60_000);

    const metadata = await describe(aws, key.KeyId!);
    expect(metadata).toMatchObject({ KeyState: "PendingDeletion", Enabled: false });
    expect(metadata.DeletionDate?.getTime()).toBe(scheduled.DeletionDate!.getTime());
    await expect(
      aws.kms.send(new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("x") })),
    ).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(aws.kms.send(new EnableKeyCommand({ KeyId: key.KeyId! }))).rejects.toBeInstanceOf(
      KMSInvalidStateException,
    );

    await aws.kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId! }));
    expect(await describe(aws, key.KeyId!)).toMatchObject({ KeyState: "Disabled", Enabled: false });
    await expect(aws.kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId! }))).rejects.toBeInstanceOf(
      KMSInvalidStateException,
    );
  });
});

group("DryRun", () => {
  itWith(aws, "kmsDryRun")(
    "answers DryRunOperationException when the call would succeed, the real error otherwise",
    async () => {
      const key = await createKey(aws);
      const dataKey = await aws.kms.send(
        new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_256", EncryptionContext: context }),
      );
      const calls = [
        new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("x"), DryRun: true }),
        new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_256", DryRun: true }),
        new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.KeyId!, KeySpec: "AES_256", DryRun: true }),
        new DecryptCommand({
          CiphertextBlob: dataKey.CiphertextBlob,
          EncryptionContext: context,
          DryRun: true,
        }),
        new ReEncryptCommand({
          CiphertextBlob: dataKey.CiphertextBlob,
          SourceKeyId: key.KeyId!,
          SourceEncryptionContext: context,
          DestinationKeyId: key.KeyId!,
          DryRun: true,
        }),
      ] as const;
      for (const command of calls) {
        // Each command type has its own output type; DryRun makes all of them fail the same way.
        await expect(aws.kms.send(command as EncryptCommand)).rejects.toBeInstanceOf(
          DryRunOperationException,
        );
      }
      // A dry run checks everything a real call checks.
      await expect(
        aws.kms.send(
          new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: {}, DryRun: true }),
        ),
      ).rejects.toBeInstanceOf(InvalidCiphertextException);
      await aws.kms.send(new DisableKeyCommand({ KeyId: key.KeyId! }));
      await expect(
        aws.kms.send(new EncryptCommand({ KeyId: key.KeyId!, Plaintext: Buffer.from("x"), DryRun: true })),
      ).rejects.toBeInstanceOf(DisabledException);
    },
  );

  itWith(aws, "kmsDryRun")("creates no grant on a DryRun CreateGrant", async () => {
    const key = await createKey(aws);
    await expect(
      aws.kms.send(
        new CreateGrantCommand({
          KeyId: key.KeyId!,
          GranteePrincipal: "arn:aws:iam::000000000000:role/dry",
          Operations: ["Decrypt"],
          DryRun: true,
        }),
      ),
    ).rejects.toBeInstanceOf(DryRunOperationException);
    const { Grants } = await aws.kms.send(new ListGrantsCommand({ KeyId: key.KeyId! }));
    expect(Grants ?? []).toHaveLength(0);
  });
});

group("policy, grants and tags", () => {
  it("attaches a default policy that lets the account root in, and replaces it", async () => {
    const key = await createKey(aws);
    const { Policy } = await aws.kms.send(
      new GetKeyPolicyCommand({ KeyId: key.KeyId!, PolicyName: "default" }),
    );
    const document = JSON.parse(Policy!) as {
      Statement: Array<{ Effect: string; Principal: { AWS: string } }>;
    };
    expect(document.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${key.AWSAccountId}:root` },
      }),
    );

    const replacement = {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "root",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${key.AWSAccountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
        {
          Sid: "app",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${key.AWSAccountId}:role/app` },
          Action: ["kms:Decrypt", "kms:GenerateDataKey"],
          Resource: "*",
        },
      ],
    };
    await aws.kms.send(
      new PutKeyPolicyCommand({
        KeyId: key.KeyId!,
        PolicyName: "default",
        Policy: JSON.stringify(replacement),
      }),
    );
    const after = await aws.kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId!, PolicyName: "default" }));
    expect(JSON.parse(after.Policy!)).toEqual(replacement);

    await expect(
      aws.kms.send(
        new PutKeyPolicyCommand({ KeyId: key.KeyId!, PolicyName: "default", Policy: "{not json" }),
      ),
    ).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
  });

  it("creates, lists and revokes grants", async () => {
    const key = await createKey(aws);
    const grantee = `arn:aws:iam::${key.AWSAccountId}:role/reencrypt-job`;
    const created = await aws.kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId!,
        GranteePrincipal: grantee,
        Operations: ["ReEncryptFrom", "ReEncryptTo", "Decrypt"],
        Name: "job",
      }),
    );
    expect(created.GrantId).toBeTypeOf("string");
    expect(created.GrantToken).toBeTypeOf("string");

    const { Grants } = await aws.kms.send(new ListGrantsCommand({ KeyId: key.KeyId! }));
    expect(Grants).toHaveLength(1);
    expect(Grants![0]).toMatchObject({ GrantId: created.GrantId, GranteePrincipal: grantee, Name: "job" });
    expect([...Grants![0]!.Operations!].sort()).toEqual(["Decrypt", "ReEncryptFrom", "ReEncryptTo"]);

    await aws.kms.send(new RevokeGrantCommand({ KeyId: key.KeyId!, GrantId: created.GrantId! }));
    const after = await aws.kms.send(new ListGrantsCommand({ KeyId: key.KeyId! }));
    expect(after.Grants ?? []).toHaveLength(0);
  });

  it("keeps tags from CreateKey and TagResource", async () => {
    const { KeyMetadata } = await aws.kms.send(
      new CreateKeyCommand({ Tags: [{ TagKey: "team", TagValue: "storage" }] }),
    );
    await aws.kms.send(
      new TagResourceCommand({
        KeyId: KeyMetadata!.KeyId!,
        Tags: [
          { TagKey: "env", TagValue: "test" },
          { TagKey: "team", TagValue: "platform" },
        ],
      }),
    );
    const { Tags } = await aws.kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId! }));
    const tags = Object.fromEntries((Tags ?? []).map((tag) => [tag.TagKey, tag.TagValue]));
    expect(tags).toEqual({ team: "platform", env: "test" });
  });
});
