/**
 * `cutoverAlias`: a manual rotation done safely. Preflight first (nothing changes if a check
 * fails), then — for `--to new` — the successor key is created and checked again, then
 * `UpdateAlias`, read back until KMS (eventually consistent) shows the move, then the data under
 * the old key is moved by the re-encrypt job (given as `rewrap`, so this module does not depend
 * on the job). The old key is never disabled or scheduled for deletion: data the job did not
 * reach still needs it.
 *
 * A cutover is resumable. Before the alias moves, a {@link CutoverRecord} (old key, new key) is
 * handed to `onRecord` to be kept; a re-run that finds the alias already on the target — the key
 * given, or for `new` the key the record names — skips the preflight and the move and only runs
 * the rewrap again; a re-run of `new` whose key was created but whose alias did not move yet uses
 * that key instead of creating another.
 */
import { KeyToolError, kmsCall } from "./errors.js";
import type { KmsAdminApi } from "./kms-admin.js";
import { createSuccessorKey, type SuccessorKey } from "./create-successor-key.js";
import {
  normalizeAliasName,
  preflightCutover,
  type CutoverPreflight,
  type CutoverTarget,
} from "./preflight-cutover.js";
import { waitForAlias, type WaitForAliasOptions } from "./wait-for-alias.js";

/** What the rewrap step is asked to do. */
export interface CutoverRewrapRequest {
  /** `alias/NAME`. */
  readonly alias: string;
  /** The key the alias pointed at before (absent on a re-run that has no record of it). */
  readonly previousKeyArn?: string;
  /** The key the alias points at after (absent in a dry run of `--to new`: not created yet). */
  readonly newKeyArn?: string;
  /** Plan only: the alias has not moved. */
  readonly dryRun: boolean;
}

/**
 * The change a cutover is about to make, once its preflight passed and before anything changes:
 * what a confirmation shows.
 */
export interface CutoverChange {
  /** `alias/NAME`. */
  readonly alias: string;
  /** The key the alias points at now (absent on a re-run without a record of it). */
  readonly previousKeyArn?: string;
  /** The key the alias will point at (absent when it is still to be created: `createKey`). */
  readonly newKeyArn?: string;
  /** A successor of the current key will be created first (`--to new`). */
  readonly createKey: boolean;
  /** The alias will be moved (false on a re-run that found it moved: only the rewrap is left). */
  readonly moveAlias: boolean;
}

/** What a cutover keeps before it moves the alias, so that a re-run can resume. */
export interface CutoverRecord {
  readonly rekeyCutover: 1;
  /** `alias/NAME`. */
  readonly alias: string;
  /** The key the alias pointed at before the cutover. */
  readonly previousKeyArn: string;
  /** The key the alias is moved to. */
  readonly newKeyArn: string;
  /** True when the cutover created that key (`--to new`). */
  readonly created: boolean;
}

/** What a re-run found of an earlier run. */
export interface CutoverResume {
  readonly alias: string;
  /** The key the earlier run moved (or was moving) the alias to. */
  readonly keyArn: string;
  /** The key the alias pointed at before, when recorded. */
  readonly previousKeyArn?: string;
  /**
   * `moved`: the alias already points at `keyArn`; the preflight and the move are skipped.
   * `created`: an earlier `--to new` created `keyArn` but did not move the alias; that key is
   * checked and used instead of creating another.
   */
  readonly state: "moved" | "created";
}

/** Options of {@link cutoverAlias}. */
export interface CutoverOptions<R> {
  /** `NAME`, `alias/NAME` or an alias ARN. */
  readonly alias: string;
  /** A key id, key ARN or alias of an existing key, or `new`. */
  readonly to: string;
  /** Preflight (and the rewrap plan) only. @default false */
  readonly dryRun?: boolean;
  /** Rotation period of a new key. @default the current key's, else 365 */
  readonly rotationPeriodDays?: number;
  /** Principals whose access gaps are only warnings. @default [] */
  readonly ignorePrincipals?: readonly string[];
  /** What an earlier run of this cutover handed to `onRecord`. @default none */
  readonly record?: CutoverRecord;
  /**
   * Keeps the record (awaited): called once the new key is known and before the alias moves —
   * for `new`, as soon as the key exists. Not called in a dry run.
   */
  readonly onRecord?: (record: CutoverRecord) => Promise<void> | void;
  /** Called when a re-run picks up the work of an earlier run (see {@link CutoverResume}). */
  readonly onResume?: (resume: CutoverResume) => void;
  /**
   * Asked once the preflight passed and before the first change (creating the key, moving the
   * alias, or — on a re-run that found the alias moved — the rewrap); a rejection stops the
   * cutover with nothing changed. Not called in a dry run. @default none (no question)
   */
  readonly confirm?: (change: CutoverChange) => Promise<void>;
  /** Called with each preflight before anything changes (`final` is the one that gates the alias). */
  readonly onPreflight?: (preflight: CutoverPreflight, phase: "before-create" | "final") => void;
  /** Called once a new key exists. */
  readonly onKeyCreated?: (key: SuccessorKey) => void;
  /** Called once the alias is read back pointing at the target. */
  readonly onAliasUpdated?: (alias: string, keyArn: string) => void;
  /** The read-back after `UpdateAlias`. @default 60 s, delays 250 ms doubling up to 4 s */
  readonly aliasReadBack?: WaitForAliasOptions;
  /** Moves the data (the re-encrypt job). @default undefined (no rewrap) */
  readonly rewrap?: (request: CutoverRewrapRequest) => Promise<R>;
}

