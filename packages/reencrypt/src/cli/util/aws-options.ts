/** The AWS connection flags every command that talks to AWS takes. */
import type { Command } from "commander";
import type { AwsClientOptions } from "./context.js";

/** The flags as commander parses them. */
export interface AwsFlags {
  readonly profile?: string;
  readonly region?: string;
  readonly endpointUrl?: string;
}

/**
 * Adds `--profile`, `--region` and `--endpoint-url` to a command, with the AWS CLI's meanings.
 *
 * @example
 * ```ts
 * withAwsOptions(program.command("status <key>")).action(...);
 * ```
 */
export function withAwsOptions(command: Command): Command {
  return command
    .option("--profile <name>", "named profile of the AWS config files (default: AWS_PROFILE, else default)")
    .option("--region <region>", "AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, else the profile's)")
    .option("--endpoint-url <url>", "KMS/S3 endpoint, e.g. an emulator (default: AWS_ENDPOINT_URL or AWS's)");
}

/** The client options of parsed flags. */
export function awsOptionsOf(flags: AwsFlags): AwsClientOptions {
  return {
    ...(flags.profile ? { profile: flags.profile } : {}),
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.endpointUrl ? { endpointUrl: flags.endpointUrl } : {}),
  };
}

/** Commander's collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
