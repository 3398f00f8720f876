/** Each example runs as is and does what its README says; the demo runs to the end. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtemp, realpath, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GetBucketLocationCommand } from "@aws-sdk/client-s3";
import { RawAesKeyring } from "@rekey/core";
import { startLocalAws } from "@rekey/localstack";
import { useLocalAws } from "@rekey/localstack/vitest";
import {
  createBucketInput,
  main as appExample,
  provision,
  RecordStore,
} from "./app-encrypt-decrypt/index.js";
import { main as manualRotation } from "./reencrypt-after-manual-rotation/index.js";
import { main as aliasCutover } from "./alias-cutover/index.js";
import { main as postgresRewrap, POSTGRES_URL_VARIABLE } from "./postgres-column-rewrap/index.js";
import { postgresBinDir, startPostgres } from "../packages/reencrypt/test/helpers/postgres.js";
import { cleanupCommands, exampleTarget, isMain, type ExampleEnv } from "./shared/aws.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * The environment the examples get in these tests: the test backend's endpoint, if one was
 * chosen, and never the AWS credentials of whoever runs the tests.
 */
const env: ExampleEnv = {
  ...(process.env["AWS_ENDPOINT_URL"] ? { AWS_ENDPOINT_URL: process.env["AWS_ENDPOINT_URL"] } : {}),
  ...(process.env["AWS_REGION"] ? { AWS_REGION: process.env["AWS_REGION"] } : {}),
};

describe("examples", () => {
  it("app-encrypt-decrypt writes, reads back and inspects records", async () => {
    const lines: string[] = [];
    const read = await appExample({ log: (l) => lines.push(l), env });
    expect(read).toEqual([
      { id: "c-1", name: "Ada", card: "4111 1111 1111 1111" },
      { id: "c-2", name: "Grace", card: "5500 0000 0000 0004" },
      { id: "c-3", name: "Edsger", card: "3400 0000 0000 009" },
    ]);
    expect(lines.some((l) => l.includes("named as alias/rekey-app-"))).toBe(true);
    // nothing to clean up on an emulator
    expect(lines.some((l) => l.includes("schedule-key-deletion"))).toBe(false);
  });

  it("reencrypt-after-manual-rotation moves every object onto the new key", async () => {
    const r = await manualRotation({ log: () => undefined, count: 20, env });
    expect(r.plan.classes.rewrap.objects).toBe(20);
    expect(r.run.outcomes.rewrapped).toBe(20);
    expect(r.run.exitCode).toBe(0);
    expect(r.keysAfter).toHaveLength(20);
    expect(r.keysAfter.every((k) => k === r.newKeyArn)).toBe(true);
    expect(r.readBack).toBe(20);
  });

  it("alias-cutover refuses a key without the app role, then cuts over to a new key and rewraps", async () => {
    const lines: string[] = [];
    const r = await aliasCutover({ log: (l) => lines.push(l), count: 12, env });
    expect(r.refused.error).toMatch(/preflight failed \(principals\); nothing was changed/);
    expect(r.refused.aliasStayedOn).toBe(r.oldKeyArn);
    expect(lines.some((l) => /\[FAIL\] the target lets in every principal/.test(l))).toBe(true);
    expect(lines.some((l) => /missing: arn:aws:iam::\d+:role\/rekey-example-app/.test(l))).toBe(true);
    expect(r.newKeyArn).not.toBe(r.oldKeyArn);
    expect(r.run.outcomes.rewrapped).toBe(12);
    expect(r.run.exitCode).toBe(0);
    expect(r.underOldKey).toBe(0);
    expect(r.readBack).toBe(12);
    expect(r.oldKeyState).toBe("Enabled");
  });

  // A throwaway cluster (initdb, pg_ctl) stands in for the one the README starts by hand.
  it.skipIf(postgresBinDir() === undefined)(
    "postgres-column-rewrap rewraps every row of its table after a rotation, and every row decrypts",
    async () => {
      const server = await startPostgres(postgresBinDir() as string);
      try {
        const lines: string[] = [];
        const r = await postgresRewrap({
          log: (l) => lines.push(l),
          count: 60,
          env: { ...env, [POSTGRES_URL_VARIABLE]: server.url },
        });
        expect(r.plan.classes.rewrap.objects).toBe(60);
        expect(r.run.outcomes.rewrapped).toBe(60);
        expect(r.run.exitCode).toBe(0);
        expect(r.decrypted).toBe(60);
        expect(r.leftToRewrap).toBe(0);
        expect(r.materialAfter).not.toEqual(r.materialBefore);
        if (r.currentMaterial !== undefined) expect(r.materialAfter).toEqual([r.currentMaterial]);
        expect(lines.at(-1)).toMatch(
          /^Checked: 60\/60 rows decrypt to what was written; .*; 0 left to rewrap$/,
        );
      } finally {
        await server.stop();
      }
    },
    120_000,
  );

  it("postgres-column-rewrap without a database URL says which variable to set", async () => {
    await expect(postgresRewrap({ log: () => undefined, env: {} })).rejects.toThrow(
      /set REKEY_EXAMPLE_POSTGRES_URL to a PostgreSQL URL/,
    );
  });

  it("alias-cutover on real AWS asks for REKEY_EXAMPLE_APP_ROLE before creating anything", async () => {
    // REKEY_TARGET=aws with no credentials: the check comes before any connection.
    await expect(aliasCutover({ log: () => undefined, env: { REKEY_TARGET: "aws" } })).rejects.toThrow(
      /set REKEY_EXAMPLE_APP_ROLE to the ARN of an existing IAM role/,
    );
  });

  it("the demo (the README's first command) runs to the end, checks before it says, pages the listing", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=rekey-source", "examples/demo.ts"],
      {
        cwd: root,
        encoding: "utf8",
        // The demo runs on its own emulator: no AWS variables of the person running the tests.
        env: { PATH: process.env["PATH"], HOME: process.env["HOME"], REKEY_DEMO_RECORDS: "24" },
        timeout: 120_000,
      },
    );
    expect(r.stderr).not.toMatch(/demo failed/);
    expect(r.status).toBe(0);
    const out = r.stdout;
    // step 1: a file through the raw AES keyring (no KMS call) and through KMS
    expect(out).toContain("$ rekey encrypt note.txt -o note.raw.rkey --raw-key-file demo.key");
    expect(out).toContain("$ rekey decrypt note.kms.rkey -o note.kms.txt --key alias/rekey-demo");
    expect(out).toContain("✔ note.raw.txt is note.txt again — raw AES key from demo.key, 0 KMS calls");
    expect(out).toMatch(
      /✔ note\.kms\.txt is note\.txt again — data key from KMS through alias\/rekey-demo, [1-9]\d* KMS calls/,
    );
    expect(out).toContain("Preflight passed.");
    // the last step's facts are checked: none failed
    expect(out).toContain("✔ 24/24 records listed in s3://rekey-demo");
    expect(out).toContain("✔ 24/24 decrypt through alias/rekey-demo");
    expect(out).toMatch(/✔ 0 are left under the old key arn:aws:kms:\S+/);
    expect(out).not.toContain("✘");
    expect(out).toMatch(/Files and job reports: \S+rekey-demo-\S+\nDone in \d+\.\d s\.\n?$/);
  }, 150_000);
});

