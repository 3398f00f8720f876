/**
 * `rekey encrypt | decrypt` with `s3://bucket/key` input and output, through the test adapter:
 * round trips in every direction, streaming through multipart uploads, the create-only write
 * (`HeadObject` first, `If-None-Match: *` on the committing request, `--force` to replace), no
 * object and no open upload after a failure or an abandoned output, and a store that ignores
 * conditional writes.
 */
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { itWith, useLocalAws } from "@rekey/localstack/vitest";
import { openS3Output } from "../src/file-tools/s3-output.js";
import { cliEnv, lines, runCli, spawnCli } from "./cli-keys-harness.js";
import { newBucket } from "./helpers/s3-objects.js";

const MiB = 1024 * 1024;
const aws = useLocalAws();
let keyArn: string;
let bucket: string;
let dir: string;

/** A request the code under test sent through `aws.s3`, as the client saw it. */
interface SentRequest {
  readonly command: string;
  readonly key?: string;
  readonly ifNoneMatch?: string;
}
const sent: SentRequest[] = [];

/** Records every request sent through `client` (a middleware: works on every backend). */
function recordRequests(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string; IfNoneMatch?: string };
      sent.push({
        command: context.commandName ?? "",
        ...(input.Key === undefined ? {} : { key: input.Key }),
        ...(input.IfNoneMatch === undefined ? {} : { ifNoneMatch: input.IfNoneMatch }),
      });
      return next(args);
    },
    { step: "initialize", name: "recordFileCommandRequests" },
  );
}

/** The requests sent for one key, in order. */
function sentFor(key: string): SentRequest[] {
  return sent.filter((r) => r.key === key);
}

beforeAll(async () => {
  keyArn = (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  recordRequests(aws.s3);
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rekey-cli-files-s3-"));
  bucket = await newBucket(aws.s3);
  sent.length = 0;
});

const at = (name: string) => join(dir, name);
const url = (key: string) => `s3://${bucket}/${key}`;

async function objectBytes(key: string): Promise<Buffer> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if ((e as { name?: string }).name === "NotFound") return false;
    throw e;
  }
}

async function openUploads(): Promise<string[]> {
  const out = await aws.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => u.Key ?? "");
}