/** What {@link cutoverAlias} did. */
export interface CutoverResult<R> {
  /** The preflight that gated the change (absent when a re-run found the alias already moved). */
  readonly preflight?: CutoverPreflight;
  readonly alias: string;
  /** The key the alias pointed at before (absent on a re-run without a record of it). */
  readonly previousKeyArn?: string;
  /** The target key (absent in a dry run of `--to new`). */
  readonly newKeyArn?: string;
  readonly createdKey?: SuccessorKey;
  /** True when this run moved the alias. */
  readonly aliasUpdated: boolean;
  /** Set when this run picked up the work of an earlier one. */
  readonly resumed?: CutoverResume;
  readonly rewrap?: R;
}

function failedChecks(p: CutoverPreflight): string {
  return p.checks
    .filter((c) => c.status === "fail")
    .map((c) => c.id)
    .join(", ");
}

/** The ARN a key reference resolves to, or `undefined` when it does not resolve. */
async function arnOf(kms: KmsAdminApi, ref: string): Promise<string | undefined> {
  try {
    return (await kms.describeKey({ KeyId: ref })).KeyMetadata?.Arn;
  } catch {
    return undefined; // the preflight reports it properly
  }
}

/**
 * What an earlier run left: the alias already on the target (`moved`), or for `new` a created
 * key the alias has not moved to yet (`created`). `undefined`: nothing to resume.
 *
 * @throws KeyToolError `ERR_INVALID_ARGUMENT` when the record belongs to another cutover.
 */
async function findResume(
  kms: KmsAdminApi,
  alias: string,
  to: string,
  record: CutoverRecord | undefined,
): Promise<CutoverResume | undefined> {
  if (record && record.alias !== alias)
    throw new KeyToolError("ERR_INVALID_ARGUMENT", `the cutover record is of ${record.alias}, not ${alias}`);
  const wanted = to === "new" ? record?.newKeyArn : to;
  if (wanted === undefined) return undefined;
  if (record) {
    // With a record, a lookup that fails must stop the run: treating it as "nothing to resume"
    // would create a second key for `--to new`, the one thing the record is there to prevent.
    const [now, want] = await Promise.all([describedArn(kms, alias), describedArn(kms, wanted)]);
    return resumeOf(alias, to, record, now, want);
  }
  const [now, want] = await Promise.all([arnOf(kms, alias), arnOf(kms, wanted)]);
  if (want === undefined || now === undefined) return undefined;
  return resumeOf(alias, to, record, now, want);
}

/** The ARN a key reference resolves to; a failure is the caller's. */
async function describedArn(kms: KmsAdminApi, ref: string): Promise<string> {
  const arn = (await kmsCall("DescribeKey", ref, () => kms.describeKey({ KeyId: ref }))).KeyMetadata?.Arn;
  if (arn === undefined) throw new KeyToolError("ERR_KMS", `DescribeKey answered no ARN for ${ref}`);
  return arn;
}

function resumeOf(
  alias: string,
  to: string,
  record: CutoverRecord | undefined,
  now: string,
  want: string,
): CutoverResume | undefined {
  if (record && want !== record.newKeyArn)
    throw new KeyToolError(
      "ERR_INVALID_ARGUMENT",
      `the cutover record moves ${alias} to ${record.newKeyArn}, not to ${want}: use another checkpoint file`,
    );
  const previous = record ? { previousKeyArn: record.previousKeyArn } : {};
  if (now === want) return { alias, keyArn: want, ...previous, state: "moved" };
  if (!record || to !== "new") return undefined;
  if (now !== record.previousKeyArn)
    throw new KeyToolError(
      "ERR_INVALID_ARGUMENT",
      `${alias} points at ${now}, neither the key it pointed at (${record.previousKeyArn}) nor the key created (${record.newKeyArn}) by the recorded cutover: use another checkpoint file`,
    );
  return { alias, keyArn: want, ...previous, state: "created" };
}

/**
 * Moves an alias to another key after a preflight, then rewraps the data under the old key.
 *
 * @throws KeyToolError `ERR_PREFLIGHT_FAILED` (the alias did not move; a key created for
 *   `--to new` is named in the message), `ERR_ALIAS_MISMATCH` (the alias was not read back on
 *   the target in time; a re-run resumes), `ERR_INVALID_ARGUMENT` (a record of another cutover),
 *   or any KMS failure.
 * @example
 * ```ts
 * const r = await cutoverAlias(kms, { alias: "app-data", to: "new", onPreflight: print });
 * console.log(`${r.alias}: ${r.previousKeyArn} -> ${r.newKeyArn}`);
 * ```
 */
