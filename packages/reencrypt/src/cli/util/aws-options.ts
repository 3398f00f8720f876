/** The AWS connection flags every command that talks to AWS takes. */
import type { Command } from "commander";
import type { AwsClientOptions } from "./context.js";

/** The flags as commander parses them. */
export interface AwsFlags {
  readonly region?: string;
  readonly endpointUrl?: string;
}

/**
 * Adds `--region` and `--endpoint-url` to a command.
 *
 * @example
 * ```ts
 * withAwsOptions(program.command("status <key>")).action(...);
 * ```
 */
export function withAwsOptions(command: Command): Command {
  return command
    .option("--region <region>", "AWS Region (default: the SDK's configuration, e.g. AWS_REGION)")
    .option("--endpoint-url <url>", "KMS/S3 endpoint, e.g. an emulator (default: AWS_ENDPOINT_URL or AWS's)");
}

/** The client options of parsed flags. */
export function awsOptionsOf(flags: AwsFlags): AwsClientOptions {
  return {
    ...(flags.region ? { region: flags.region } : {}),
    ...(flags.endpointUrl ? { endpointUrl: flags.endpointUrl } : {}),
  };
}

/** Commander's collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