async function put(key: string, body: string | Uint8Array): Promise<void> {
  await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

const encrypt = (input: string, output: string, ...more: string[]) =>
  runCli(["encrypt", input, "-o", output, "--key", keyArn, "--context", "app=files", ...more], { aws });
const decrypt = (input: string, output: string, ...more: string[]) =>
  runCli(["decrypt", input, "-o", output, "--key", keyArn, "--context", "app=files", ...more], { aws });

describe("encrypt / decrypt to and from s3://", () => {
  it("round-trips file → s3 → s3 → s3 → file; each new object is one create-only PutObject", async () => {
    const data = randomBytes(300_000);
    await writeFile(at("in.bin"), data);
    for (const [run, key] of [
      [() => encrypt(at("in.bin"), url("a.rkey")), "a.rkey"],
      [() => decrypt(url("a.rkey"), url("plain.bin")), "plain.bin"],
      [() => encrypt(url("plain.bin"), url("b.rkey")), "b.rkey"],
    ] as const) {
      expect(await run()).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect(sentFor(key).map((r) => [r.command, r.ifNoneMatch])).toEqual([
        ["HeadObjectCommand", undefined],
        ["PutObjectCommand", "*"],
      ]);
    }
    expect((await objectBytes("plain.bin")).equals(data)).toBe(true);
    expect((await objectBytes("b.rkey")).equals(await objectBytes("a.rkey"))).toBe(false);
    expect(await decrypt(url("b.rkey"), at("out.bin"))).toMatchObject({ code: 0, stderr: "" });
    expect((await readFile(at("out.bin"))).equals(data)).toBe(true);
  });

  it("decrypts an s3:// object to stdout, reading it with one streamed GetObject", async () => {
    const data = randomBytes(100_000);
    await writeFile(at("in.bin"), data);
    await encrypt(at("in.bin"), url("a.rkey"));
    sent.length = 0;
    const r = await runCli(["decrypt", url("a.rkey"), "--key", keyArn], { aws });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdoutBytes.equals(data)).toBe(true);
    expect(sentFor("a.rkey").map((s) => s.command)).toEqual(["GetObjectCommand"]);
  });

  it("streams a 20 MiB output through a multipart upload of 8 MiB parts, completed create-only", async () => {
    const data = randomBytes(20 * MiB);
    await writeFile(at("big.bin"), data);
    expect(await encrypt(at("big.bin"), url("big.rkey"))).toMatchObject({ code: 0, stderr: "" });
    expect(sentFor("big.rkey").map((r) => [r.command, r.ifNoneMatch])).toEqual([
      ["HeadObjectCommand", undefined],
      ["CreateMultipartUploadCommand", undefined],
      ["UploadPartCommand", undefined],
      ["UploadPartCommand", undefined],
      ["UploadPartCommand", undefined],
      ["CompleteMultipartUploadCommand", "*"],
    ]);
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "big.rkey" }));
    expect(head.ContentLength).toBeGreaterThan(20 * MiB);
    expect(await decrypt(url("big.rkey"), url("big.bin"))).toMatchObject({ code: 0, stderr: "" });
    expect(sentFor("big.bin").filter((r) => r.command === "UploadPartCommand")).toHaveLength(3);
    expect((await objectBytes("big.bin")).equals(data)).toBe(true);
    expect(await openUploads()).toEqual([]);
  });

  it("an existing object is refused as an existing file is, nothing sent for it; --force replaces it", async () => {
    await writeFile(at("in.bin"), "new");
    await writeFile(at("taken.rkey"), "a file already there");
    await put("taken.rkey", "an object already there");
    sent.length = 0;
    const file = await encrypt(at("in.bin"), at("taken.rkey"));
    const object = await encrypt(at("in.bin"), url("taken.rkey"));
    expect(object.code).toBe(file.code);
    expect(object.code).toBe(1);
    expect(lines(file.stderr)).toEqual([
      expect.stringMatching(/ already exists \(use --force to replace it\) \[ERR_OUTPUT\]$/),
    ]);
    expect(lines(object.stderr)).toEqual([
      `rekey: ${url("taken.rkey")} already exists (use --force to replace it) [ERR_OUTPUT]`,
    ]);
    expect(sentFor("taken.rkey").map((r) => r.command)).toEqual(["HeadObjectCommand"]);
    expect((await objectBytes("taken.rkey")).toString()).toBe("an object already there");

    sent.length = 0;
    expect(await encrypt(at("in.bin"), url("taken.rkey"), "--force")).toMatchObject({ code: 0, stderr: "" });
    expect(sentFor("taken.rkey").map((r) => [r.command, r.ifNoneMatch])).toEqual([
      ["PutObjectCommand", undefined],
    ]);
    const back = await runCli(["decrypt", url("taken.rkey"), "--key", keyArn], { aws });
    expect(back.stdout).toBe("new");
  });

  it("a tampered object decrypted to s3:// leaves no object: the upload that had parts is aborted", async () => {
    const data = randomBytes(12 * MiB);
    await writeFile(at("in.bin"), data);
    await encrypt(at("in.bin"), url("good.rkey"));
    const bytes = await objectBytes("good.rkey");
    // In the last frame: the first 8 MiB of plaintext are authenticated and uploaded before it.
    bytes[bytes.length - 100]! ^= 0x01;
    await put("tampered.rkey", bytes);
    sent.length = 0;
    const r = await decrypt(url("tampered.rkey"), url("plain.bin"));
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^rekey: cannot decrypt s3:\/\/.*\/tampered\.rkey: .*\[ERR_DECRYPT_FAILED\]$/),
    ]);
    expect(sentFor("plain.bin").map((s) => s.command)).toEqual([
      "HeadObjectCommand",
      "CreateMultipartUploadCommand",
      "UploadPartCommand",
      "AbortMultipartUploadCommand",
    ]);
    expect(await objectExists("plain.bin")).toBe(false);
    expect(await openUploads()).toEqual([]);
  });

  it("a missing object, a missing bucket, a URL without a key: one line each, nothing written", async () => {
    await writeFile(at("in.bin"), "x");
    await writeFile(at("big.bin"), randomBytes(9 * MiB));
    const before = (await readdir(dir)).sort();
    const cases: [() => Promise<{ code: number; stderr: string }>, RegExp][] = [
      [
        () => decrypt(url("nope.rkey"), at("out.bin")),
        /^rekey: cannot read s3:\/\/.*\/nope\.rkey: no such object \[ERR_INPUT\]$/,
      ],
      [
        () => encrypt(at("in.bin"), `s3://${bucket}-missing/a.rkey`),
        /^rekey: cannot write s3:\/\/.*-missing\/a\.rkey: no such bucket \[ERR_OUTPUT\]$/,
      ],
      // The multipart upload fails while the pipeline still writes into it: it fails too, not stalls.
      [
        () => encrypt(at("big.bin"), `s3://${bucket}-missing/big.rkey`),
        /^rekey: cannot write s3:\/\/.*-missing\/big\.rkey: no such bucket \[ERR_OUTPUT\]$/,
      ],
      [
        () => encrypt(at("in.bin"), `s3://${bucket}/dir/`),
        /names no object: use s3:\/\/bucket\/key \[ERR_USAGE\]$/,
      ],
      [
        () => decrypt(url("same.rkey"), url("same.rkey")),
        /^rekey: the input and the output are the same object \[ERR_USAGE\]$/,
      ],
    ];
    for (const [run, message] of cases) {
      const r = await run();
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([expect.stringMatching(message)]);
    }
    expect((await readdir(dir)).sort()).toEqual(before);
    expect(sent.filter((s) => /Put|Upload/.test(s.command)).map((s) => [s.command, s.key])).toEqual([
      ["PutObjectCommand", "a.rkey"],
      ["CreateMultipartUploadCommand", "big.rkey"],
    ]);
    expect(await openUploads()).toEqual([]);
  });

  it("an abandoned output (abort()) after parts were uploaded leaves no object and no upload", async () => {
    const out = await openS3Output(url("abandoned.bin"), { s3: aws.s3, partBytes: 5 * MiB });
    const part = randomBytes(MiB);
    for (let i = 0; i < 6; i++)
      if (!out.stream.write(part)) await new Promise((r) => out.stream.once("drain", r));
    // Wait until the first part is on its way (sent before 6 MiB could all be buffered).
    while (!sentFor("abandoned.bin").some((s) => s.command === "UploadPartCommand"))
      await new Promise((r) => setTimeout(r, 5));
    await out.abort();
    expect(sentFor("abandoned.bin").map((s) => s.command)).toContain("AbortMultipartUploadCommand");
    expect(sentFor("abandoned.bin").map((s) => s.command)).not.toContain("CompleteMultipartUploadCommand");
    expect(await objectExists("abandoned.bin")).toBe(false);
    expect(await openUploads()).toEqual([]);
  });

  it("an output whose bytes all arrived is written only by commit(): abort() before it writes nothing", async () => {
    const out = await openS3Output(url("uncommitted.bin"), { s3: aws.s3 });
    const consumed = new Promise((r) => out.stream.once("end", r));
    out.stream.end(randomBytes(1000));
    await consumed;
    // A request round trip: a write started when the last byte was taken would have been sent by now.
    await openUploads();
    expect(sentFor("uncommitted.bin").map((s) => s.command)).toEqual(["HeadObjectCommand"]);
    await out.abort();
    expect(await objectExists("uncommitted.bin")).toBe(false);
    await out.commit().then(
      () => expect.unreachable("commit after abort"),
      () => {},
    );
    expect(await objectExists("uncommitted.bin")).toBe(false);
  });

  it("a HeadObject refused with 403 (no read permission) cannot tell: If-None-Match alone decides", async () => {
    const writeOnly = aws.createS3Client();
    writeOnly.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "HeadObjectCommand")
          throw Object.assign(new Error("Forbidden"), {
            name: "Forbidden",
            $metadata: { httpStatusCode: 403 },
          });
        return next(args);
      },
      { step: "initialize", name: "refuseHead" },
    );
    const write = async (key: string) => {
      const out = await openS3Output(url(key), { s3: writeOnly });
      out.stream.end("mine");
      await out.commit();
    };
    await write("free.bin");
    expect((await objectBytes("free.bin")).toString()).toBe("mine");
    await put("taken.bin", "theirs");
    await expect(write("taken.bin")).rejects.toMatchObject({
      code: "ERR_OUTPUT",
      message: `${url("taken.bin")} already exists (use --force to replace it)`,
    });
    expect((await objectBytes("taken.bin")).toString()).toBe("theirs");
  });
});

