/**
 * `keyRotationStatus`: one key's rotation settings and history, for `rekey keys status`.
 * Missing pieces (no `ListKeyRotations` on LocalStack, a key kind without rotation) are
 * "unknown" with a note instead of an error.
 */
import { factsOf } from "./audit-keys.js";
import type { KeyFacts } from "./classify-key.js";
import { KeyToolError, isUnsupportedOperation, kmsCall } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { allKmsItems } from "../support/kms-pages.js";
import { readRotationHistory, readRotationSettings } from "./read-rotation.js";

/** What {@link keyRotationStatus} returns. */
export interface KeyRotationStatus extends KeyFacts {
  /** Why a part is unknown. */
  readonly notes: readonly string[];
}

/**
 * Reads a key's metadata, aliases, rotation settings and history.
 *
 * @param keyRef - Key id, key ARN, alias name or alias ARN.
 * @throws KeyToolError `ERR_KEY_NOT_FOUND` or `ERR_KMS` when the key cannot be described.
 * @example
 * ```ts
 * const s = await keyRotationStatus(kms, "alias/app-data");
 * if (s.history !== "unknown") console.log(s.history.materials, s.history.lastRotationDate);
 * ```
 */
export async function keyRotationStatus(kms: KmsAdminApi, keyRef: string): Promise<KeyRotationStatus> {
  const meta = (await kmsCall("DescribeKey", keyRef, () => kms.describeKey({ KeyId: keyRef }))).KeyMetadata;
  if (!meta?.KeyId || !meta.Arn)
    throw new KeyToolError("ERR_KMS", `DescribeKey returned no metadata for ${keyRef}`);
  const arn = meta.Arn;
  const notes: string[] = [];
  let aliases: string[] = [];
  try {
    const list = await allKmsItems(
      (m) => kms.listAliases({ KeyId: arn, ...m }),
      (r) => r.Aliases,
    );
    // Some endpoints ignore the KeyId filter: keep only this key's aliases.
    aliases = list.flatMap((a) => (a.AliasName && a.TargetKeyId === meta.KeyId ? [a.AliasName] : []));
  } catch (e) {
    notes.push(`aliases could not be listed: ${(e as Error).message}`);
  }
  let rotation: KeyFacts["rotation"] = "unknown";
  try {
    rotation = await readRotationSettings(kms, arn);
  } catch (e) {
    const cause = e instanceof KeyToolError ? e.cause : e;
    notes.push(
      isUnsupportedOperation(cause)
        ? "this key does not support automatic rotation"
        : `rotation status could not be read: ${(e as Error).message}`,
    );
  }
  let history: KeyFacts["history"] = "unknown";
  try {
    const h = await readRotationHistory(kms, arn);
    if (h === "unsupported")
      notes.push("ListKeyRotations is not supported by this endpoint: history unknown");
    else history = h;
  } catch (e) {
    notes.push(`rotation history could not be read: ${(e as Error).message}`);
  }
  return { ...factsOf(meta, aliases), rotation, history, notes };
}
