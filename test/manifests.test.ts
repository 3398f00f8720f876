/**
 * The published manifests of the three packages: licence, repository, exports a consumer of the
 * tarball can resolve, and optional dependencies that are really optional. The tarballs
 * themselves are installed and run by test/installed.e2e.test.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

interface Manifest {
  license: string;
  repository: { type: string; url: string; directory: string };
  files: string[];
  exports: Record<string, Record<string, string>>;
  publishConfig: { exports: Record<string, Record<string, string>> };
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const read = (name: string): Manifest =>
  JSON.parse(readFileSync(`${root}/packages/${name}/package.json`, "utf8")) as Manifest;
const licence = readFileSync(`${root}/LICENSE`, "utf8");

describe.each(["core", "localstack", "reencrypt"])("@rekey/%s package.json", (name) => {
  const manifest = read(name);

  it("is Apache-2.0 and ships the licence text", () => {
    expect(manifest.license).toBe("Apache-2.0");
    expect(licence).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(manifest.files).toContain("LICENSE");
    expect(readFileSync(`${root}/packages/${name}/LICENSE`, "utf8")).toBe(licence);
  });

  it("names its repository folder", () => {
    expect(manifest.repository).toMatchObject({ type: "git", directory: `packages/${name}` });
    expect(existsSync(`${root}/${manifest.repository.directory}/package.json`)).toBe(true);
  });

  it("publishes exports that point only at published files (no source-only condition)", () => {
    expect(Object.keys(manifest.publishConfig.exports)).toEqual(Object.keys(manifest.exports));
    for (const [subpath, targets] of Object.entries(manifest.publishConfig.exports)) {
      expect(Object.keys(targets), subpath).toEqual(["types", "default"]);
      for (const target of Object.values(targets)) expect(target, subpath).toMatch(/^\.\/dist\//);
    }
  });
});

describe("optional dependencies", () => {
  const optionalPeers = (name: string): string[] =>
    Object.entries(read(name).peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta.optional === true)
      .map(([peer]) => peer);

  it("core: the AWS Encryption SDK is an optional peer, not a dependency", () => {
    expect(read("core").dependencies).not.toHaveProperty("@aws-crypto/client-node");
    expect(read("core").peerDependencies).toHaveProperty("@aws-crypto/client-node");
    expect(optionalPeers("core")).toContain("@aws-crypto/client-node");
  });

  it("localstack: the container libraries are optional peers, not dependencies", () => {
    for (const library of ["testcontainers", "@testcontainers/localstack"]) {
      expect(read("localstack").dependencies).not.toHaveProperty(library);
      expect(read("localstack").peerDependencies).toHaveProperty(library);
      expect(optionalPeers("localstack")).toContain(library);
    }
  });
});
