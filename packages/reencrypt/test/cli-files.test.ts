/**
 * `rekey encrypt | decrypt | inspect` with the raw AES keyring (no network), and the pieces
 * under them: context parsing, raw key files, outputs that are never half written.
 */
import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseContextArgs } from "../src/file-tools/parse-context.js";
import { readRawKeyFile } from "../src/file-tools/read-raw-key.js";
import { openAtomicOutput } from "../src/file-tools/atomic-output.js";
import { transformFile } from "../src/file-tools/transform-file.js";
import type { FileError } from "../src/file-tools/errors.js";
import { lines, runCli, spawnCli } from "./cli-keys-harness.js";

let dir: string;
let keyHex: string;
let keyFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rekey-cli-files-"));
  keyHex = randomBytes(32).toString("hex");
  keyFile = join(dir, "wrap.key");
  await writeFile(keyFile, `${keyHex}\n`);
});

const at = (name: string) => join(dir, name);
const listing = async () => (await readdir(dir)).sort();

function oneErrorLine(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const l = lines(r.stderr);
  expect(l).toHaveLength(1);
  expect(l[0]).toMatch(/^rekey: /);
  expect(l[0]).toMatch(pattern);
}

describe("parseContextArgs", () => {
  it("splits at the first '=' and keeps the rest of the value", () => {
    expect(parseContextArgs(["tenant=acme", "q=a=b", "empty="])).toEqual({
      tenant: "acme",
      q: "a=b",
      empty: "",
    });
    expect(parseContextArgs([])).toEqual({});
  });
  it.each([
    [["tenant"], /not key=value/],
    [["=v"], /empty key/],
    [["a=1", "a=2"], /given twice/],
  ])("rejects %j", (args, message) => {
    expect(() => parseContextArgs(args)).toThrow(message);
    try {
      parseContextArgs(args);
    } catch (e) {
      expect((e as FileError).code).toBe("ERR_USAGE");
    }
  });
  it("property: key=value pairs with distinct keys parse back to what was written", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => !k.includes("=") && k.trim() !== ""),
          fc.string(),
        ),
        (ctx) => {
          const args = Object.entries(ctx).map(([k, v]) => `${k}=${v}`);
          expect(parseContextArgs(args)).toEqual({ ...ctx });
        },
      ),
    );
  });
});

describe("readRawKeyFile", () => {
  it("reads 64 hex characters (with a newline) or 32 raw bytes", async () => {
    expect(Buffer.from(await readRawKeyFile(keyFile)).toString("hex")).toBe(keyHex);
    const raw = randomBytes(32);
    await writeFile(at("raw.key"), raw);
    expect(Buffer.from(await readRawKeyFile(at("raw.key"))).equals(raw)).toBe(true);
  });
  it("refuses anything else with ERR_RAW_KEY, and a missing file with ERR_INPUT", async () => {
    await writeFile(at("short.key"), randomBytes(16));
    await expect(readRawKeyFile(at("short.key"))).rejects.toMatchObject({
      code: "ERR_RAW_KEY",
      message: expect.stringMatching(/16 bytes/),
    });
    await writeFile(at("hex63.key"), "a".repeat(63));
    await expect(readRawKeyFile(at("hex63.key"))).rejects.toMatchObject({ code: "ERR_RAW_KEY" });
    await expect(readRawKeyFile(at("none.key"))).rejects.toMatchObject({ code: "ERR_INPUT" });
  });
});

describe("openAtomicOutput / transformFile", () => {
  it("the output appears only on commit; abort leaves nothing", async () => {
    const before = await listing();
    const out = await openAtomicOutput(at("o.bin"), { stdout: process.stdout });
    out.stream.write("partial");
    expect((await listing()).includes("o.bin")).toBe(false);
    await out.abort();
    expect(await listing()).toEqual(before);
  });

  it("refuses to replace an existing file without force, replaces it with force", async () => {
    await writeFile(at("exists"), "old");
    await expect(openAtomicOutput(at("exists"), { stdout: process.stdout })).rejects.toMatchObject({
      code: "ERR_OUTPUT",
      message: expect.stringMatching(/already exists \(use --force/),
    });
    await transformFile({
      input: keyFile,
      output: at("exists"),
      transforms: [],
      stdin: Readable.from([]),
      stdout: process.stdout,
      force: true,
    });
    expect((await readFile(at("exists"), "utf8")).trim()).toBe(keyHex);
  });

  it("a transform failing midway leaves no output and no temporary file", async () => {
    await writeFile(at("in"), randomBytes(200_000));
    const before = await listing();
    let seen = 0;
    const failing = new Transform({
      transform(chunk: Buffer, _e, cb) {
        seen += chunk.length;
        cb(seen > 70_000 ? new Error("boom") : null, chunk);
      },
    });
    await expect(
      transformFile({
        input: at("in"),
        output: at("out"),
        transforms: [failing],
        stdin: Readable.from([]),
        stdout: process.stdout,
      }),
    ).rejects.toThrow("boom");
    expect(await listing()).toEqual(before);
  });

  it("to stdout, it resolves only once every byte is written (a pipe whose reader is slow)", async () => {
    const data = randomBytes(300_000);
    await writeFile(at("in"), data);
    const written: Buffer[] = [];
    // Like stdout on a pipe: a write completes when the reader has made room, later.
    const slowPipe = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _e, cb) {
        setTimeout(() => {
          written.push(chunk);
          cb();
        }, 2);
      },
    });
    await transformFile({
      input: at("in"),
      output: "-",
      transforms: [],
      stdin: Readable.from([]),
      stdout: slowPipe,
    });
    // What the executable does next is exit: anything still queued would be lost.
    expect(slowPipe.writableLength).toBe(0);
    expect(Buffer.concat(written).equals(data)).toBe(true);
    expect(slowPipe.writableEnded).toBe(false);
  });

  it("refuses the same file as input and output", async () => {
    await expect(
      transformFile({
        input: keyFile,
        output: keyFile,
        transforms: [],
        stdin: Readable.from([]),
        stdout: process.stdout,
      }),
    ).rejects.toMatchObject({ code: "ERR_USAGE" });
  });
});

