/** Shared steps of the KMS integration tests; they run unchanged on every backend. */
import { randomUUID } from "node:crypto";
import { CreateKeyCommand, DescribeKeyCommand, type KeyMetadata } from "@aws-sdk/client-kms";
import type { LocalAws } from "../src/index.js";

/** Milliseconds in a day. */
export const DAY = 24 * 60 * 60 * 1000;

/** A fresh symmetric key; shared backends keep earlier keys, so tests never assume an empty account. */
export async function createKey(aws: LocalAws, description = "rekey localstack test"): Promise<KeyMetadata> {
  const { KeyMetadata } = await aws.kms.send(new CreateKeyCommand({ Description: description }));
  if (KeyMetadata?.KeyId === undefined) throw new Error("CreateKey returned no KeyId");
  return KeyMetadata;
}

/** The key's metadata now. */
export async function describe(aws: LocalAws, keyId: string): Promise<KeyMetadata> {
  const { KeyMetadata } = await aws.kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  if (KeyMetadata === undefined) throw new Error("DescribeKey returned no metadata");
  return KeyMetadata;
}

/**
 * Waits until `CurrentKeyMaterialId` differs from `previous`: real KMS rotates on demand in the
 * background; emulators answer at once, so the first read usually succeeds.
 */
export async function waitForNewMaterial(aws: LocalAws, keyId: string, previous: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = (await describe(aws, keyId)).CurrentKeyMaterialId;
    if (current !== undefined && current !== previous) return current;
    if (Date.now() > deadline) throw new Error(`key ${keyId} still has material ${previous}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** An alias name no other test run uses. */
export function uniqueAlias(label: string): string {
  return `alias/rekey-test/${label}-${randomUUID().slice(0, 8)}`;
}

/** Matches a KeyMaterialId: 64 lowercase hex characters. */
export const MATERIAL_ID = /^[0-9a-f]{64}$/;
