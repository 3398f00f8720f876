/** The `--target` argument: `current`, `alias:NAME` or `key:ARN`. */
import { isKeyArn } from "@rekey/core";
import { JobError } from "../errors.js";

/** What the job moves data onto, as the user named it. */
export type TargetSpec =
  /** The current material of each object's own key. */
  | { readonly kind: "current" }
  /** The key an alias points at when the job starts. `name` is `alias/NAME`. */
  | { readonly kind: "alias"; readonly name: string }
  /** One key, by ARN. */
  | { readonly kind: "key"; readonly keyArn: string };

/**
 * Parses `current`, `alias:NAME` (or `alias:alias/NAME`) or `key:ARN`.
 *
 * @example
 * ```ts
 * parseTargetSpec("alias:app-data"); // { kind: "alias", name: "alias/app-data" }
 * ```
 */
export function parseTargetSpec(value: string): TargetSpec {
  if (value === "current") return { kind: "current" };
  if (value.startsWith("alias:")) {
    const raw = value.slice("alias:".length);
    const name = raw.startsWith("alias/") ? raw : `alias/${raw}`;
    if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.startsWith("alias/aws/"))
      throw new JobError("ERR_JOB_INVALID_OPTION", `"${raw}" is not a customer alias name`);
    return { kind: "alias", name };
  }
  if (value.startsWith("key:")) {
    const keyArn = value.slice("key:".length);
    if (!isKeyArn(keyArn))
      throw new JobError("ERR_JOB_INVALID_OPTION", `key target needs a key ARN, got "${keyArn}"`);
    return { kind: "key", keyArn };
  }
  throw new JobError(
    "ERR_JOB_INVALID_OPTION",
    `target must be "current", "alias:NAME" or "key:ARN", got "${value}"`,
  );
}

/**
 * The spec written back as text (for reports and the checkpoint header).
 *
 * @example
 * ```ts
 * formatTargetSpec({ kind: "alias", name: "alias/app" }); // "alias:app"
 * ```
 */
export function formatTargetSpec(spec: TargetSpec): string {
  switch (spec.kind) {
    case "current":
      return "current";
    case "alias":
      return `alias:${spec.name.slice("alias/".length)}`;
    case "key":
      return `key:${spec.keyArn}`;
  }
}
