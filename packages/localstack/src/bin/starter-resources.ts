/**
 * What `rekey-emulator --create-key --alias NAME --bucket NAME` makes once it listens: a
 * symmetric key with automatic rotation on, an alias for it, a bucket — created through the
 * emulator's own endpoint with the SDK, exactly as a user's first commands would.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** What to create. */
export interface StarterRequest {
  /** Create a key (implied by `alias`). */
  readonly createKey?: boolean;
  /** `NAME` or `alias/NAME`: an alias for the key. */
  readonly alias?: string;
  /** A bucket of this name. */
  readonly bucket?: string;
}

/** What was created. */
export interface StarterResources {
  readonly keyArn?: string;
  /** `alias/NAME`. */
  readonly alias?: string;
  readonly bucket?: string;
}

/** Rotation period of the starter key: KMS's default. */
export const STARTER_ROTATION_PERIOD_DAYS = 365;

/**
 * Checks the names before the emulator starts, so a typo fails at once and in one line.
 *
 * @returns The problem, or `undefined` when the request is valid.
 * @example
 * ```ts
 * starterProblem({ bucket: "My_Bucket" }); // "--bucket takes 3-63 lowercase letters, ..."
 * ```
 */
export function starterProblem(request: StarterRequest): string | undefined {
  if (request.alias !== undefined) {
    const full = request.alias.startsWith("alias/") ? request.alias : `alias/${request.alias}`;
    if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(full) || full.startsWith("alias/aws/"))
      return `--alias takes letters, digits, '/', '_' and '-' and cannot start with aws/, not "${request.alias}"`;
  }
  if (request.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(request.bucket))
    return `--bucket takes 3-63 lowercase letters, digits, '.' and '-', not "${request.bucket}"`;
  return undefined;
}

/**
 * Creates the requested key, alias and bucket at `endpoint`.
 *
 * @example
 * ```ts
 * const made = await createStarterResources(emulator.endpoint, emulator.region, { alias: "app" });
 * ```
 */
export async function createStarterResources(
  endpoint: string,
  region: string,
  request: StarterRequest,
): Promise<StarterResources> {
  const common = { endpoint, region, credentials: { accessKeyId: "test", secretAccessKey: "test" } };
  let keyArn: string | undefined;
  let alias: string | undefined;
  if (request.createKey === true || request.alias !== undefined) {
    const kms = new KMSClient(common);
    try {
      const created = await kms.send(new CreateKeyCommand({ Description: "rekey-emulator starter key" }));
      const keyId = created.KeyMetadata?.KeyId ?? "";
      keyArn = created.KeyMetadata?.Arn;
      await kms.send(
        new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: STARTER_ROTATION_PERIOD_DAYS }),
      );
      if (request.alias !== undefined) {
        alias = request.alias.startsWith("alias/") ? request.alias : `alias/${request.alias}`;
        await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
      }
    } finally {
      kms.destroy();
    }
  }
  if (request.bucket !== undefined) {
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: request.bucket }));
    } finally {
      s3.destroy();
    }
  }
  return {
    ...(keyArn === undefined ? {} : { keyArn }),
    ...(alias === undefined ? {} : { alias }),
    ...(request.bucket === undefined ? {} : { bucket: request.bucket }),
  };
}
