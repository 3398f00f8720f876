/**
 * Files a command created and must not leave behind, deleted even when the process ends at once
 * (a second Ctrl-C, `process.exit`): a temporary output next to its target, the reservation of
 * an output's name, a compaction of the checkpoint. The deletion runs in the process's `'exit'`
 * event, where only synchronous calls run — hence `unlinkSync`. A path is registered right after
 * the file was created exclusively, with the file's identity (device and inode): at exit it is
 * deleted only if the name still is that file, so neither someone else's file nor an output
 * renamed over the name a moment before the exit is ever deleted. A path is released once it was
 * renamed into place or deleted. SIGKILL runs no code: what it leaves is documented where the
 * files are made.
 */
import { lstatSync, unlinkSync } from "node:fs";

/** Which file a name held when it was registered. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

const registered = new Map<string, FileIdentity>();
let hooked = false;

function removeRegistered(): void {
  for (const [path, id] of registered) {
    try {
      const now = lstatSync(path);
      if (now.dev === id.dev && now.ino === id.ino) unlinkSync(path);
    } catch {
      // Already renamed into place or deleted: nothing is left to remove.
    }
  }
  registered.clear();
}

/**
 * Deletes `path` if the process exits before the returned function is called, provided the name
 * still is the file `identity` describes. Call the returned function once the file was put in
 * place or deleted; calling it again does nothing.
 *
 * @param path - A file this process created (exclusive create).
 * @param identity - The file's `dev` and `ino` (from `handle.stat()` of the created file).
 * @returns Releases the path: it will not be deleted at exit.
 * @example
 * ```ts
 * const handle = await open(temp, "wx");
 * const release = removeAtExit(temp, await handle.stat());
 * try { await write(handle); await rename(temp, target); } finally { release(); }
 * ```
 */
export function removeAtExit(path: string, identity: FileIdentity): () => void {
  if (!hooked) {
    process.on("exit", removeRegistered);
    hooked = true;
  }
  const id = { dev: identity.dev, ino: identity.ino };
  registered.set(path, id);
  return () => {
    if (registered.get(path) === id) registered.delete(path);
  };
}
