/**
 * `rekey encrypt | decrypt | inspect` with KMS keys and S3 objects through the test adapter:
 * round trips via files and via stdin/stdout of the real executable, the wrong key on decrypt,
 * a missing key, and `inspect` of a file and of an `s3://` object read by ranged GETs.
 */
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand } from "@aws-sdk/client-kms";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encrypt, KmsKeyring } from "@rekey/core";
import { itWith, useLocalAws } from "@rekey/localstack/vitest";
import { cliEnv, lines, runCli, spawnCli } from "./cli-keys-harness.js";

const aws = useLocalAws();
let dir: string;
let keyA: { arn: string; alias: string };
let keyB: { arn: string };

async function newKey(alias?: string) {
  const r = await aws.kms.send(new CreateKeyCommand({}));
  const arn = r.KeyMetadata!.Arn!;
  if (alias) await aws.kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: arn }));
  return arn;
}

beforeAll(async () => {
  const alias = `alias/files-${randomUUID()}`;
  keyA = { arn: await newKey(alias), alias };
  keyB = { arn: await newKey() };
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rekey-cli-files-integ-"));
});

const at = (name: string) => join(dir, name);
const listing = async () => (await readdir(dir)).sort();

describe("encrypt / decrypt with KMS", () => {
  it("round-trips through files under an alias, with context; inspect shows key, alias and context", async () => {
    const data = randomBytes(3_000_000);
    await writeFile(at("in.bin"), data);
    const enc = await runCli(
      [
        "encrypt",
        at("in.bin"),
        "-o",
        at("in.rkey"),
        "--key",
        keyA.alias,
        "--context",
        "tenant=acme",
        "--context",
        "purpose=test",
      ],
      { aws },
    );
    expect(enc).toMatchObject({ code: 0, stderr: "" });
    const dec = await runCli(
      ["decrypt", at("in.rkey"), "-o", at("out.bin"), "--key", keyA.alias, "--context", "tenant=acme"],
      { aws },
    );
    expect(dec).toMatchObject({ code: 0, stderr: "" });
    expect((await readFile(at("out.bin"))).equals(data)).toBe(true);
    const info = await runCli(["inspect", at("in.rkey"), "--table"], { aws });
    expect(info.code).toBe(0);
    expect(info.stdout).toContain(`1. aws-kms  key ${keyA.arn}`);
    expect(info.stdout).toContain(`alias used ${keyA.alias}`);
    expect(info.stdout).toMatch(/encryption context: (tenant=acme, purpose=test|purpose=test, tenant=acme)/);
    expect(info.stdout).toContain("format:             rekey v1, AES-256-GCM/HKDF-SHA512/commit");
    expect(info.stdout).toContain("frame size:         1048576 bytes");
  });

  itWith(aws, "keyMaterialIdInResponses")(
    "inspect shows the key material that wrapped the data key",
    async () => {
      await writeFile(at("in.bin"), "x");
      await runCli(["encrypt", at("in.bin"), "-o", at("in.rkey"), "--key", keyA.arn], { aws });
      const current = (await aws.kms.send(new DescribeKeyCommand({ KeyId: keyA.arn }))).KeyMetadata
        ?.CurrentKeyMaterialId;
      const info = JSON.parse((await runCli(["inspect", at("in.rkey"), "--json"], { aws })).stdout);
      expect(info.entries[0].keyMaterialId).toBe(current);
    },
  );

  it("decrypt with --allow-key (key ARN allow-list) works; with another key it fails in one line, no output", async () => {
    await writeFile(at("in.bin"), "secret");
    await runCli(["encrypt", at("in.bin"), "-o", at("in.rkey"), "--key", keyA.arn], { aws });
    const ok = await runCli(["decrypt", at("in.rkey"), "--allow-key", keyA.arn], { aws });
    expect(ok.stdout).toBe("secret");
    const before = await listing();
    const wrong = await runCli(["decrypt", at("in.rkey"), "-o", at("out.bin"), "--key", keyB.arn], { aws });
    expect(wrong.code).toBe(1);
    expect(lines(wrong.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^rekey: cannot decrypt .*in\\.rkey: no wrapped data key .*; the message is for: ${keyA.arn} \\[ERR_NO_MATCHING_KEY\\]$`,
        ),
      ),
    ]);
    expect(await listing()).toEqual(before);
  });

  it("a key that does not exist: one error line, no output file", async () => {
    await writeFile(at("in.bin"), "x");
    const before = await listing();
    const r = await runCli(["encrypt", at("in.bin"), "-o", at("in.rkey"), "--key", "alias/does-not-exist"], {
      aws,
    });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(
        /^rekey: cannot encrypt .*in\.bin: KMS GenerateDataKey failed: NotFoundException.* \[ERR_KMS\]$/,
      ),
    ]);
    expect(await listing()).toEqual(before);
  });

  it("the executable round-trips stdin → encrypt → decrypt → stdout against KMS", async () => {
    const env = cliEnv(aws);
    const data = randomBytes(2_000_000);
    const enc = await spawnCli(["encrypt", "--key", keyA.alias, "--context", "k=v"], { env, stdin: data });
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    const dec = await spawnCli(["decrypt", "-", "-o", "-", "--key", keyA.arn, "--context", "k=v"], {
      env,
      stdin: enc.stdoutBytes,
    });
    expect(dec.stderr).toBe("");
    expect(dec.code).toBe(0);
    expect(dec.stdoutBytes.equals(data)).toBe(true);
    const wrong = await spawnCli(["decrypt", "--key", keyB.arn, "-o", at("x.bin")], {
      env,
      stdin: enc.stdoutBytes,
    });
    expect(wrong.code).toBe(1);
    expect(lines(wrong.stderr)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/^rekey: cannot decrypt stdin: .*\[ERR_NO_MATCHING_KEY\]$/m);
    expect((await listing()).includes("x.bin")).toBe(false);
  });
});

describe("inspect s3://", () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = `inspect-${randomUUID()}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });

  async function put(key: string, body: Uint8Array) {
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }

  it("reads the header of an object with a ranged GET and prints it", async () => {
    const { ciphertext } = await encrypt(randomBytes(50_000), {
      keyring: new KmsKeyring({ client: aws.kms, keyId: keyA.alias }),
      encryptionContext: { tenant: "acme" },
    });
    await put("a/one.rkey", ciphertext);
    const r = await runCli(["inspect", `s3://${bucket}/a/one.rkey`, "--json"], { aws });
    expect(r.stderr).toBe("");
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({
      source: `s3://${bucket}/a/one.rkey`,
      size: ciphertext.length,
      encryptionContext: { tenant: "acme" },
      entries: [{ type: "aws-kms", keyArn: keyA.arn, requestedKeyId: keyA.alias }],
    });
  });

  async function putBigHeader(key: string): Promise<void> {
    const big = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, "v".repeat(100)]));
    const { ciphertext } = await encrypt(randomBytes(2_000_000), {
      keyring: new KmsKeyring({ client: aws.kms, keyId: keyA.arn }),
      encryptionContext: big,
    });
    await put(key, ciphertext);
  }

  it("reads a header larger than the first 4 KiB range", async () => {
    await putBigHeader("big.rkey");
    const r = await runCli(["inspect", `s3://${bucket}/big.rkey`, "--json"], { aws });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.headerLength).toBeGreaterThan(4096);
    expect(Object.keys(info.encryptionContext)).toHaveLength(60);
    expect(info.entries[0].keyArn).toBe(keyA.arn);
  });

  itWith(aws, "faults")("that takes exactly one more ranged GET, never the whole object", async () => {
    await putBigHeader("big2.rkey");
    const before = aws.faults!.calls("s3:GetObject");
    const r = await runCli(["inspect", `s3://${bucket}/big2.rkey`, "--json"], { aws });
    expect(r.code).toBe(0);
    expect(aws.faults!.calls("s3:GetObject") - before).toBe(2);
  });

  it("a missing object, an empty object and a foreign object are one error line each", async () => {
    await put("empty", new Uint8Array());
    await put("foreign.txt", Buffer.from("just text, not a rekey message"));
    const cases: [string, RegExp][] = [
      [`s3://${bucket}/nope`, /^rekey: cannot read s3:\/\/.*\/nope: no such object \[ERR_INPUT\]$/],
      [`s3://${bucket}/empty`, /^rekey: s3:\/\/.*\/empty: .*empty.* \[ERR_INPUT\]$/],
      [`s3://${bucket}/foreign.txt`, /^rekey: s3:\/\/.*\/foreign\.txt: not a rekey message.* \[ERR_INPUT\]$/],
    ];
    for (const [url, message] of cases) {
      const r = await runCli(["inspect", url], { aws });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toEqual([expect.stringMatching(message)]);
    }
  });

  it("the executable inspects an s3:// object with the endpoint from the environment", async () => {
    const { ciphertext } = await encrypt(Buffer.from("hello"), {
      keyring: new KmsKeyring({ client: aws.kms, keyId: keyA.arn }),
    });
    await put("exe.rkey", ciphertext);
    const r = await spawnCli(["inspect", `s3://${bucket}/exe.rkey`, "--output", "json"], {
      env: cliEnv(aws),
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).entries[0].keyArn).toBe(keyA.arn);
  });
});
