/**
 * Starts a package's command. Installed from the registry, a package has only `dist/`, which is
 * run as it is. In the repository, `dist/` runs when it was built after every source it comes
 * from; otherwise (a fresh clone, an edited source) the TypeScript sources run in this same
 * process through tsx, with the "rekey-source" export condition so that workspace packages
 * resolve to their sources too. One process either way: signals reach the command itself.
 *
 * Plain JavaScript on purpose: it must run before anything is compiled.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { register } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The newest modification time of the files under `dir`, in ms (0 for an empty folder). */
function newest(dir) {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

/** True when the package at `root` was built (`tsc -b`) after its last source change. */
function builtAfterSources(root) {
  const info = join(root, "tsconfig.build.tsbuildinfo");
  return existsSync(info) && statSync(info).mtimeMs >= newest(join(root, "src"));
}

/**
 * Runs `entry` (a path under `src/`, without extension) of the package whose root folder is
 * `packageUrl`, after the `--version` fast path. `workspacePackages` are the roots of the
 * workspace packages it imports, which must be built too for `dist/` to be used.
 *
 * @example
 * ```js
 * await launch(new URL("../", import.meta.url), "cli/bin", ["../core"]);
 * ```
 */
export async function launch(packageUrl, entry, workspacePackages = []) {
  const root = fileURLToPath(packageUrl);
  // `--version` alone answers from package.json: no need to load the program and the AWS SDK.
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}\n`);
    return;
  }
  const built = join(root, "dist", `${entry}.js`);
  const published = !existsSync(join(root, "src"));
  const fresh = () =>
    existsSync(built) && [root, ...workspacePackages.map((p) => join(root, p))].every(builtAfterSources);
  if (published || fresh()) {
    await import(pathToFileURL(built).href);
    return;
  }
  register(
    "data:text/javascript," +
      encodeURIComponent(
        "export async function resolve(specifier, context, next) {" +
          ' return next(specifier, { ...context, conditions: [...context.conditions, "rekey-source"] }); }',
      ),
  );
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  await import(pathToFileURL(join(root, "src", `${entry}.ts`)).href);
}
