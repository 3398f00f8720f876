/**
 * The keyring of a file command from its options: KMS (`--key`, `--allow-key`), raw AES
 * (`--raw-key-file`), or both (a multi-keyring: encrypt wraps the data key for each; decrypt
 * uses the first that unwraps).
 */
import {
  KmsKeyring,
  MultiKeyring,
  RawAesKeyring,
  isKeyArn,
  type Keyring,
  type KmsClientLike,
} from "@rekey/core";
import { FileError } from "./errors.js";
import { readRawKeyFile } from "./read-raw-key.js";

/** The default name of the raw AES wrapping key (stored in each message's entry). */
export const DEFAULT_RAW_KEY_NAME = "rekey-raw";

/** Keyring options of `encrypt` and `decrypt`. */
export interface KeyringFlags {
  /** KMS key id, key ARN, alias name or alias ARN. */
  readonly key?: string;
  /** Decrypt only: more key ARNs whose entries may be decrypted. @default [] */
  readonly allowKey?: readonly string[];
  /** A file with the raw AES wrapping key. */
  readonly rawKeyFile?: string;
  /** The raw key's name. @default "rekey-raw" */
  readonly rawKeyName?: string;
}

/**
 * Builds the keyring. The KMS client is created only when a KMS option is given.
 *
 * @throws FileError `ERR_USAGE` when no key option is given or an allowed key is not an ARN.
 * @example
 * ```ts
 * const keyring = await buildKeyring("encrypt", { key: "alias/app" }, () => new KMSClient({}));
 * ```
 */
export async function buildKeyring(
  purpose: "encrypt" | "decrypt",
  flags: KeyringFlags,
  kmsClient: () => KmsClientLike,
): Promise<Keyring> {
  const allow = purpose === "decrypt" ? (flags.allowKey ?? []) : [];
  if (purpose === "encrypt" && (flags.allowKey ?? []).length > 0)
    throw new FileError("ERR_USAGE", "--allow-key is for decrypt; encrypt with --key");
  for (const arn of allow) {
    if (!isKeyArn(arn)) throw new FileError("ERR_USAGE", `--allow-key takes a key ARN, not "${arn}"`);
  }
  const keyrings: Keyring[] = [];
  if (flags.key || allow.length > 0) {
    keyrings.push(
      new KmsKeyring({
        client: kmsClient(),
        ...(flags.key ? { keyId: flags.key } : {}),
        ...(allow.length > 0 ? { allowedKeyArns: allow } : {}),
      }),
    );
  }
  if (flags.rawKeyFile) {
    keyrings.push(
      new RawAesKeyring({
        name: flags.rawKeyName ?? DEFAULT_RAW_KEY_NAME,
        key: await readRawKeyFile(flags.rawKeyFile),
      }),
    );
  } else if (flags.rawKeyName) {
    throw new FileError("ERR_USAGE", "--raw-key-name needs --raw-key-file");
  }
  const [only, ...more] = keyrings;
  if (!only) {
    throw new FileError(
      "ERR_USAGE",
      purpose === "encrypt"
        ? "name a key: --key <id|arn|alias> (KMS) or --raw-key-file <file>"
        : "name the key to decrypt with: --key, --allow-key <arn> (KMS) or --raw-key-file <file>",
    );
  }
  return more.length === 0 ? only : new MultiKeyring(keyrings);
}
