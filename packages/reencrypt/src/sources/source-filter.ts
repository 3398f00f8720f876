/**
 * `--include` / `--exclude`: glob patterns (picomatch) that choose which of a source's objects a
 * job takes, matched against the object key (S3 listing, manifest) or the path relative to the
 * directory (`--dir`, with `/` between folders). An object is taken when it matches an
 * `include` pattern (any object, when none is given) and no `exclude` pattern. A pattern without
 * a `/` matches the last path segment too (`*.tmp` matches `logs/a.tmp`); one with a `/` matches
 * the whole key (`logs/**`). Names starting with a dot are matched like any other.
 */
import { relative, sep } from "node:path";
import picomatch from "picomatch";
import { JobError } from "../errors.js";
import type { ObjectRef } from "../model/object-ref.js";

/** The include and exclude patterns of a source. */
export interface SourceFilterOptions {
  /**
   * Take only the objects whose key (relative path for a directory) matches one of these globs.
   * @default every object
   */
  readonly include?: readonly string[];
  /** Leave out the objects whose key (relative path) matches one of these globs; they are not read. @default none */
  readonly exclude?: readonly string[];
}

/** Whether a source's object is taken. */
export type ObjectFilter = (ref: ObjectRef) => boolean;

/**
 * Compiles the patterns into a predicate, or `undefined` when there are none (every object taken).
 *
 * @param root - The directory a file's path is made relative to (a `dir` source); S3 keys are matched as they are.
 * @throws JobError `ERR_JOB_INVALID_OPTION` for an empty pattern.
 * @example
 * ```ts
 * const taken = objectFilter({ exclude: ["*.tmp"] });
 * taken?.({ kind: "s3", bucket: "b", key: "logs/a.tmp" }); // false
 * ```
 */
export function objectFilter(options: SourceFilterOptions, root?: string): ObjectFilter | undefined {
  const include = compile(options.include ?? [], "include");
  const exclude = compile(options.exclude ?? [], "exclude");
  if (!include && !exclude) return undefined;
  return (ref) => {
    const name = nameOf(ref, root);
    return (include === undefined || include(name)) && !(exclude !== undefined && exclude(name));
  };
}

/**
 * The patterns, as a checkpoint or a log names them (empty when there are none).
 *
 * @example
 * ```ts
 * describeFilter({ include: ["*.bin"], exclude: ["tmp/**"] }); // ' include ["*.bin"] exclude ["tmp/**"]'
 * ```
 */
export function describeFilter(options: SourceFilterOptions): string {
  const part = (word: string, patterns: readonly string[] | undefined): string =>
    patterns?.length ? ` ${word} ${JSON.stringify(patterns)}` : "";
  return part("include", options.include) + part("exclude", options.exclude);
}

function compile(patterns: readonly string[], what: string): ((name: string) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  for (const p of patterns)
    if (p === "") throw new JobError("ERR_JOB_INVALID_OPTION", `an ${what} pattern is empty`);
  // picomatch's own `basename` option applies to every pattern, also those with a `/` (which
  // then never match): the two kinds are compiled apart instead.
  const anywhere = patterns.filter((p) => !p.includes("/"));
  const whole = patterns.filter((p) => p.includes("/"));
  const byName = anywhere.length > 0 ? picomatch(anywhere, { dot: true }) : undefined;
  const byPath = whole.length > 0 ? picomatch(whole, { dot: true }) : undefined;
  return (name) =>
    (byPath !== undefined && byPath(name)) ||
    (byName !== undefined && byName(name.slice(name.lastIndexOf("/") + 1)));
}

/** What a pattern is matched against: the key, the path below the directory, or a row's key. */
function nameOf(ref: ObjectRef, root: string | undefined): string {
  if (ref.kind === "s3") return ref.key;
  if (ref.kind === "row") return ref.key;
  const path = root === undefined ? ref.path : relative(root, ref.path);
  return sep === "/" ? path : path.split(sep).join("/");
}