export async function cutoverAlias<R = undefined>(
  kms: KmsAdminApi,
  options: CutoverOptions<R>,
): Promise<CutoverResult<R>> {
  const alias = normalizeAliasName(options.alias);
  const dryRun = options.dryRun ?? false;
  const base = { alias, ...(options.ignorePrincipals ? { ignorePrincipals: options.ignorePrincipals } : {}) };
  const runRewrap = async (request: CutoverRewrapRequest): Promise<{ rewrap?: R }> =>
    options.rewrap ? { rewrap: await options.rewrap(request) } : {};

  const resume = await findResume(kms, alias, options.to, options.record);
  if (resume) options.onResume?.(resume);
  if (resume?.state === "moved") {
    const previous = resume.previousKeyArn ? { previousKeyArn: resume.previousKeyArn } : {};
    if (!dryRun)
      await options.confirm?.({
        alias,
        ...previous,
        newKeyArn: resume.keyArn,
        createKey: false,
        moveAlias: false,
      });
    return {
      alias,
      ...previous,
      newKeyArn: resume.keyArn,
      aliasUpdated: false,
      resumed: resume,
      ...(await runRewrap({ alias, ...previous, newKeyArn: resume.keyArn, dryRun })),
    };
  }

  const toNew = options.to === "new" && resume === undefined;
  const target: CutoverTarget = toNew
    ? { kind: "new" }
    : { kind: "key", keyId: resume ? resume.keyArn : options.to };
  let preflight = await preflightCutover(kms, { ...base, target });
  options.onPreflight?.(preflight, toNew ? "before-create" : "final");
  if (!preflight.passed || !preflight.current) {
    throw new KeyToolError(
      "ERR_PREFLIGHT_FAILED",
      `preflight failed (${failedChecks(preflight)}); nothing was changed`,
    );
  }
  const previousKeyArn = preflight.current.arn;
  const resumed = resume ? { resumed: resume } : {};

  if (dryRun) {
    const newKeyArn = preflight.target?.arn;
    return {
      preflight,
      alias,
      previousKeyArn,
      ...(newKeyArn ? { newKeyArn } : {}),
      aliasUpdated: false,
      ...resumed,
      ...(await runRewrap({ alias, previousKeyArn, ...(newKeyArn ? { newKeyArn } : {}), dryRun: true })),
    };
  }

  const plannedKeyArn = preflight.target?.arn;
  await options.confirm?.({
    alias,
    previousKeyArn,
    ...(plannedKeyArn ? { newKeyArn: plannedKeyArn } : {}),
    createKey: toNew,
    moveAlias: true,
  });
  const keep = async (newKeyArn: string): Promise<void> => {
    await options.onRecord?.({ rekeyCutover: 1, alias, previousKeyArn, newKeyArn, created: toNew });
  };
  let createdKey: SuccessorKey | undefined;
  if (toNew) {
    createdKey = await createSuccessorKey(kms, previousKeyArn, {
      ...(options.rotationPeriodDays === undefined ? {} : { rotationPeriodDays: options.rotationPeriodDays }),
    });
    options.onKeyCreated?.(createdKey);
    // Kept before anything else can fail: a re-run then uses this key instead of making another.
    await keep(createdKey.arn);
    preflight = await preflightCutover(kms, { ...base, target: { kind: "key", keyId: createdKey.arn } });
    options.onPreflight?.(preflight, "final");
    if (!preflight.passed) {
      throw new KeyToolError(
        "ERR_PREFLIGHT_FAILED",
        `preflight of the new key ${createdKey.arn} failed (${failedChecks(preflight)}); the alias was not moved and the new key was left as is`,
      );
    }
  }
  const newKeyArn = preflight.target?.arn;
  if (!newKeyArn)
    throw new KeyToolError("ERR_PREFLIGHT_FAILED", "the preflight did not resolve the target key");
  if (!toNew && !resume) await keep(newKeyArn);

  await kmsCall("UpdateAlias", alias, () => kms.updateAlias({ AliasName: alias, TargetKeyId: newKeyArn }));
  try {
    await waitForAlias(kms, alias, newKeyArn, options.aliasReadBack);
  } catch (e) {
    if (!(e instanceof KeyToolError) || e.code !== "ERR_ALIAS_MISMATCH") throw e;
    throw new KeyToolError(
      "ERR_ALIAS_MISMATCH",
      `${e.message}; nothing was rewrapped: run again with --to ${newKeyArn} to resume once it does`,
      { cause: e },
    );
  }
  options.onAliasUpdated?.(alias, newKeyArn);

  return {
    preflight,
    alias,
    previousKeyArn,
    newKeyArn,
    ...(createdKey ? { createdKey } : {}),
    aliasUpdated: true,
    ...resumed,
    ...(await runRewrap({ alias, previousKeyArn, newKeyArn, dryRun: false })),
  };
}
