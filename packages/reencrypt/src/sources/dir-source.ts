/**
 * `dirSource`: every regular file under a directory, walked depth first with `opendir` (each
 * directory streamed, only the stack of open directories held). Symbolic links are not
 * followed, and the job's own temporary files are skipped.
 */
import { opendir } from "node:fs/promises";
import { join } from "node:path";
import { JobError } from "../errors.js";
import { TEMP_SUFFIX } from "../stores/dir/dir-store.js";
import type { FileObjectRef } from "../model/object-ref.js";

/**
 * Walks `root`.
 *
 * @example
 * ```ts
 * for await (const ref of dirSource("./archive")) console.log(ref.path);
 * ```
 */
export async function* dirSource(root: string): AsyncGenerator<FileObjectRef> {
  const stack = [root];
  let first = true;
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let handle;
    try {
      handle = await opendir(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (first)
        throw new JobError("ERR_JOB_SOURCE", `cannot read directory ${dir}: ${code ?? String(e)}`, {
          cause: e,
        });
      // A subdirectory removed or locked while walking: skip it rather than stop the job.
      continue;
    }
    first = false;
    for await (const entry of handle) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) yield { kind: "file", path };
    }
  }
}
