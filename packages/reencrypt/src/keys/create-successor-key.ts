/**
 * `createSuccessorKey`: the new key of a manual rotation (`rekey alias cutover --to new`). It
 * copies what a new key does not inherit — description, tags and key policy — and turns
 * automatic rotation on. Grants are not copied: they name operations granted to principals at a
 * point in time, and the services that created them re-create them; the preflight lists them.
 */
import type { Tag } from "@aws-sdk/client-kms";
import { DEFAULT_ROTATION_PERIOD_DAYS } from "./classify-key.js";
import { validatePeriodDays } from "./audit-keys.js";
import { KeyToolError, kmsCall, kmsFailure } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { allKmsItems } from "../support/kms-pages.js";
import { readKeyPolicy } from "./preflight-cutover.js";
import { readRotationSettings } from "./read-rotation.js";

/** Options of {@link createSuccessorKey}. */
export interface CreateSuccessorKeyOptions {
  /** Rotation period of the new key (90–2560). @default the current key's period, else 365 */
  readonly rotationPeriodDays?: number;
}

/** The key {@link createSuccessorKey} made. */
export interface SuccessorKey {
  readonly keyId: string;
  readonly arn: string;
  readonly description: string;
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  /** The policy the new key was created with (the current key's, byte for byte). */
  readonly policy: string;
  readonly rotationPeriodDays: number;
}

/**
 * Creates a key like `currentKeyArn`, with rotation on.
 *
 * @throws KeyToolError `ERR_KMS` — when rotation cannot be enabled after the key was created, the
 *   message names the new key so it is not lost.
 * @example
 * ```ts
 * const next = await createSuccessorKey(kms, oldKeyArn);
 * await kms.updateAlias({ AliasName: "alias/app-data", TargetKeyId: next.arn });
 * ```
 */
export async function createSuccessorKey(
  kms: KmsAdminApi,
  currentKeyArn: string,
  options: CreateSuccessorKeyOptions = {},
): Promise<SuccessorKey> {
  const meta = (await kmsCall("DescribeKey", currentKeyArn, () => kms.describeKey({ KeyId: currentKeyArn })))
    .KeyMetadata;
  if (!meta?.Arn) throw new KeyToolError("ERR_KMS", `DescribeKey returned no metadata for ${currentKeyArn}`);
  const policy = await readKeyPolicy(kms, meta.Arn);
  const tags: Tag[] = await kmsCall("ListResourceTags", meta.Arn, () =>
    allKmsItems(
      (m) => kms.listResourceTags({ KeyId: meta.Arn, ...m }),
      (r) => r.Tags,
    ),
  );
  let period = options.rotationPeriodDays;
  if (period === undefined) {
    const r = await readRotationSettings(kms, meta.Arn).catch(() => undefined);
    period = r?.enabled ? (r.periodDays ?? DEFAULT_ROTATION_PERIOD_DAYS) : DEFAULT_ROTATION_PERIOD_DAYS;
  }
  validatePeriodDays(period, "the rotation period");
  const description = meta.Description ?? "";
  const created = (
    await kmsCall("CreateKey", undefined, () =>
      kms.createKey({
        Description: description,
        Policy: policy,
        KeySpec: "SYMMETRIC_DEFAULT",
        KeyUsage: "ENCRYPT_DECRYPT",
        ...(tags.length > 0 ? { Tags: tags } : {}),
      }),
    )
  ).KeyMetadata;
  if (!created?.Arn || !created.KeyId)
    throw new KeyToolError("ERR_KMS", "CreateKey returned no key metadata");
  const arn = created.Arn;
  try {
    await kms.enableKeyRotation({ KeyId: arn, RotationPeriodInDays: period });
  } catch (e) {
    const f = kmsFailure("EnableKeyRotation", arn, e);
    throw new KeyToolError("ERR_KMS", `created ${arn} but could not enable its rotation: ${f.message}`, {
      cause: e,
    });
  }
  return {
    keyId: created.KeyId,
    arn,
    description,
    tags: tags.map((t) => ({ key: t.TagKey ?? "", value: t.TagValue ?? "" })),
    policy,
    rotationPeriodDays: period,
  };
}
