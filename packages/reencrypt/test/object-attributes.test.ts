/**
 * The attributes a rewrite keeps: an object's user metadata is the object owner's data, so every
 * key of it is written back as it was read, also keys named like Object.prototype's members.
 */
import { describe, expect, it } from "vitest";
import { JobCounters } from "../src/support/job-counters.js";
import type { S3Runtime } from "../src/stores/s3/s3-runtime.js";
import {
  SOURCE_VERSION_METADATA,
  writeParamsFor,
  type S3ObjectAttributes,
} from "../src/stores/s3/object-attributes.js";

// Never called: an object without tags on a store that counts them needs no request.
const rt = { client: undefined as never, counters: new JobCounters() } satisfies S3Runtime;

describe("writeParamsFor", () => {
  it('writes back every metadata key, "__proto__" and "constructor" too, and adds the source version', async () => {
    const metadata: Record<string, string> = JSON.parse('{"__proto__":"p","constructor":"c","team":"data"}');
    const attributes: S3ObjectAttributes = { metadata, tagCount: 0, contentType: "application/octet-stream" };
    const ref = { kind: "s3", bucket: "data-bucket", key: "a.rkey", versionId: "v1" } as const;
    const params = await writeParamsFor(ref, attributes, rt);
    const written = params.Metadata ?? {};
    expect(Object.getPrototypeOf(written)).toBe(Object.prototype);
    expect(Object.hasOwn(written, "__proto__") && written["__proto__"]).toBe("p");
    expect(Object.entries(written).sort()).toEqual(
      [
        ["__proto__", "p"],
        ["constructor", "c"],
        ["team", "data"],
        [SOURCE_VERSION_METADATA, "v1"],
      ].sort(),
    );
    expect(params.ContentType).toBe("application/octet-stream");
    // The attributes read stay as they were.
    expect(Object.keys(metadata).sort()).toEqual(["__proto__", "constructor", "team"]);
  });
});
