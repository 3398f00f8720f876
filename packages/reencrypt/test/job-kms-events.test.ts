/** Every KMS call the job makes is reported through `hooks.onKmsCall`: its own DescribeKey too. */
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encrypt, KmsKeyring, type KmsCallEvent } from "@rekey/core";
import { describe, expect, it } from "vitest";
import { runJob } from "../src/index.js";
import { FakeKms } from "@rekey/localstack/fake-kms";

describe("the job's KMS-call events", () => {
  it("reports DescribeKey (key ARN and current material) and each ReEncrypt and Decrypt, as many as KMS saw", async () => {
    const kms = new FakeKms();
    const key = kms.addKey().arn;
    const dir = await mkdtemp(join(tmpdir(), "rekey-events-"));
    for (let i = 0; i < 3; i++) {
      const { ciphertext } = await encrypt(randomBytes(500), {
        keyring: new KmsKeyring({ client: kms, keyId: key }),
        encryptionContext: { n: String(i) },
      });
      await writeFile(join(dir, `f${i}.rkey`), ciphertext);
    }
    const material = kms.rotate(key);
    const events: KmsCallEvent[] = [];
    const report = await runJob({
      kms,
      source: { kind: "dir", path: dir },
      target: "current",
      kmsRps: Infinity,
      verify: "full",
      hooks: { onKmsCall: (e) => events.push(e) },
    });
    expect(report.outcomes.rewrapped).toBe(3);
    const byOperation = (op: string) => events.filter((e) => e.operation === op);
    expect(byOperation("DescribeKey")).toHaveLength(report.kms.byOperation["DescribeKey"] ?? -1);
    expect(byOperation("DescribeKey")[0]).toMatchObject({ keyArn: key, keyMaterialId: material });
    expect(byOperation("ReEncrypt")).toHaveLength(3);
    expect(byOperation("Decrypt")).toHaveLength(report.kms.byOperation["Decrypt"] ?? -1);
    expect(events.every((e) => e.durationMs >= 0 && e.error === undefined)).toBe(true);
  });
});
