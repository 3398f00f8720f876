/**
 * `openAtomicOutput` against the file system calls it makes: the temporary file is fsynced before
 * it is put in place, and a file system without hard links (link → EPERM / ENOTSUP) still gets
 * the output — never over an existing file — instead of a misleading "permission denied".
 */
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import type * as FsPromises from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { openAtomicOutput } from "../src/file-tools/atomic-output.js";
import { FileError } from "../src/file-tools/errors.js";

const fsState = vi.hoisted(() => ({
  events: [] as string[],
  /** The next link() fails with this errno code. */
  linkError: undefined as string | undefined,
  /** Called when link() fails, before the caller sees it (another writer racing). */
  onLinkError: undefined as (() => Promise<void>) | undefined,
}));

vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  const name = (p: unknown): string => basename(String(p)).replace(/\.[0-9a-f]{12}\.rekey-tmp$/, ".TEMP");
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        fsState.events.push(`sync ${name(args[0])}`);
        return sync();
      };
      return handle;
    },
    link: async (from: string, to: string) => {
      const code = fsState.linkError;
      if (code !== undefined) {
        fsState.linkError = undefined;
        fsState.events.push(`link failed ${code}`);
        await fsState.onLinkError?.();
        throw Object.assign(new Error(`${code}: link`), { code });
      }
      fsState.events.push(`link ${name(from)} ${name(to)}`);
      return real.link(from, to);
    },
    rename: async (from: string, to: string) => {
      fsState.events.push(`rename ${name(from)} ${name(to)}`);
      return real.rename(from, to);
    },
  };
});

const stdout = new Writable({ write: (_c, _e, cb) => cb() });

async function writeThrough(path: string, text: string, force = false): Promise<void> {
  const out = await openAtomicOutput(path, { stdout, ...(force ? { force } : {}) });
  out.stream.end(text);
  await out.commit();
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rekey-atomic-"));
  fsState.events.length = 0;
  fsState.linkError = undefined;
  fsState.onLinkError = undefined;
});

describe("openAtomicOutput: durability", () => {
  it("fsyncs the temporary file before linking it into place, then the directory", async () => {
    await writeThrough(join(dir, "out.rkey"), "hello");
    expect(fsState.events).toEqual([
      "sync .out.rkey.TEMP",
      "link .out.rkey.TEMP out.rkey",
      `sync ${basename(dir)}`,
    ]);
    expect(await readFile(join(dir, "out.rkey"), "utf8")).toBe("hello");
  });

  it("with force: fsyncs before the rename", async () => {
    await writeFile(join(dir, "out.rkey"), "old");
    await writeThrough(join(dir, "out.rkey"), "new", true);
    expect(fsState.events.slice(0, 2)).toEqual(["sync .out.rkey.TEMP", "rename .out.rkey.TEMP out.rkey"]);
    expect(await readFile(join(dir, "out.rkey"), "utf8")).toBe("new");
  });
});

describe("openAtomicOutput: a file system without hard links", () => {
  it.each(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"])(
    "link → %s: reserves the name, renames over the reservation, leaves no temporary file",
    async (code) => {
      fsState.linkError = code;
      await writeThrough(join(dir, "out.rkey"), "hello");
      expect(await readFile(join(dir, "out.rkey"), "utf8")).toBe("hello");
      expect(await readdir(dir)).toEqual(["out.rkey"]);
      expect(fsState.events).toContain("rename .out.rkey.TEMP out.rkey");
    },
  );

  it("still never replaces a file that appeared meanwhile; says so, not 'permission denied'", async () => {
    fsState.linkError = "EPERM";
    fsState.onLinkError = () => writeFile(join(dir, "out.rkey"), "theirs");
    const err = await writeThrough(join(dir, "out.rkey"), "mine").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileError);
    expect((err as FileError).code).toBe("ERR_OUTPUT");
    expect((err as Error).message).toMatch(/already exists \(use --force to replace it\)$/);
    expect((err as Error).message).not.toMatch(/permission denied/);
    expect(await readFile(join(dir, "out.rkey"), "utf8")).toBe("theirs");
    expect(await readdir(dir)).toEqual(["out.rkey"]);
  });

  it("a real permission problem is reported as such, and nothing is left behind", async () => {
    fsState.linkError = "EACCES";
    const err = await writeThrough(join(dir, "out.rkey"), "mine").catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/cannot write .*out\.rkey: permission denied$/);
    expect(await readdir(dir)).toEqual([]);
  });
});
