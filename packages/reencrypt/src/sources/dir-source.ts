/**
 * `dirSource`: every regular file under a directory, walked depth first in sorted order (each
 * directory's names read and sorted: memory for the largest directory's names and the path of
 * directories open). Symbolic links are not followed, and the job's own temporary files are
 * skipped.
 */
import { lstat, opendir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { JobError } from "../errors.js";
import { TEMP_SUFFIX } from "../stores/dir/dir-store.js";
import type { FileObjectRef } from "../model/object-ref.js";

/** Options of {@link dirSource}. */
export interface DirSourceOptions {
  /** Yield only the files after this path in the walk's order (a resumed job). @default the first */
  readonly after?: string;
}

/**
 * Walks `root` depth first, each directory's names in sorted order, so the walk has one order a
 * resumed job can start again from (`after`): the files in their directories' sorted order,
 * a subdirectory's files at its name's place.
 *
 * @example
 * ```ts
 * for await (const ref of dirSource("./archive")) console.log(ref.path);
 * ```
 */
export async function* dirSource(
  root: string,
  options: DirSourceOptions = {},
): AsyncGenerator<FileObjectRef> {
  let names: string[];
  try {
    names = await sortedNames(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new JobError("ERR_JOB_SOURCE", `cannot read directory ${root}: ${code ?? String(e)}`, { cause: e });
  }
  const after = options.after !== undefined ? relative(root, options.after).split(sep) : undefined;
  yield* walk(root, names, after);
}

/**
 * The files under `dir` (whose sorted names are `names`), after the path `after` (its
 * components below `dir`) when given.
 */
async function* walk(
  dir: string,
  names: string[],
  after: string[] | undefined,
): AsyncGenerator<FileObjectRef> {
  const [first, ...rest] = after ?? [];
  for (const name of names) {
    // Before the resume point's branch: all of it was done.
    if (after && name < (first as string)) continue;
    const onBranch = after !== undefined && name === first;
    const path = join(dir, name);
    let st;
    try {
      st = await lstat(path);
    } catch {
      continue; // removed while walking
    }
    if (st.isDirectory()) {
      let inner: string[];
      try {
        inner = await sortedNames(path);
      } catch {
        // A subdirectory removed or locked while walking: skip it rather than stop the job.
        continue;
      }
      yield* walk(path, inner, onBranch && rest.length > 0 ? rest : undefined);
    } else if (st.isFile() && !name.endsWith(TEMP_SUFFIX) && !(onBranch && rest.length === 0))
      yield { kind: "file", path };
  }
}

async function sortedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of await opendir(dir)) names.push(entry.name);
  return names.sort();
}
