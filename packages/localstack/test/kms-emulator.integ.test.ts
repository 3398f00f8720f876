/**
 * The built-in emulator itself, below the SDK: its KMS wire protocol on malformed input, the
 * server's connection handling, the material recorded in blobs, clock-driven work, and stop().
 * These are properties of the emulator, not of KMS, so they run against it directly rather
 * than through the adapter.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConflictException,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  NotFoundException,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../src/index.js";
import { DAY, MATERIAL_ID } from "./kms-helpers.js";

let emulator: RunningEmulator;
let kms: KMSClient;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  emulator = await startEmulator();
  kms = new KMSClient({
    endpoint: emulator.endpoint,
    region: emulator.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});
afterAll(async () => {
  kms.destroy();
  agent.destroy();
  await emulator.stop();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one raw request over the shared keep-alive agent (one socket, reused). */
function send(options: { method?: string; target?: string; body?: string | Buffer }): Promise<RawAnswer> {
  const url = new URL(emulator.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: "/",
        method: options.method ?? "POST",
        agent,
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          ...(options.target === undefined ? {} : { "X-Amz-Target": options.target }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

function errorType(answer: RawAnswer): unknown {
  return (JSON.parse(answer.body) as { __type?: unknown }).__type;
}

group("KMS wire protocol on malformed input", () => {
  it("answers SerializationException for a body that is not JSON or not an object", async () => {
    for (const body of ["{not json", "[1,2]", '"text"', "null"]) {
      const answer = await send({ target: "TrentService.ListKeys", body });
      expect(answer.status).toBe(400);
      expect(answer.headers["content-type"]).toBe("application/x-amz-json-1.1");
      expect(errorType(answer)).toBe("SerializationException");
    }
  });

  it("answers SerializationException for a member of the wrong JSON type", async () => {
    for (const body of [
      '{"KeyId": 5}',
      '{"KeyId": "x", "Plaintext": "not base64!"}',
      '{"KeyId":"x","Plaintext":[1]}',
    ]) {
      const answer = await send({ target: "TrentService.Encrypt", body });
      expect(answer.status).toBe(400);
      expect(errorType(answer)).toBe("SerializationException");
    }
  });

  it("answers ValidationException for a missing required member", async () => {
    const answer = await send({ target: "TrentService.DescribeKey", body: "{}" });
    expect(answer.status).toBe(400);
    expect(errorType(answer)).toBe("ValidationException");
  });

  it("answers UnknownOperationException for an unknown or unimplemented operation, and for GET", async () => {
    for (const target of [
      "TrentService.NoSuchOperation",
      "TrentService.Sign",
      "TrentService.",
      "TrentService.toString",
    ]) {
      const answer = await send({ target, body: "{}" });
      expect(answer.status).toBe(400);
      expect(errorType(answer)).toBe("UnknownOperationException");
    }
    const get = await send({ method: "GET", target: "TrentService.ListKeys" });
    expect(get.status).toBe(400);
    expect(errorType(get)).toBe("UnknownOperationException");
  });

  it("refuses an oversized body and keeps the connection usable", async () => {
    const answer = await send({ target: "TrentService.ListKeys", body: Buffer.alloc(600 * 1024, 0x20) });
    expect(answer.status).toBe(400);
    expect(errorType(answer)).toBe("SerializationException");
    const next = await send({ target: "TrentService.ListKeys", body: "{}" });
    expect(next.status).toBe(200);
  });

  it("serves many requests, errors included, on one keep-alive connection", async () => {
    const sockets = new Set<unknown>();
    agent.on("free", (socket) => sockets.add(socket));
    for (let i = 0; i < 10; i++) {
      const answer = await send({
        target: i % 2 === 0 ? "TrentService.ListKeys" : "TrentService.Nope",
        body: "{}",
      });
      expect(answer.status).toBe(i % 2 === 0 ? 200 : 400);
    }
    expect(sockets.size).toBe(1);
  });

  it("answers 400 to bytes that are not HTTP, and keeps serving", async () => {
    const url = new URL(emulator.endpoint);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () =>
        socket.write("\x16\x03\x01garbage\r\n\r\n"),
      );
      let data = "";
      socket.on("data", (chunk) => (data += chunk.toString()));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await send({ target: "TrentService.ListKeys", body: "{}" })).status).toBe(200);
  });
});

group("ciphertext and material", () => {
  it("records key and material in each blob; rotation makes new blobs name the new material", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const before = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const after = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));

    const materials = emulator.kms.keyMaterialIds(keyId);
    expect(materials).toHaveLength(2);
    for (const id of materials) expect(id).toMatch(MATERIAL_ID);
    expect(emulator.kms.readCiphertext(before.CiphertextBlob!)).toEqual({
      keyId,
      keyMaterialId: materials[0],
    });
    expect(emulator.kms.readCiphertext(after.CiphertextBlob!)).toEqual({
      keyId,
      keyMaterialId: materials[1],
    });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId).toBe(
      materials[1],
    );
  });
});

