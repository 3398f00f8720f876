/**
 * `rekey keys create`: a symmetric encryption key with automatic rotation on, and optionally an
 * alias — the first key of a new user, without the AWS CLI.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from "@aws-sdk/client-kms";
import type { Command } from "commander";
import { KeyToolError } from "../keys/errors.js";
import { errorNameOf } from "../errors.js";
import { awsOptionsOf, withAwsOptions, type AwsFlags } from "./util/aws-options.js";
import type { CliContext } from "./util/context.js";
import { wantsJson, withOutputOptions, writeJson, writeLines, type OutputFlags } from "./util/output.js";
import { UsageError, wholeNumberArg } from "./util/usage-error.js";

/** Rotation period of a new key when `--rotation-period-days` is not given (KMS's own default). */
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;

interface CreateFlags extends AwsFlags, OutputFlags {
  readonly alias?: string;
  readonly description?: string;
  readonly rotationPeriodDays: number;
  readonly rotation: boolean;
}

/** What `keys create` made, as its JSON prints it. */
export interface CreatedKey {
  readonly keyId: string;
  readonly keyArn: string;
  /** `alias/NAME`, when `--alias` was given. */
  readonly alias?: string;
  readonly rotationEnabled: boolean;
  /** The automatic rotation period, when rotation is on. */
  readonly rotationPeriodDays?: number;
}

/**
 * `alias/NAME` from `NAME` or `alias/NAME`.
 *
 * @throws UsageError for names KMS refuses (reserved `alias/aws/`, characters outside
 *   `a-zA-Z0-9/_-`).
 * @example
 * ```ts
 * aliasName("app-data"); // "alias/app-data"
 * ```
 */
export function aliasName(name: string): string {
  const full = name.startsWith("alias/") ? name : `alias/${name}`;
  if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(full))
    throw new UsageError(`--alias takes letters, digits, '/', '_' and '-' (at most 250), not "${name}"`);
  if (full.startsWith("alias/aws/"))
    throw new UsageError(`--alias cannot start with alias/aws/ (reserved by AWS)`);
  return full;
}

function kmsFailure(step: string, e: unknown): KeyToolError {
  const name = errorNameOf(e);
  return new KeyToolError("ERR_KMS", `${step}: ${(e as Error).message}${name ? ` (${name})` : ""}`, {
    cause: e,
    kmsErrorName: name,
  });
}

async function createAction(ctx: CliContext, flags: CreateFlags): Promise<void> {
  const alias = flags.alias === undefined ? undefined : aliasName(flags.alias);
  const kms: KMSClient = ctx.kmsClient(awsOptionsOf(flags));
  let created;
  try {
    created = await kms.send(
      new CreateKeyCommand({
        KeySpec: "SYMMETRIC_DEFAULT",
        KeyUsage: "ENCRYPT_DECRYPT",
        ...(flags.description === undefined ? {} : { Description: flags.description }),
      }),
    );
  } catch (e) {
    throw kmsFailure("cannot create the key", e);
  }
  const keyId = created.KeyMetadata?.KeyId;
  const keyArn = created.KeyMetadata?.Arn;
  if (!keyId || !keyArn) throw new KeyToolError("ERR_KMS", "CreateKey answered without a key id and ARN");
  try {
    if (flags.rotation)
      await kms.send(
        new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: flags.rotationPeriodDays }),
      );
    if (alias !== undefined) await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  } catch (e) {
    // A half-made key (no rotation, or no alias) is not left behind as if it were usable.
    await kms
      .send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }))
      .catch(() => undefined);
    throw kmsFailure(
      `created ${keyArn} but could not ${flags.rotation ? "enable its rotation or " : ""}create ${alias ?? "the alias"}; its deletion is scheduled in 7 days`,
      e,
    );
  }
  const result: CreatedKey = {
    keyId,
    keyArn,
    ...(alias === undefined ? {} : { alias }),
    rotationEnabled: flags.rotation,
    ...(flags.rotation ? { rotationPeriodDays: flags.rotationPeriodDays } : {}),
  };
  if (wantsJson(flags)) writeJson(ctx.stdout, result);
  else
    writeLines(ctx.stdout, [
      `Created ${keyArn}`,
      ...(alias === undefined ? [] : [`Alias ${alias} points at it`]),
      flags.rotation
        ? `Automatic rotation on, every ${flags.rotationPeriodDays} days`
        : "Automatic rotation off (--no-rotation)",
    ]);
}

/**
 * Registers `keys create` on the `keys` command.
 *
 * @example
 * ```ts
 * registerCreateKey(program.command("keys"), processContext()); // rekey keys create --alias app-data
 * ```
 */
export function registerCreateKey(keys: Command, ctx: CliContext): void {
  withOutputOptions(
    withAwsOptions(
      keys
        .command("create")
        .description("Create a symmetric KMS key with automatic rotation on, and optionally an alias")
        .option("--alias <name>", "also create this alias for it (NAME or alias/NAME)")
        .option("--description <text>", "the key's description")
        .option(
          "--rotation-period-days <days>",
          "automatic rotation period (90-2560)",
          wholeNumberArg("--rotation-period-days", 90, 2560),
          DEFAULT_ROTATION_PERIOD_DAYS,
        )
        .option("--no-rotation", "leave automatic rotation off"),
    ),
    "one JSON document",
  ).action((flags: CreateFlags) => createAction(ctx, flags));
}
