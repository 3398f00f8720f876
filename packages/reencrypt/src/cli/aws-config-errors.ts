/**
 * AWS configuration problems told apart from service failures. "KMS ListKeys failed: Error:
 * Region is missing" says neither what is wrong nor what to do; a missing Region and missing or
 * refused credentials get their own stable codes and a hint, as the AWS CLI's conventions would
 * suggest to anyone who has used it.
 */
import type { CliErrorCode } from "../errors.js";

/** The codes of {@link awsConfigProblem}. */
export type AwsConfigProblemCode = Extract<CliErrorCode, "ERR_AWS_REGION" | "ERR_AWS_CREDENTIALS">;

/** A configuration problem: its code and one line for people, hint included. */
export interface AwsConfigProblem {
  readonly code: AwsConfigProblemCode;
  readonly message: string;
}

const REGION_HINT =
  "no AWS Region is configured (set --region, AWS_REGION or AWS_DEFAULT_REGION, or use a profile that has one: --profile or AWS_PROFILE)";

/** Error names of the SDK for credentials that AWS refused (as opposed to none found). */
const REFUSED = new Set([
  "ExpiredTokenException",
  "ExpiredToken",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidAccessKeyId",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
]);

/**
 * The configuration problem behind `error` (looked for along its `cause` chain), or `undefined`
 * when it is something else. `profile` is named in the credentials hint when one was chosen.
 *
 * @example
 * ```ts
 * const problem = awsConfigProblem(error, process.env["AWS_PROFILE"]);
 * if (problem) process.stderr.write(`rekey: ${problem.message} [${problem.code}]\n`);
 * ```
 */
export function awsConfigProblem(error: unknown, profile?: string): AwsConfigProblem | undefined {
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    const name = (current as { name?: unknown }).name;
    const message = current instanceof Error ? current.message : "";
    if (/^Region is missing/.test(message)) return { code: "ERR_AWS_REGION", message: REGION_HINT };
    if (name === "CredentialsProviderError" || /^Could not load credentials/.test(message)) {
      const which = profile ? ` for profile ${profile}` : "";
      return {
        code: "ERR_AWS_CREDENTIALS",
        message:
          `no AWS credentials were found${which}: ${message} (configure them: aws configure, ` +
          "aws sso login, --profile or AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
      };
    }
    if (typeof name === "string" && REFUSED.has(name)) {
      return {
        code: "ERR_AWS_CREDENTIALS",
        message: `AWS refused the credentials (${name}): ${message} (renew them, e.g. aws sso login, or choose others with --profile or AWS_PROFILE)`,
      };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