group("encryption context on the wire", () => {
  async function encryptRaw(keyId: string, context: string): Promise<string> {
    const answer = await send({
      target: "TrentService.Encrypt",
      body: `{"KeyId":"${keyId}","Plaintext":"c2VjcmV0","EncryptionContext":${context}}`,
    });
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { CiphertextBlob: string }).CiphertextBlob;
  }

  it("authenticates a __proto__ pair: the blob does not decrypt without it", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // Raw JSON: an SDK client might drop the member before it reaches the wire.
    const blob = await encryptRaw(keyId, '{"__proto__":"x"}');
    for (const context of ["{}", '{"__proto__":"y"}', '{"proto":"x"}']) {
      const answer = await send({
        target: "TrentService.Decrypt",
        body: `{"CiphertextBlob":"${blob}","EncryptionContext":${context}}`,
      });
      expect(answer.status, context).toBe(400);
      expect(errorType(answer)).toBe("InvalidCiphertextException");
    }
    const ok = await send({
      target: "TrentService.Decrypt",
      body: `{"CiphertextBlob":"${blob}","EncryptionContext":{"__proto__":"x"}}`,
    });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ Plaintext: "c2VjcmV0" });
  });

  it("answers ValidationException (400) for a context key or value over 65,535 bytes", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (const context of [`{"k":"${"v".repeat(65_536)}"}`, `{"${"k".repeat(65_536)}":"v"}`]) {
      const answer = await send({
        target: "TrentService.Encrypt",
        body: `{"KeyId":"${keyId}","Plaintext":"c2VjcmV0","EncryptionContext":${context}}`,
      });
      expect(answer.status).toBe(400);
      expect(errorType(answer)).toBe("ValidationException");
    }
    // The longest allowed value works, and the connection is still fine.
    await encryptRaw(keyId, `{"k":"${"v".repeat(65_535)}"}`);
  });
});

group("optional members", () => {
  it("re-encrypts without SourceKeyId: the blob names its key", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    const moved = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, DestinationKeyId: keyId }),
    );
    expect(moved.SourceKeyId).toBe(dataKey.KeyId);
    const { Plaintext } = await kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob }));
    expect(Buffer.from(Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
  });

  it("answers InvalidMarkerException for a marker it did not hand out", async () => {
    const answer = await send({ target: "TrentService.ListKeys", body: JSON.stringify({ Marker: "bogus" }) });
    expect(answer.status).toBe(400);
    expect(errorType(answer)).toBe("InvalidMarkerException");
  });
});