describe("the create-only write against a racing writer", () => {
  /** Creates `theirs` at `key` just before the output's committing request reaches the store. */
  function raceBefore(operation: string, key: string): () => void {
    let raced = false;
    return aws.s3Control!.beforeRequest(async (request) => {
      if (raced || request.operation !== operation || request.key !== key) return;
      raced = true;
      await put(key, "theirs");
    });
  }

  for (const [operation, size] of [
    ["PutObject", 1000],
    ["CompleteMultipartUpload", 9 * MiB],
  ] as const) {
    itWith(aws, "s3BucketBehavior")(
      `an object created after the check is not replaced: ${operation} carries If-None-Match`,
      async () => {
        await writeFile(at("in.bin"), randomBytes(size));
        const stop = raceBefore(operation, "raced.rkey");
        try {
          const r = await encrypt(at("in.bin"), url("raced.rkey"));
          expect(r.code).toBe(1);
          expect(lines(r.stderr)).toEqual([
            `rekey: ${url("raced.rkey")} already exists (use --force to replace it) [ERR_OUTPUT]`,
          ]);
        } finally {
          stop();
        }
        expect((await objectBytes("raced.rkey")).toString()).toBe("theirs");
        expect(await openUploads()).toEqual([]);
      },
    );
  }

  itWith(aws, "s3BucketBehavior")(
    "a store that ignores conditional writes: an existing object is still refused (HeadObject), one created after that check is replaced",
    async () => {
      aws.s3Control!.setBucketBehavior(bucket, { conditionalWrites: "ignore" });
      onTestFinished(() => aws.s3Control!.setBucketBehavior(bucket, { conditionalWrites: "honour" }));
      await writeFile(at("in.bin"), "mine");
      await put("taken.rkey", "an object already there");
      const refused = await encrypt(at("in.bin"), url("taken.rkey"));
      expect(refused.code).toBe(1);
      expect(lines(refused.stderr)).toEqual([
        `rekey: ${url("taken.rkey")} already exists (use --force to replace it) [ERR_OUTPUT]`,
      ]);
      expect((await objectBytes("taken.rkey")).toString()).toBe("an object already there");

      // The documented race: between the check and the write, only the store's condition protects.
      const stop = raceBefore("PutObject", "raced.rkey");
      try {
        expect(await encrypt(at("in.bin"), url("raced.rkey"))).toMatchObject({ code: 0, stderr: "" });
      } finally {
        stop();
      }
      const back = await runCli(["decrypt", url("raced.rkey"), "--key", keyArn], { aws });
      expect(back.stdout).toBe("mine");
    },
  );
});

describe("the executable", () => {
  it("encrypts a file to s3:// and decrypts it to stdout, with --endpoint-url and --region flags", async () => {
    const env = cliEnv(aws);
    delete env["AWS_ENDPOINT_URL"];
    delete env["AWS_REGION"];
    const flags = ["--endpoint-url", aws.endpoint, "--region", aws.region];
    const data = randomBytes(200_000);
    await writeFile(at("in.bin"), data);
    const enc = await spawnCli(["encrypt", at("in.bin"), "-o", url("exe.rkey"), "--key", keyArn, ...flags], {
      env,
    });
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    const again = await spawnCli(
      ["encrypt", at("in.bin"), "-o", url("exe.rkey"), "--key", keyArn, ...flags],
      {
        env,
      },
    );
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toEqual([
      `rekey: ${url("exe.rkey")} already exists (use --force to replace it) [ERR_OUTPUT]`,
    ]);
    const dec = await spawnCli(["decrypt", url("exe.rkey"), "--key", keyArn, ...flags], { env });
    expect(dec.stderr).toBe("");
    expect(dec.code).toBe(0);
    expect(dec.stdoutBytes.equals(data)).toBe(true);
  });
});
