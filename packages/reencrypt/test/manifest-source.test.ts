import fc from "fast-check";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { JobError, manifestSource, type SourceEntry } from "../src/index.js";
import { csvRowsOf } from "../src/sources/manifest-source.js";

async function collect(it: AsyncIterable<SourceEntry>): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function manifestFile(name: string, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rekey-manifest-"));
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe("manifestSource", () => {
  it("reads bucket,key[,versionId], skips a header and blank lines, reports bad lines with their number", async () => {
    const path = await manifestFile(
      "m.csv",
      [
        "bucket,key,versionId",
        "data-bucket,a/one.rkey",
        'data-bucket,"b,with comma.rkey",v123',
        "",
        "only-one-field",
        "Bad_Bucket,key",
        'data-bucket,"unclosed',
        "data-bucket,",
        "data-bucket,k,v,extra",
        "data-bucket,last.rkey",
      ].join("\r\n"),
    );
    const entries = await collect(manifestSource({ path }));
    expect(entries.filter((e) => e.kind === "s3")).toEqual([
      { kind: "s3", bucket: "data-bucket", key: "a/one.rkey" },
      { kind: "s3", bucket: "data-bucket", key: "b,with comma.rkey", versionId: "v123" },
      { kind: "s3", bucket: "data-bucket", key: "last.rkey" },
    ]);
    const invalid = entries.filter((e) => e.kind === "invalid");
    expect(invalid.map((e) => (e.kind === "invalid" ? e.where.split(":").at(-1) : ""))).toEqual([
      "5",
      "6",
      "7",
      "8",
      "9",
    ]);
    expect(invalid[0]).toMatchObject({ reason: expect.stringMatching(/expected bucket,key/) });
  });

  it("decodes URL-encoded keys when asked (S3 Batch Operations manifests) and reads .gz", async () => {
    const path = await manifestFile("m.csv.gz", gzipSync("data-bucket,a%2Fb+c%C3%A9.rkey\n"));
    const entries = await collect(manifestSource({ path, urlEncodedKeys: true }));
    expect(entries).toEqual([{ kind: "s3", bucket: "data-bucket", key: "a/b cé.rkey" }]);
  });

  it("reads S3 Inventory CSV with its schema, skipping delete markers and noncurrent versions", async () => {
    const path = await manifestFile(
      "inv.csv",
      [
        '"data-bucket","a%20b.rkey","v1","true","false","1234"',
        '"data-bucket","a%20b.rkey","v0","false","false","1200"',
        '"data-bucket","gone.rkey","v2","true","true","0"',
      ].join("\n"),
    );
    const entries = await collect(
      manifestSource({
        path,
        format: "inventory",
        inventorySchema: "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size",
      }),
    );
    expect(entries).toEqual([
      { kind: "s3", bucket: "data-bucket", key: "a b.rkey", versionId: "v1", size: 1234 },
    ]);
  });

  it("a long manifest keeps its order and line numbers, a bad line staying one invalid entry", async () => {
    const lines = Array.from({ length: 1300 }, (_, i) => `data-bucket,"k/${i + 1}.rkey"`);
    // An unclosed quote, a stray quote and a line with too many fields, in different batches.
    lines[1] = 'data-bucket,"open';
    lines[599] = 'data-bucket,k"600';
    lines[1199] = "data-bucket,a,b,c";
    const path = await manifestFile("long.csv", `${lines.join("\n")}\n`);
    const entries = await collect(manifestSource({ path }));
    expect(entries).toHaveLength(1300);
    expect(
      entries.flatMap((e, i) => (e.kind === "invalid" ? [[i + 1, e.where.split(":").at(-1), e.reason]] : [])),
    ).toEqual([
      [2, "2", "unbalanced quotes"],
      [600, "600", "unbalanced quotes"],
      [1200, "1200", expect.stringMatching(/got 4 field/)],
    ]);
    entries.forEach((e, i) => {
      if (e.kind === "s3") expect(e.key).toBe(`k/${i + 1}.rkey`);
    });
  });

  it("a byte order mark before the header is dropped", async () => {
    const path = await manifestFile("bom.csv", "\uFEFFbucket,key\ndata-bucket,a.rkey\n");
    expect(await collect(manifestSource({ path }))).toEqual([
      { kind: "s3", bucket: "data-bucket", key: "a.rkey" },
    ]);
  });

  it("a missing manifest is a clear ERR_JOB_SOURCE", async () => {
    await expect(collect(manifestSource({ path: "/nonexistent/manifest.csv" }))).rejects.toSatisfy(
      (e) => e instanceof JobError && e.code === "ERR_JOB_SOURCE",
    );
  });
});

describe("csvRowsOf", () => {
  it("property: quoting any fields round-trips", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: "grapheme" }).filter((s) => !/[\r\n]/.test(s)),
          { minLength: 1, maxLength: 5 },
        ),
        (fields) => {
          const line = fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(",");
          expect(csvRowsOf([line])).toEqual([fields]);
        },
      ),
    );
  });

  it("unbalanced and stray quotes make that line undefined, and only that line", () => {
    expect(csvRowsOf(['a,"b', "c,d", '"a"b,c', "e,f", 'g,h"i'])).toEqual([
      undefined,
      ["c", "d"],
      undefined,
      ["e", "f"],
      undefined,
    ]);
    // Two half-quoted lines do not make one row between them.
    expect(csvRowsOf(['a,"b', 'c",d'])).toEqual([undefined, undefined]);
  });

  it("property: lines parsed together are the lines parsed one by one", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a,"]{1,8}$/), { minLength: 1, maxLength: 8 }), (lines) => {
        expect(csvRowsOf(lines)).toEqual(lines.flatMap((line) => csvRowsOf([line])));
      }),
    );
  });
});
