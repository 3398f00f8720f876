/** The plan report's estimates follow the job's configured part sizes (no network). */
import { describe, expect, it } from "vitest";
import { type ObjectPlan } from "../src/index.js";
import { JobCounters } from "../src/support/job-counters.js";
import { PlanReportBuilder } from "../src/runner/plan-report.js";
import { FakeKms } from "@rekey/localstack/fake-kms";
import { prefixOf, sealWith } from "./helpers/messages.js";

const MiB = 1024 * 1024;

async function largePlan(cls: "rewrap" | "reencrypt", size: number): Promise<ObjectPlan> {
  const kms = new FakeKms();
  const key = kms.addKey().arn;
  const prefix = prefixOf(await sealWith(kms, [key]));
  return {
    ref: { kind: "s3", bucket: "data-bucket", key: "big.rkey" },
    class: cls,
    reason: "",
    size,
    etag: '"e"',
    prefix,
    actions: [{ kind: "rewrap", destinationKeyId: key, requestedKeyId: key }],
    recipients: [{ keyArn: key, requestedKeyId: key }],
    sourceKeyArns: [key],
    sourceMaterialIds: [undefined],
    materialUnproven: false,
    kmsCalls: 1,
    keptEntries: 0,
  };
}

function report(plan: ObjectPlan, parts: { copyPartBytes: number; uploadPartBytes: number }) {
  const b = new PlanReportBuilder({
    mode: plan.class === "rewrap" ? "rewrap" : "reencrypt",
    verify: "etag",
    kmsRps: 1000,
    concurrency: 16,
    multipartThreshold: 16 * MiB,
    ...parts,
    target: { spec: "current", description: "current" },
    counters: new JobCounters(),
  });
  b.add(plan, 1);
  return b.finish(false);
}

describe("plan report estimates", () => {
  it("a large rewrap's copy requests follow copyPartBytes", async () => {
    const plan = await largePlan("rewrap", 1024 * MiB);
    const wide = report(plan, { copyPartBytes: 256 * MiB, uploadPartBytes: 8 * MiB });
    const narrow = report(plan, { copyPartBytes: 64 * MiB, uploadPartBytes: 8 * MiB });
    // 1 GiB less the 5 MiB first part: 4 copies of 256 MiB, or 16 of 64 MiB.
    expect(wide.s3Requests).toBe(5 + 4);
    expect(narrow.s3Requests).toBe(5 + 16);
    expect(wide.multipartObjects).toBe(1);
    expect(wide.bytesEstimate.copiedServerSide).toBe(narrow.bytesEstimate.copiedServerSide);
    expect(wide.bytesEstimate.copiedServerSide).toBeGreaterThan(1018 * MiB);
    expect(wide.bytesEstimate.throughJob).toBeLessThan(11 * MiB);
  });

  it("a re-encrypt's upload requests follow uploadPartBytes", async () => {
    const plan = await largePlan("reencrypt", 64 * MiB);
    expect(report(plan, { copyPartBytes: 256 * MiB, uploadPartBytes: 8 * MiB }).s3Requests).toBe(4 + 8);
    expect(report(plan, { copyPartBytes: 256 * MiB, uploadPartBytes: 32 * MiB }).s3Requests).toBe(4 + 2);
  });
});
