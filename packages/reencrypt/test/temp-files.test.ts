/**
 * `removeAtExit` in a real process that exits at once (`process.exit`, as a second Ctrl-C does):
 * the registered file is gone, a released one stays, and a name that meanwhile holds another
 * file (an output renamed over it, someone else's file) is never deleted.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";

const MODULE = fileURLToPath(new URL("../src/support/temp-files.ts", import.meta.url));

it("files registered are deleted when the process exits at once, unless released or replaced", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rekey-temp-files-"));
  const script = `
    import { openSync, closeSync, fstatSync, renameSync, writeFileSync } from "node:fs";
    import { removeAtExit } from ${JSON.stringify(MODULE)};
    const dir = ${JSON.stringify(dir)};
    const made = (name) => {
      const fd = openSync(dir + "/" + name, "wx");
      const id = fstatSync(fd);
      closeSync(fd);
      return removeAtExit(dir + "/" + name, id);
    };
    made("temp");
    made("released")();
    made("replaced");
    writeFileSync(dir + "/output", "the finished output\\n");
    renameSync(dir + "/output", dir + "/replaced");
    process.exit(130);
  `;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(130);
  expect(existsSync(join(dir, "temp"))).toBe(false);
  expect(existsSync(join(dir, "released"))).toBe(true);
  expect(await readFile(join(dir, "replaced"), "utf8")).toBe("the finished output\n");
});
