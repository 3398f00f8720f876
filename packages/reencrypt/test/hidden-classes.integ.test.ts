/**
 * The job's per-object values keep one hidden class each: every plan of a class, every result of
 * an outcome. In Node 20's V8 an object literal that begins with a spread (`{ ...plan, x }`) gets
 * a new hidden class on every call; each such object is new to every inline cache that reads it,
 * which made the job's own code several times slower per object than it needs to be (and leaves
 * a map per object to collect). eslint's `no-restricted-syntax` keeps such literals out of the
 * per-object folders; this test checks the values a job actually makes.
 */
import { CreateKeyCommand, RotateKeyOnDemandCommand } from "@aws-sdk/client-kms";
import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { useLocalAws } from "@rekey/localstack/vitest";
import { runJob, type ObjectPlan, type ObjectResult } from "../src/index.js";
import { newBucket, putEncrypted } from "./helpers/s3-objects.js";

// V8's own test function, compiled after the flag is set: true when two objects share a map.
setFlagsFromString("--allow-natives-syntax");
const sameHiddenClass = new Function("a", "b", "return %HaveSameMap(a, b)") as (
  a: object,
  b: object,
) => boolean;

/** How many hidden classes `values` have between them. */
function hiddenClasses(values: readonly object[]): number {
  const representatives: object[] = [];
  for (const v of values) if (!representatives.some((r) => sameHiddenClass(r, v))) representatives.push(v);
  return representatives.length;
}

const aws = useLocalAws();

describe("hidden classes of the job's per-object values", () => {
  it("the check tells hidden classes apart", () => {
    const make = (n: number) => ({ kind: "s3", bucket: "b", key: `k${n}` });
    expect(sameHiddenClass(make(1), make(2))).toBe(true);
    expect(sameHiddenClass(make(1), { kind: "s3", key: "k1", bucket: "b" })).toBe(false);
    expect(hiddenClasses([make(1), { bucket: "b" }, make(2), { key: "k" }])).toBe(3);
  });

  it("every plan and every result of a rewrap job share one hidden class each", async () => {
    // The job retries itself: clients without SDK retries.
    const kms = aws.createKmsClient({ maxAttempts: 1 });
    const s3 = aws.createS3Client({ maxAttempts: 1 });
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const bucket = await newBucket(s3);
    // Enough objects for the inline caches to warm: the first few plans of the old code shared a class.
    const count = 48;
    for (let i = 0; i < count; i++)
      await putEncrypted(s3, kms, bucket, `o/${i}.rkey`, { keyId: key, seed: i, plaintextSize: 512 });
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: key }));

    const plans: ObjectPlan[] = [];
    const results: ObjectResult[] = [];
    const report = await runJob({
      kms,
      s3,
      source: { kind: "s3", bucket },
      target: "current",
      concurrency: 4,
      hooks: { afterPlan: (p) => void plans.push(p), onResult: (r) => void results.push(r) },
    });
    expect(report.outcomes.rewrapped).toBe(count);
    expect(plans.map((p) => p.class)).toEqual(Array(count).fill("rewrap"));
    expect(hiddenClasses(plans)).toBe(1);
    expect(hiddenClasses(results)).toBe(1);
    expect(hiddenClasses(plans.map((p) => p.ref))).toBe(1);
  });
});