describe("RecordStore.list", () => {
  const aws = useLocalAws();
  it("reads every page of the listing (more objects than one page holds)", async () => {
    const { bucket } = await provision(aws.kms, aws.s3, `rekey-list-${Date.now()}`);
    const keyring = new RawAesKeyring({ name: "k", key: Buffer.alloc(32, 7) });
    const store = new RecordStore(aws.s3, bucket, keyring, 5);
    for (let i = 0; i < 12; i++) await store.put("t", `r-${i}`, { i });
    const seen: string[] = [];
    for await (const { tenant, id } of store.list()) seen.push(`${tenant}/${id}`);
    expect(seen.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `t/r-${i}`).sort());
  });
});

describe("examples on AWS", () => {
  it.each<[string, ExampleEnv, string]>([
    ["nothing set: the built-in emulator", {}, "emulator"],
    ["only a Region: still the emulator", { AWS_REGION: "eu-west-1" }, "emulator"],
    ["AWS_PROFILE: AWS", { AWS_PROFILE: "dev" }, "aws"],
    ["AWS_ACCESS_KEY_ID: AWS", { AWS_ACCESS_KEY_ID: "AKIA…" }, "aws"],
    ["AWS_ENDPOINT_URL: that endpoint", { AWS_ENDPOINT_URL: "http://localhost:4566" }, "endpoint"],
    [
      "AWS_ENDPOINT_URL wins over credentials (the emulator's own export lines set both)",
      { AWS_ENDPOINT_URL: "http://localhost:4566", AWS_ACCESS_KEY_ID: "test" },
      "endpoint",
    ],
    ["REKEY_TARGET=aws", { REKEY_TARGET: "aws" }, "aws"],
    [
      "REKEY_TARGET=emulator wins over a profile",
      { REKEY_TARGET: "emulator", AWS_PROFILE: "dev" },
      "emulator",
    ],
  ])("%s", (_name, e, kind) => {
    expect(exampleTarget(e).kind).toBe(kind);
  });

  it("refuses an unknown REKEY_TARGET", () => {
    expect(() => exampleTarget({ REKEY_TARGET: "prod" })).toThrow(/REKEY_TARGET is aws or emulator/);
  });

  it("creates buckets outside us-east-1 with their Region as LocationConstraint", async () => {
    expect(createBucketInput("b", "us-east-1")).toEqual({ Bucket: "b" });
    expect(createBucketInput("b", "eu-west-1")).toEqual({
      Bucket: "b",
      CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
    });
    const eu = await startLocalAws({ backend: "builtin", region: "eu-west-1", log: false });
    try {
      const { bucket } = await provision(eu.kms, eu.s3, `rekey-eu-${Date.now()}`);
      const where = await eu.s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
      expect(where.LocationConstraint).toBe("eu-west-1");
    } finally {
      await eu.stop();
    }
  });

  it("prints the commands that remove what was created, on AWS only", async () => {
    const created = { keys: ["arn:aws:kms:eu-west-1:1:key/k"], aliases: ["alias/a"], buckets: ["b"] };
    expect(cleanupCommands({ kind: "aws", why: "" }, created)).toEqual([
      "To remove what this example created:",
      "  aws s3 rb s3://b --force",
      "  aws kms delete-alias --alias-name alias/a",
      "  aws kms schedule-key-deletion --key-id arn:aws:kms:eu-west-1:1:key/k --pending-window-in-days 7",
    ]);
    expect(cleanupCommands({ kind: "emulator", why: "" }, created)).toEqual([]);
  });

  it("recognizes the script it was started as, through a path with spaces and a symbolic link", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "rekey example ")));
    const file = join(dir, "index with space.ts");
    await writeFile(file, "");
    const link = join(dir, "linked.ts");
    await symlink(file, link);
    const url = pathToFileURL(file).href;
    expect(isMain(url, file)).toBe(true);
    expect(isMain(url, link)).toBe(true);
    expect(isMain(url, join(dir, "other.ts"))).toBe(false);
    expect(isMain(url, undefined)).toBe(false);
    // what the examples checked before: a raw path in a URL
    expect(url === `file://${file}`).toBe(false);
  });
});
