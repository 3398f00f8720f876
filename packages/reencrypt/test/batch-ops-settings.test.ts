/** The job's settings as Batch Operations user arguments, and what the function makes of them. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  defaultsOfEnv,
  settingsOfUserArguments,
  userArgumentsOf,
  type BatchJobSettings,
} from "../src/batch-ops/job-settings.js";
import { manifestLine, parseS3Location, partitionOf } from "../src/batch-ops/submit-job.js";
import { batchOperationsEntry } from "../src/batch-ops/lambda-entry.js";

const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("job settings as user arguments", () => {
  it("round-trips every combination, within S3's 10 arguments", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("current", "alias:alias/app", `key:${KEY}`),
        fc.constantFrom("rewrap" as const, "reencrypt" as const),
        fc.constantFrom("etag" as const, "header" as const, "full" as const),
        fc.array(fc.constant(KEY), { maxLength: 2 }),
        fc.boolean(),
        fc.boolean(),
        (target, mode, verify, fromKeys, olderThanMaterial, includeCurrent) => {
          const s: BatchJobSettings = {
            target,
            mode,
            verify,
            ...(fromKeys.length ? { fromKeys } : {}),
            ...(olderThanMaterial ? { olderThanMaterial } : {}),
            ...(includeCurrent ? { includeCurrent } : {}),
          };
          const args = userArgumentsOf(s);
          expect(Object.keys(args).length).toBeLessThanOrEqual(10);
          expect(Object.values(args).every((v) => typeof v === "string")).toBe(true);
          expect(settingsOfUserArguments(args)).toEqual(s);
        },
      ),
    );
  });

  it("the job's arguments win over the function's environment; the environment fills the rest", () => {
    const env = defaultsOfEnv({ REKEY_TARGET: `key:${KEY}`, REKEY_VERIFY: "full", REKEY_MODE: "" });
    expect(settingsOfUserArguments({ verify: "header" }, env)).toEqual({
      target: `key:${KEY}`,
      mode: "rewrap",
      verify: "header",
    });
    expect(settingsOfUserArguments({})).toEqual({ target: "current", mode: "rewrap", verify: "etag" });
  });

  it.each([
    [{ writersStopped: "true" }, /unknown job argument "writersStopped"/],
    [{ mode: "copy" }, /mode is rewrap or reencrypt/],
    [{ verify: "none" }, /verify is etag, header or full/],
    [{ olderThanMaterial: "yes" }, /olderThanMaterial is true or false/],
    [{ fromKeys: "alias/app" }, /not a key ARN/],
    [{ target: "somewhere" }, /./],
  ])("refuses %j", (args, message) => {
    expect(() => settingsOfUserArguments(args)).toThrow(message);
  });

  it("the function answers PermanentFailure for every task when it cannot read the settings", async () => {
    const handler = batchOperationsEntry({});
    const out = await handler({
      invocationSchemaVersion: "2.0",
      invocationId: "inv",
      job: { id: "j", userArguments: { target: "current", verify: "none" } },
      tasks: [
        { taskId: "t1", s3Bucket: "data", s3Key: "a.rkey" },
        { taskId: "t2", s3Bucket: "data", s3Key: "b.rkey" },
      ],
    });
    expect(out.results).toEqual([
      { taskId: "t1", resultCode: "PermanentFailure", resultString: expect.stringMatching(/verify is etag/) },
      { taskId: "t2", resultCode: "PermanentFailure", resultString: expect.stringMatching(/verify is etag/) },
    ]);
  });
});

describe("manifest and request pieces", () => {
  it("manifest keys are URL-encoded, slashes kept, and decode back to the key", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }), (key) => {
        const line = manifestLine("data", key);
        const [bucket, encoded, ...rest] = line.split(",");
        expect(bucket).toBe("data");
        expect(rest).toEqual([]);
        expect(encoded).not.toMatch(/[\s,"+]/);
        expect(decodeURIComponent(encoded!.replace(/\+/g, " "))).toBe(key);
      }),
    );
    expect(manifestLine("data", "a/b c.rkey", "v1")).toBe("data,a/b%20c.rkey,v1");
  });

  it("parses locations and partitions", () => {
    expect(parseS3Location("s3://ops/rekey/m.csv", "--manifest-uri")).toEqual({
      bucket: "ops",
      key: "rekey/m.csv",
    });
    expect(() => parseS3Location("ops/m.csv", "--manifest-uri")).toThrow(
      /--manifest-uri takes s3:\/\/bucket\/key/,
    );
    expect(partitionOf("arn:aws-cn:lambda:cn-north-1:111122223333:function:f")).toBe("aws-cn");
    expect(() => partitionOf("rekey")).toThrow(/not an ARN/);
  });
});