group("the clock", () => {
  it("runs due automatic rotations in clock.advance, before any request", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await send({
      target: "TrentService.EnableKeyRotation",
      body: JSON.stringify({ KeyId: keyId, RotationPeriodInDays: 90 }),
    });
    await emulator.clock.advance(91 * DAY);
    expect(emulator.kms.keyMaterialIds(keyId)).toHaveLength(2);
  });

  it("deletes a key when its deletion date passes: its aliases go, its blobs answer NotFoundException", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const alias = `alias/deleted-${keyId.slice(0, 8)}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    const { CiphertextBlob } = await kms.send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }),
    );
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await emulator.clock.advance(6 * DAY);
    expect(emulator.kms.keyIds()).toContain(keyId);
    await emulator.clock.advance(2 * DAY);
    expect(emulator.kms.keyIds()).not.toContain(keyId);
    await expect(kms.send(new DescribeKeyCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
    await expect(kms.send(new DescribeKeyCommand({ KeyId: alias }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
    await expect(kms.send(new DecryptCommand({ CiphertextBlob }))).rejects.toBeInstanceOf(NotFoundException);
  });

  it("refuses to move backwards", async () => {
    await expect(emulator.clock.set(new Date(emulator.clock.now().getTime() - DAY))).rejects.toThrow(
      RangeError,
    );
    const target = new Date(emulator.clock.now().getTime() + DAY);
    const before = performance.now();
    await emulator.clock.set(target);
    // The emulated clock runs on from the target at real speed: at most the real time since.
    const ran = emulator.clock.now().getTime() - target.getTime();
    expect(ran).toBeGreaterThanOrEqual(0);
    expect(ran).toBeLessThanOrEqual(Math.ceil(performance.now() - before) + 1);
  });
});

group("on-demand rotation in the background (onDemandRotationDelayMs)", () => {
  async function withDelay(
    delayMs: number,
    body: (emulator: RunningEmulator, kms: KMSClient) => Promise<void>,
  ) {
    const own = await startEmulator({ onDemandRotationDelayMs: delayMs });
    const client = new KMSClient({
      endpoint: own.endpoint,
      region: own.region,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    try {
      await body(own, client);
    } finally {
      client.destroy();
      await own.stop();
    }
  }

  it("reports OnDemandRotationStartDate and keeps the old material until the delay has passed", async () => {
    // An hour of emulated time: nothing a loaded machine does completes it by accident.
    await withDelay(3_600_000, async (own, client) => {
      const key = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
      const first = key.CurrentKeyMaterialId!;
      const asked = own.clock.now().getTime();
      await client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId! }));

      const running = await client.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId! }));
      expect(running.OnDemandRotationStartDate).toBeInstanceOf(Date);
      // Between the request and the answer (dates travel in whole seconds at the least).
      const startedAt = running.OnDemandRotationStartDate!.getTime();
      expect(startedAt).toBeGreaterThanOrEqual(Math.floor(asked / 1000) * 1000);
      expect(startedAt).toBeLessThanOrEqual(own.clock.now().getTime());
      const described = await client.send(new DescribeKeyCommand({ KeyId: key.KeyId! }));
      expect(described.KeyMetadata?.CurrentKeyMaterialId).toBe(first);
      const meanwhile = await client.send(
        new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_256" }),
      );
      expect(meanwhile.KeyMaterialId).toBe(first);
      // One rotation at a time.
      await expect(client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId! }))).rejects.toBeInstanceOf(
        ConflictException,
      );

      await own.clock.advance(3_600_000);
      const current = (await client.send(new DescribeKeyCommand({ KeyId: key.KeyId! }))).KeyMetadata!
        .CurrentKeyMaterialId!;
      expect(current).not.toBe(first);
      const done = await client.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId! }));
      expect(done.OnDemandRotationStartDate).toBeUndefined();
      const { Rotations } = await client.send(new ListKeyRotationsCommand({ KeyId: key.KeyId! }));
      expect(Rotations).toHaveLength(1);
      expect(Rotations![0]).toMatchObject({ KeyMaterialId: current, RotationType: "ON_DEMAND" });
      expect(Rotations![0]!.RotationDate!.getTime()).toBe(
        running.OnDemandRotationStartDate!.getTime() + 3_600_000,
      );
      // The old blob still decrypts; a new data key uses the new material.
      const old = await client.send(new DecryptCommand({ CiphertextBlob: meanwhile.CiphertextBlob }));
      expect(old.KeyMaterialId).toBe(first);
      const fresh = await client.send(new GenerateDataKeyCommand({ KeyId: key.KeyId!, KeySpec: "AES_256" }));
      expect(fresh.KeyMaterialId).toBe(current);
    });
  });

  it("completes on its own once the delay has passed in real time", async () => {
    await withDelay(200, async (own, client) => {
      const key = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
      await client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId! }));
      // Polled, as a caller of KMS waits for it.
      await expect
        .poll(
          async () =>
            (await client.send(new DescribeKeyCommand({ KeyId: key.KeyId! }))).KeyMetadata!
              .CurrentKeyMaterialId,
          { timeout: 10_000, interval: 50 },
        )
        .not.toBe(key.CurrentKeyMaterialId);
      expect(own.kms.keyMaterialIds(key.KeyId!)).toHaveLength(2);
    });
  });

  it("completes before answering with the default delay of 0", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    expect(emulator.kms.keyMaterialIds(keyId)).toHaveLength(2);
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(status.OnDemandRotationStartDate).toBeUndefined();
  });
});

group("stop()", () => {
  it("closes open connections, stops listening and deletes its own data directory only", async () => {
    const own = await startEmulator();
    const ownClient = new KMSClient({
      endpoint: own.endpoint,
      region: own.region,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    await ownClient.send(new CreateKeyCommand({}));
    expect(existsSync(own.dataDir)).toBe(true);
    await own.stop();
    await own.stop(); // idempotent
    await expect(ownClient.send(new CreateKeyCommand({}))).rejects.toThrow();
    ownClient.destroy();
    expect(existsSync(own.dataDir)).toBe(false);

    const given = await mkdtemp(join(tmpdir(), "rekey-given-"));
    const withDir = await startEmulator({ dataDir: given });
    await withDir.stop();
    expect(existsSync(given)).toBe(true);
    await rm(given, { recursive: true, force: true });
  });

  it("uses the region and account it was given in ARNs", async () => {
    const other = await startEmulator({ region: "eu-west-3", accountId: "123456789012" });
    const client = new KMSClient({
      endpoint: other.endpoint,
      region: other.region,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
    expect(KeyMetadata?.Arn).toBe(`arn:aws:kms:eu-west-3:123456789012:key/${KeyMetadata?.KeyId}`);
    client.destroy();
    await other.stop();
  });
});
