/** The package as published: files it lists exist, its executable and exports map onto sources. */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const manifest = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as {
  files: string[];
  bin: Record<string, string>;
  exports: Record<string, { "rekey-source": string; types: string; default: string }>;
  publishConfig: { exports: Record<string, Record<string, string>> };
};

/** The source a `./dist/….js` file is compiled from (tsconfig.build: rootDir src, outDir dist). */
const sourceOf = (built: string): string => built.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts");

describe("package.json", () => {
  it("lists only files that exist (dist is the build's output)", () => {
    for (const file of manifest.files.filter((name) => name !== "dist")) {
      expect(existsSync(`${root}/${file}`), file).toBe(true);
    }
  });

  it("has a rekey-emulator executable: a launcher that starts with a shebang and runs the emulator's entry", () => {
    const launcher = manifest.bin["rekey-emulator"];
    expect(launcher).toBe("./bin/rekey-emulator.js");
    expect(manifest.files).toContain("bin");
    const text = readFileSync(`${root}/${launcher!}`, "utf8");
    expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
    const entry = /launch\(new URL\("\.\.\/", import\.meta\.url\), "([^"]+)"/.exec(text)?.[1];
    expect(existsSync(`${root}/src/${entry!}.ts`)).toBe(true);
  });

  it("maps every export onto a source file, and its built files onto that source", () => {
    for (const [name, target] of Object.entries(manifest.exports)) {
      expect(existsSync(`${root}/${target["rekey-source"]}`), name).toBe(true);
      expect(sourceOf(target.default), name).toBe(target["rekey-source"]);
      expect(target.types.replace(/\.d\.ts$/, ".js"), name).toBe(target.default);
    }
    expect(Object.keys(manifest.exports)).toContain("./vitest-global-setup");
  });

  it("publishes the same exports without the source-only condition (src/ is not published)", () => {
    for (const [name, target] of Object.entries(manifest.exports)) {
      expect(manifest.publishConfig.exports[name], name).toEqual({
        types: target.types,
        default: target.default,
      });
    }
    expect(Object.keys(manifest.publishConfig.exports)).toEqual(Object.keys(manifest.exports));
  });
});
