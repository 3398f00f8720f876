/** `kmsItems` / `allKmsItems`: the one loop over KMS list markers, and the job's alias lookup on it. No network. */
import { describe, expect, it } from "vitest";
import { resolveTarget } from "../src/kms/resolve-target.js";
import { allKmsItems, kmsItems, type KmsListPage } from "../src/support/kms-pages.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

interface Page extends KmsListPage {
  readonly Items?: number[];
}

/** A list operation answering `pages` in turn, by marker; every call is recorded. */
function lister(pages: readonly Page[]): {
  fetch: (m: { Marker?: string }) => Promise<Page>;
  markers: (string | undefined)[];
} {
  const markers: (string | undefined)[] = [];
  return {
    markers,
    fetch: async (m) => {
      markers.push(m.Marker);
      const page = pages[markers.length - 1];
      if (page === undefined) throw new Error(`no page after marker ${m.Marker}`);
      return page;
    },
  };
}

describe("kmsItems", () => {
  it("follows NextMarker while Truncated, items in order", async () => {
    const { fetch, markers } = lister([
      { Items: [1, 2], Truncated: true, NextMarker: "m1" },
      { Items: [3], Truncated: true, NextMarker: "m2" },
      { Items: [4], Truncated: false },
    ]);
    expect(await allKmsItems(fetch, (p) => p.Items)).toEqual([1, 2, 3, 4]);
    expect(markers).toEqual([undefined, "m1", "m2"]);
  });

  it("stops at a page that is not truncated, whatever marker it carries, and on a page without items", async () => {
    const { fetch, markers } = lister([{ Truncated: false, NextMarker: "m1" }]);
    expect(await allKmsItems(fetch, (p) => p.Items)).toEqual([]);
    expect(markers).toEqual([undefined]);
  });

  it("a truncated page without a marker, or with a marker seen before, ends the listing", async () => {
    const noMarker = lister([{ Items: [1], Truncated: true }]);
    expect(await allKmsItems(noMarker.fetch, (p) => p.Items)).toEqual([1]);
    expect(noMarker.markers).toEqual([undefined]);

    const loop = lister([
      { Items: [1], Truncated: true, NextMarker: "m1" },
      { Items: [2], Truncated: true, NextMarker: "m1" },
    ]);
    expect(await allKmsItems(loop.fetch, (p) => p.Items)).toEqual([1, 2]);
    expect(loop.markers).toEqual([undefined, "m1"]);
  });

  it("a caller that stops early asks for no further page", async () => {
    const { fetch, markers } = lister([
      { Items: [1, 2], Truncated: true, NextMarker: "m1" },
      { Items: [3], Truncated: false },
    ]);
    for await (const item of kmsItems(fetch, (p) => p.Items)) if (item === 2) break;
    expect(markers).toEqual([undefined]);
  });

  it("a failed page fails the listing", async () => {
    const { fetch } = lister([{ Items: [1], Truncated: true, NextMarker: "m1" }]);
    await expect(allKmsItems(fetch, (p) => p.Items)).rejects.toThrow(/no page after marker m1/);
  });
});

describe("resolveTarget over paged aliases", () => {
  it("reads pages until the alias, and no further", async () => {
    const kms = new FakeKms({ pageSize: 1 });
    kms.addKey({ alias: "alias/a" });
    const b = kms.addKey({ alias: "alias/b" });
    kms.addKey({ alias: "alias/c" });
    const all = await allKmsItems(
      (m) => kms.listAliases(m),
      (r) => r.Aliases,
    );
    const pagesToB = all.findIndex((a) => a.AliasName === "alias/b") + 1;
    expect(pagesToB).toBeGreaterThan(1);
    expect(pagesToB).toBeLessThan(all.length);
    const before = kms.count("ListAliases");
    const target = await resolveTarget({ kind: "alias", name: "alias/b" }, kms);
    expect(target).toMatchObject({ kind: "alias", keyArn: b.arn, aliasName: "alias/b" });
    expect(kms.count("ListAliases") - before).toBe(pagesToB);
  });

  it("an alias on no page is ERR_JOB_TARGET after the last page", async () => {
    const kms = new FakeKms({ pageSize: 1 });
    kms.addKey({ alias: "alias/a" });
    kms.addKey({ alias: "alias/b" });
    const pages = (
      await allKmsItems(
        (m) => kms.listAliases(m),
        (r) => r.Aliases,
      )
    ).length;
    const before = kms.count("ListAliases");
    await expect(resolveTarget({ kind: "alias", name: "alias/none" }, kms)).rejects.toMatchObject({
      code: "ERR_JOB_TARGET",
      message: "alias alias/none does not exist",
    });
    expect(kms.count("ListAliases") - before).toBe(pages);
  });
});