describe("rekey encrypt / decrypt / inspect with a raw AES key", () => {
  it("round-trips through files, with context, and the decrypted file is private", async () => {
    const data = randomBytes(2_500_000);
    await writeFile(at("in.bin"), data);
    const enc = await runCli([
      "encrypt",
      at("in.bin"),
      "-o",
      at("in.rkey"),
      "--raw-key-file",
      keyFile,
      "--context",
      "tenant=acme",
      "--frame-size",
      "65536",
    ]);
    expect(enc).toMatchObject({ code: 0, stderr: "" });
    const dec = await runCli([
      "decrypt",
      at("in.rkey"),
      "-o",
      at("out.bin"),
      "--raw-key-file",
      keyFile,
      "--context",
      "tenant=acme",
    ]);
    expect(dec).toMatchObject({ code: 0, stderr: "" });
    expect((await readFile(at("out.bin"))).equals(data)).toBe(true);
    expect((await stat(at("out.bin"))).mode & 0o777).toBe(0o600);
    const info = await runCli(["inspect", at("in.rkey"), "--json"]);
    const parsed = JSON.parse(info.stdout);
    expect(parsed).toMatchObject({
      formatVersion: 1,
      algorithm: "AES-256-GCM/HKDF-SHA512/commit",
      frameLength: 65536,
      encryptionContext: { tenant: "acme" },
      entries: [{ type: "raw-aes", keyName: "rekey-raw" }],
      size: (await stat(at("in.rkey"))).size,
    });
    expect(parsed.prefix).toBeUndefined();
  });

  it("--signed makes a signed message that inspect shows as signed and decrypt verifies", async () => {
    const data = randomBytes(70_000);
    await writeFile(at("s.bin"), data);
    const enc = await runCli([
      "encrypt",
      at("s.bin"),
      "-o",
      at("s.rkey"),
      "--raw-key-file",
      keyFile,
      "--signed",
    ]);
    expect(enc).toMatchObject({ code: 0, stderr: "" });
    const parsed = JSON.parse((await runCli(["inspect", at("s.rkey"), "--json"])).stdout);
    expect(parsed.signed).toBe(true);
    const dec = await runCli(["decrypt", at("s.rkey"), "-o", at("s.out"), "--raw-key-file", keyFile]);
    expect(dec).toMatchObject({ code: 0, stderr: "" });
    expect((await readFile(at("s.out"))).equals(data)).toBe(true);
    // Without the flag, the message is not signed.
    await runCli(["encrypt", at("s.bin"), "-o", at("u.rkey"), "--raw-key-file", keyFile]);
    expect(JSON.parse((await runCli(["inspect", at("u.rkey"), "--json"])).stdout).signed).toBe(false);
  });

  it("round-trips through stdin and stdout in-process", async () => {
    const data = randomBytes(100_000);
    const enc = await runCli(["encrypt", "--raw-key-file", keyFile, "--raw-key-name", "backup"], {
      stdin: data,
    });
    expect(enc.code).toBe(0);
    const dec = await runCli(["decrypt", "-", "--raw-key-file", keyFile, "--raw-key-name", "backup"], {
      stdin: enc.stdoutBytes,
    });
    expect(dec.code).toBe(0);
    expect(dec.stdoutBytes.equals(data)).toBe(true);
    const info = await runCli(["inspect", "--table"], { stdin: enc.stdoutBytes });
    expect(info.stdout).toMatch(/1\. raw-aes\s+key name backup/);
  });

  it("the wrong key on decrypt: one line naming the message's key, no output file", async () => {
    await writeFile(at("in.bin"), "secret");
    await runCli(["encrypt", at("in.bin"), "-o", at("in.rkey"), "--raw-key-file", keyFile]);
    const other = at("other.key");
    await writeFile(other, randomBytes(32));
    const before = await listing();
    const r = await runCli(["decrypt", at("in.rkey"), "-o", at("out.bin"), "--raw-key-file", other]);
    oneErrorLine(
      r,
      /cannot decrypt .*in\.rkey: no wrapped data key .*; the message is for: raw-aes "rekey-raw" \[ERR_NO_MATCHING_KEY\]$/,
    );
    expect(r.code).toBe(1);
    expect(await listing()).toEqual(before);
  });

  it("a tampered body fails without leaving a partial plaintext file", async () => {
    await writeFile(at("in.bin"), randomBytes(300_000));
    await runCli([
      "encrypt",
      at("in.bin"),
      "-o",
      at("in.rkey"),
      "--raw-key-file",
      keyFile,
      "--frame-size",
      "4096",
    ]);
    const bytes = await readFile(at("in.rkey"));
    bytes[bytes.length - 100]! ^= 1;
    await writeFile(at("bad.rkey"), bytes);
    const before = await listing();
    const r = await runCli(["decrypt", at("bad.rkey"), "-o", at("out.bin"), "--raw-key-file", keyFile]);
    oneErrorLine(
      r,
      /unable to decrypt: the message is not authentic or is incomplete \[ERR_DECRYPT_FAILED\]$/,
    );
    expect(await listing()).toEqual(before);
  });

  it("bad input gives one clear line and no output: context syntax, no key, unreadable input, bad raw key, existing output", async () => {
    await writeFile(at("in.bin"), "x");
    await writeFile(at("short.key"), "abcd");
    await writeFile(at("exists.rkey"), "keep me");
    const cases: [string[], RegExp][] = [
      [
        ["encrypt", at("in.bin"), "-o", at("o1"), "--raw-key-file", keyFile, "--context", "tenant"],
        /--context "tenant" is not key=value \[ERR_USAGE\]$/,
      ],
      [["encrypt", at("in.bin"), "-o", at("o2")], /name a key: --key .* or --raw-key-file .*\[ERR_USAGE\]$/],
      [["decrypt", at("in.bin"), "-o", at("o3")], /name the key to decrypt with.*\[ERR_USAGE\]$/],
      [
        ["encrypt", at("missing.bin"), "-o", at("o4"), "--raw-key-file", keyFile],
        /cannot read .*missing\.bin: no such file or directory \[ERR_INPUT\]$/,
      ],
      [["encrypt", dir, "-o", at("o5"), "--raw-key-file", keyFile], /is a directory \[ERR_INPUT\]$/],
      [
        ["encrypt", at("in.bin"), "-o", at("o6"), "--raw-key-file", at("short.key")],
        /must hold 32 bytes or 64 hex characters.*\[ERR_RAW_KEY\]$/,
      ],
      [
        ["encrypt", at("in.bin"), "-o", at("exists.rkey"), "--raw-key-file", keyFile],
        /already exists \(use --force to replace it\) \[ERR_OUTPUT\]$/,
      ],
      [
        ["decrypt", at("in.bin"), "-o", at("o7"), "--allow-key", "alias/app"],
        /--allow-key takes a key ARN, not "alias\/app" \[ERR_USAGE\]$/,
      ],
      [["inspect", at("in.bin")], /in\.bin: .*\[ERR_/],
      [["inspect", "s3://bucket-only"], /names no object: use s3:\/\/bucket\/key \[ERR_USAGE\]$/],
    ];
    const before = await listing();
    for (const [args, message] of cases) oneErrorLine(await runCli(args), message);
    expect(await listing()).toEqual(before);
    expect(await readFile(at("exists.rkey"), "utf8")).toBe("keep me");
  });

  it("the executable: stdin → encrypt → decrypt → stdout round-trips; an error is one line with exit 1", async () => {
    const data = randomBytes(1_500_000);
    const enc = await spawnCli(["encrypt", "--raw-key-file", keyFile], { stdin: data });
    expect(enc.stderr).toBe("");
    expect(enc.code).toBe(0);
    const dec = await spawnCli(["decrypt", "--raw-key-file", keyFile], { stdin: enc.stdoutBytes });
    expect(dec.code).toBe(0);
    expect(dec.stdoutBytes.equals(data)).toBe(true);
    const bad = await spawnCli([
      "encrypt",
      at("nope"),
      "-o",
      at("nope.rkey"),
      "--raw-key-file",
      keyFile,
      "--context",
      "a",
    ]);
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toEqual([
      `rekey: --context "a" is not key=value [ERR_USAGE] (see 'rekey encrypt --help')`,
    ]);
    expect((await listing()).includes("nope.rkey")).toBe(false);
  });
});
