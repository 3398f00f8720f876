/**
 * `testcontainers` and `@testcontainers/localstack` are optional peer dependencies: an install
 * without them is told so by name (NO_CONTAINER_LIBRARY), never "no container runtime". The
 * importer seam stands in for an install without the packages; the packed-tarball end-to-end
 * test (test/installed.e2e.test.ts) checks the same on a real install.
 */
import { describe, expect, it } from "vitest";
import { acquireLocalstack, CONTAINER_LIBRARIES_HINT, whyNoLocalstack } from "../src/localstack.js";
import { LocalAwsError } from "../src/errors.js";

/** What Node's ESM loader throws for a package that is not installed. */
function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}' imported from /app/x.js`), {
    code: "ERR_MODULE_NOT_FOUND",
  });
}

const without =
  (missing: string) =>
  async (name: string): Promise<unknown> => {
    if (name === missing) throw notFound(name);
    return import(name);
  };

describe("LocalStack's optional container libraries", () => {
  it.each(["testcontainers", "@testcontainers/localstack"])(
    "without %s: NO_CONTAINER_LIBRARY with the install command, no runtime probe",
    async (missing) => {
      const asked: string[] = [];
      const absent = await whyNoLocalstack(1500, async (name) => {
        asked.push(name);
        return without(missing)(name);
      });
      expect(absent).toEqual({ code: "NO_CONTAINER_LIBRARY", why: CONTAINER_LIBRARIES_HINT });
      expect(CONTAINER_LIBRARIES_HINT).toMatch(
        /npm install .*testcontainers@11 @testcontainers\/localstack@11/,
      );
      expect(asked.at(-1)).toBe(missing);
    },
  );

  it("a missing dependency of the library is its own failure, not 'not installed'", async () => {
    const broken = async (name: string): Promise<unknown> => {
      if (name === "testcontainers") throw notFound("ssh2");
      return import(name);
    };
    await expect(whyNoLocalstack(1500, broken)).rejects.toThrow(/'ssh2'/);
  });

  it("acquireLocalstack without @testcontainers/localstack: LocalAwsError NO_CONTAINER_LIBRARY", async () => {
    const error = await acquireLocalstack(
      "localstack/localstack:4.14.0",
      without("@testcontainers/localstack"),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LocalAwsError);
    expect(error).toMatchObject({ code: "NO_CONTAINER_LIBRARY", message: CONTAINER_LIBRARIES_HINT });
  });
});
