import fc from "fast-check";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { JobError, manifestSource, type SourceEntry } from "../src/index.js";
import { splitCsvLine } from "../src/sources/manifest-source.js";

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

  it("a missing manifest is a clear ERR_JOB_SOURCE", async () => {
    await expect(collect(manifestSource({ path: "/nonexistent/manifest.csv" }))).rejects.toSatisfy(
      (e) => e instanceof JobError && e.code === "ERR_JOB_SOURCE",
    );
  });
});

describe("splitCsvLine", () => {
  it("property: quoting any fields round-trips", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: "grapheme" }).filter((s) => !/[\r\n]/.test(s)),
          { minLength: 1, maxLength: 5 },
        ),
        (fields) => {
          const line = fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(",");
          expect(splitCsvLine(line)).toEqual(fields);
        },
      ),
    );
  });

  it("unbalanced quotes are undefined", () => {
    expect(splitCsvLine('a,"b')).toBeUndefined();
    expect(splitCsvLine('"a"b,c')).toBeUndefined();
  });
});
