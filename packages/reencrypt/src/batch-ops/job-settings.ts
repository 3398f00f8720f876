/**
 * The settings of a Batch Operations job, carried from `rekey batch-ops submit` to the Lambda
 * function as the job's user arguments (schema 2.0 `job.userArguments`: string values, at most
 * 10 of them). The function's environment gives defaults; the job's arguments win. Unknown or
 * malformed arguments are refused: a typo must not run a job with a default instead.
 */
import { JobError } from "../errors.js";
import { parseTargetSpec } from "../kms/target-spec.js";
import type { VerifyLevel } from "../runner/job-context.js";

/** What a Batch Operations job does to each object. */
export interface BatchJobSettings {
  /** `current`, `alias:NAME` or `key:ARN`. @default "current" */
  readonly target: string;
  /** @default "rewrap" */
  readonly mode: "rewrap" | "reencrypt";
  /** @default "etag" */
  readonly verify: VerifyLevel;
  /** Only move entries under these key ARNs. @default all */
  readonly fromKeys?: readonly string[];
  /** Only move entries whose material is not their key's current one. @default false */
  readonly olderThanMaterial?: boolean;
  /** With `mode: "reencrypt"`, also objects already on the target. @default false */
  readonly includeCurrent?: boolean;
}

const ARGUMENTS = ["target", "mode", "verify", "fromKeys", "olderThanMaterial", "includeCurrent"] as const;

/**
 * The user arguments of a job with these settings (defaults left out).
 *
 * @example
 * ```ts
 * userArgumentsOf({ target: "alias:app", mode: "rewrap", verify: "etag" }); // { target: "alias:app", mode: "rewrap", verify: "etag" }
 * ```
 */
export function userArgumentsOf(s: BatchJobSettings): Record<string, string> {
  return {
    target: s.target,
    mode: s.mode,
    verify: s.verify,
    ...(s.fromKeys?.length ? { fromKeys: s.fromKeys.join(",") } : {}),
    ...(s.olderThanMaterial ? { olderThanMaterial: "true" } : {}),
    ...(s.includeCurrent ? { includeCurrent: "true" } : {}),
  };
}

/**
 * Reads settings from user arguments over defaults (the function's environment).
 *
 * @throws JobError `ERR_JOB_INVALID_OPTION` for an unknown argument or a malformed value.
 * @example
 * ```ts
 * settingsOfUserArguments({ target: "key:arn:aws:kms:…" }); // { target: "key:…", mode: "rewrap", verify: "etag" }
 * ```
 */
export function settingsOfUserArguments(
  args: Readonly<Record<string, string | undefined>>,
  defaults: Readonly<Record<string, string | undefined>> = {},
): BatchJobSettings {
  for (const name of Object.keys(args))
    if (!(ARGUMENTS as readonly string[]).includes(name))
      throw new JobError(
        "ERR_JOB_INVALID_OPTION",
        `unknown job argument "${name}" (known: ${ARGUMENTS.join(", ")})`,
      );
  const get = (name: (typeof ARGUMENTS)[number]): string | undefined => args[name] ?? defaults[name];
  const target = get("target") ?? "current";
  parseTargetSpec(target);
  const mode = get("mode") ?? "rewrap";
  if (mode !== "rewrap" && mode !== "reencrypt")
    throw new JobError("ERR_JOB_INVALID_OPTION", `job argument mode is rewrap or reencrypt, not "${mode}"`);
  const verify = get("verify") ?? "etag";
  if (verify !== "etag" && verify !== "header" && verify !== "full")
    throw new JobError(
      "ERR_JOB_INVALID_OPTION",
      `job argument verify is etag, header or full, not "${verify}"`,
    );
  const flag = (name: "olderThanMaterial" | "includeCurrent"): boolean => {
    const v = get(name);
    if (v === undefined || v === "false") return false;
    if (v === "true") return true;
    throw new JobError("ERR_JOB_INVALID_OPTION", `job argument ${name} is true or false, not "${v}"`);
  };
  const fromKeys = (get("fromKeys") ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  for (const k of fromKeys)
    if (!/^arn:[^:]+:kms:[^:]*:\d*:key\/.+$/.test(k))
      throw new JobError("ERR_JOB_INVALID_OPTION", `job argument fromKeys names "${k}", not a key ARN`);
  return {
    target,
    mode,
    verify,
    ...(fromKeys.length ? { fromKeys } : {}),
    ...(flag("olderThanMaterial") ? { olderThanMaterial: true } : {}),
    ...(flag("includeCurrent") ? { includeCurrent: true } : {}),
  };
}

/**
 * The defaults of a Lambda function's environment: `REKEY_TARGET`, `REKEY_MODE`,
 * `REKEY_VERIFY`, `REKEY_FROM_KEYS`.
 *
 * @example
 * ```ts
 * settingsOfUserArguments(event.job?.userArguments ?? {}, defaultsOfEnv(process.env));
 * ```
 */
export function defaultsOfEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return {
    target: env["REKEY_TARGET"] || undefined,
    mode: env["REKEY_MODE"] || undefined,
    verify: env["REKEY_VERIFY"] || undefined,
    fromKeys: env["REKEY_FROM_KEYS"] || undefined,
  };
}
