/**
 * How the examples reach AWS. The rule, first match wins:
 *
 * 1. `REKEY_TARGET=aws` → real AWS; `REKEY_TARGET=emulator` → the built-in emulator, whatever
 *    else is set;
 * 2. `AWS_ENDPOINT_URL` set → that endpoint (LocalStack, or `pnpm emulator` in another shell);
 * 3. `AWS_PROFILE` or `AWS_ACCESS_KEY_ID` set → real AWS, with the SDK's default credential chain
 *    and Region (`AWS_REGION`, the profile's);
 * 4. nothing of the above → the built-in emulator on loopback (nothing to set up).
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { startLocalAws } from "@rekey/localstack";

/** The environment variables the rule reads. */
export type ExampleEnv = Readonly<Record<string, string | undefined>>;

/** Where an example runs, and why. */
export interface ExampleTarget {
  readonly kind: "aws" | "endpoint" | "emulator";
  /** The variable that decided, for the first line an example prints. */
  readonly why: string;
}

/**
 * Applies the rule above.
 *
 * @throws Error for a `REKEY_TARGET` other than `aws` or `emulator`.
 * @example
 * ```ts
 * exampleTarget({}); // { kind: "emulator", why: "no AWS_PROFILE, AWS_ACCESS_KEY_ID or AWS_ENDPOINT_URL" }
 * exampleTarget({ AWS_PROFILE: "dev" }); // { kind: "aws", why: "AWS_PROFILE is set" }
 * ```
 */
export function exampleTarget(env: ExampleEnv): ExampleTarget {
  const forced = env["REKEY_TARGET"];
  if (forced === "aws") return { kind: "aws", why: "REKEY_TARGET=aws" };
  if (forced === "emulator") return { kind: "emulator", why: "REKEY_TARGET=emulator" };
  if (forced) throw new Error(`REKEY_TARGET is aws or emulator, not "${forced}"`);
  if (env["AWS_ENDPOINT_URL"]) return { kind: "endpoint", why: "AWS_ENDPOINT_URL is set" };
  for (const name of ["AWS_PROFILE", "AWS_ACCESS_KEY_ID"])
    if (env[name]) return { kind: "aws", why: `${name} is set` };
  return { kind: "emulator", why: "no AWS_PROFILE, AWS_ACCESS_KEY_ID or AWS_ENDPOINT_URL" };
}

/** Clients for an example, and how to let go of them. */
export interface ExampleAws {
  readonly kms: KMSClient;
  readonly s3: S3Client;
  readonly target: ExampleTarget;
  /** One line: where, and why. */
  readonly where: string;
  /** What the example created so far: printed as cleanup commands on real AWS, also after a failure. */
  readonly created: { keys: string[]; aliases: string[]; buckets: string[] };
  close(): Promise<void>;
}

/** What every example's `main` takes. */
export interface ExampleOptions {
  /** Where lines go. @default console.log */
  readonly log?: (line: string) => void;
  /** Records to write. @default the example's own */
  readonly count?: number;
  /** The variables {@link exampleTarget} reads. @default process.env */
  readonly env?: ExampleEnv;
}

/**
 * Connects as {@link exampleTarget} says.
 *
 * @example
 * ```ts
 * const aws = await connect();
 * try { await aws.kms.send(new ListKeysCommand({})); } finally { await aws.close(); }
 * ```
 */
export async function connect(env: ExampleEnv = process.env): Promise<ExampleAws> {
  const target = exampleTarget(env);
  if (target.kind === "aws") {
    const kms = new KMSClient({});
    const s3 = new S3Client({});
    const region = await kms.config.region().catch((e: unknown) => {
      throw new Error("no AWS Region: set AWS_REGION, or use a profile that has one", { cause: e });
    });
    return {
      kms,
      s3,
      target,
      where: `AWS, Region ${region} (${target.why}; default credential chain)`,
      created: { keys: [], aliases: [], buckets: [] },
      close: async () => undefined,
    };
  }
  const aws = await startLocalAws({
    backend: target.kind === "endpoint" ? "env" : "builtin",
    env,
    log: false,
  });
  return {
    kms: aws.kms,
    s3: aws.s3,
    target,
    where:
      target.kind === "emulator"
        ? `the built-in emulator at ${aws.endpoint} (${target.why})`
        : `${aws.endpoint} (${target.why})`,
    created: { keys: [], aliases: [], buckets: [] },
    close: () => aws.stop(),
  };
}

/** What an example created, to be removed by hand on real AWS. */
export interface CreatedResources {
  readonly keys?: readonly string[];
  readonly aliases?: readonly string[];
  readonly buckets?: readonly string[];
}

/**
 * The AWS CLI commands that remove what an example created, for a run on real AWS (an emulator
 * forgets everything when it stops: nothing to print). KMS keys cannot be deleted at once: they
 * are scheduled for deletion after the shortest waiting period, 7 days.
 *
 * @example
 * ```ts
 * for (const line of cleanupCommands(aws.target, { keys: [keyArn], buckets: [bucket] })) log(line);
 * ```
 */
export function cleanupCommands(target: ExampleTarget, created: CreatedResources): string[] {
  if (target.kind !== "aws") return [];
  return [
    "To remove what this example created:",
    ...(created.buckets ?? []).map((b) => `  aws s3 rb s3://${b} --force`),
    ...(created.aliases ?? []).map((a) => `  aws kms delete-alias --alias-name ${a}`),
    ...(created.keys ?? []).map(
      (k) => `  aws kms schedule-key-deletion --key-id ${k} --pending-window-in-days 7`,
    ),
  ];
}

/**
 * True when the module at `moduleUrl` (`import.meta.url`) is the script Node was started with —
 * also through a symbolic link or a path with spaces (both URLs are built the same way).
 *
 * @example
 * ```ts
 * if (isMain(import.meta.url)) await main();
 * ```
 */
export function isMain(moduleUrl: string, script: string | undefined = process.argv[1]): boolean {
  if (!script) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/** A short random suffix so repeated runs against a shared endpoint do not collide. */
export function suffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
