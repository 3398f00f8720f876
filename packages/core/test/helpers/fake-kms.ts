/**
 * An in-memory KMS for unit tests: real AES-256-GCM under per-material keys, encryption context
 * as AAD, rotation that really makes new material, aliases, and the error names KMS uses. It
 * implements the small KmsApi interface, so no network is involved.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { KmsApi } from "@rekey/core";

const REGION = "us-east-1";
const ACCOUNT = "111122223333";

interface FakeKey {
  arn: string;
  id: string;
  materials: Map<string, Buffer>;
  current: string;
  enabled: boolean;
}

export class FakeKmsError extends Error {
  constructor(name: string, message = name) {
    super(message);
    this.name = name;
  }
}

function aad(ctx: Record<string, string> | undefined): Buffer {
  const pairs = Object.entries(ctx ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(pairs));
}

export class FakeKms implements KmsApi {
  readonly keys = new Map<string, FakeKey>();
  readonly aliases = new Map<string, string>();
  readonly calls: { op: string; keyId: string | undefined }[] = [];
  /** Fail the next N calls with this error name. */
  failNext: { count: number; name: string } | undefined;
  /** Omit KeyMaterialId from responses, like LocalStack. */
  omitMaterialIds = false;

  createKey(alias?: string): string {
    const id = randomUUID();
    const arn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
    const mid = randomBytes(32).toString("hex");
    this.keys.set(arn, {
      arn,
      id,
      materials: new Map([[mid, randomBytes(32)]]),
      current: mid,
      enabled: true,
    });
    if (alias) this.aliases.set(alias, arn);
    return arn;
  }

  rotate(arn: string): string {
    const k = this.mustKey(arn);
    const mid = randomBytes(32).toString("hex");
    k.materials.set(mid, randomBytes(32));
    k.current = mid;
    return mid;
  }

  currentMaterial(arn: string): string {
    return this.mustKey(arn).current;
  }

  disable(arn: string): void {
    this.mustKey(arn).enabled = false;
  }

  resolve(keyId: string): FakeKey | undefined {
    if (this.keys.has(keyId)) return this.keys.get(keyId);
    if (keyId.startsWith("alias/")) {
      const t = this.aliases.get(keyId);
      return t ? this.keys.get(t) : undefined;
    }
    for (const k of this.keys.values()) if (k.id === keyId) return k;
    return undefined;
  }

  private mustKey(keyId: string): FakeKey {
    const k = this.resolve(keyId);
    if (!k) throw new FakeKmsError("NotFoundException", `key ${keyId} not found`);
    if (!k.enabled) throw new FakeKmsError("DisabledException");
    return k;
  }

  private record(op: string, keyId: string | undefined): void {
    this.calls.push({ op, keyId });
    if (this.failNext && this.failNext.count > 0) {
      this.failNext.count--;
      throw new FakeKmsError(this.failNext.name);
    }
  }

  private wrap(k: FakeKey, plaintext: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", k.materials.get(k.current) as Buffer, iv);
    c.setAAD(aad(ctx));
    const header = Buffer.from(`${k.arn}|${k.current}|`);
    const lenBuf = Buffer.alloc(2);
    lenBuf.writeUInt16BE(header.length);
    return Buffer.concat([lenBuf, header, iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  }

  private unwrap(
    blob: Uint8Array,
    ctx: Record<string, string> | undefined,
  ): { key: FakeKey; mid: string; plaintext: Buffer } {
    const b = Buffer.from(blob);
    if (b.length < 2) throw new FakeKmsError("InvalidCiphertextException");
    const hl = b.readUInt16BE(0);
    const [arn, mid] = b
      .subarray(2, 2 + hl)
      .toString()
      .split("|");
    const key = arn ? this.keys.get(arn) : undefined;
    const material = key && mid ? key.materials.get(mid) : undefined;
    if (!key || !mid || !material) throw new FakeKmsError("InvalidCiphertextException");
    if (!key.enabled) throw new FakeKmsError("DisabledException");
    const body = b.subarray(2 + hl);
    try {
      const d = createDecipheriv("aes-256-gcm", material, body.subarray(0, 12));
      d.setAAD(aad(ctx));
      d.setAuthTag(body.subarray(body.length - 16));
      const plaintext = Buffer.concat([d.update(body.subarray(12, body.length - 16)), d.final()]);
      return { key, mid, plaintext };
    } catch {
      throw new FakeKmsError("InvalidCiphertextException");
    }
  }

  private mid(m: string): { KeyMaterialId?: string } {
    return this.omitMaterialIds ? {} : { KeyMaterialId: m };
  }

  async generateDataKey(input: Parameters<KmsApi["generateDataKey"]>[0]) {
    this.record("GenerateDataKey", input.KeyId);
    const k = this.mustKey(input.KeyId as string);
    const Plaintext = randomBytes(32);
    return {
      Plaintext,
      CiphertextBlob: this.wrap(k, Plaintext, input.EncryptionContext),
      KeyId: k.arn,
      ...this.mid(k.current),
    };
  }

  async encrypt(input: Parameters<KmsApi["encrypt"]>[0]) {
    this.record("Encrypt", input.KeyId);
    const k = this.mustKey(input.KeyId as string);
    return {
      CiphertextBlob: this.wrap(k, input.Plaintext as Uint8Array, input.EncryptionContext),
      KeyId: k.arn,
    };
  }

  async decrypt(input: Parameters<KmsApi["decrypt"]>[0]) {
    this.record("Decrypt", input.KeyId);
    const { key, mid, plaintext } = this.unwrap(input.CiphertextBlob as Uint8Array, input.EncryptionContext);
    if (input.KeyId) {
      const named = this.resolve(input.KeyId);
      if (!named) throw new FakeKmsError("NotFoundException");
      if (named.arn !== key.arn) throw new FakeKmsError("IncorrectKeyException");
    }
    return { Plaintext: plaintext, KeyId: key.arn, ...this.mid(mid) };
  }

  async reEncrypt(input: Parameters<KmsApi["reEncrypt"]>[0]) {
    this.record("ReEncrypt", input.DestinationKeyId);
    const { key, mid, plaintext } = this.unwrap(
      input.CiphertextBlob as Uint8Array,
      input.SourceEncryptionContext,
    );
    if (input.SourceKeyId && this.resolve(input.SourceKeyId)?.arn !== key.arn)
      throw new FakeKmsError("IncorrectKeyException");
    const dest = this.mustKey(input.DestinationKeyId as string);
    const CiphertextBlob = this.wrap(dest, plaintext, input.DestinationEncryptionContext);
    return {
      CiphertextBlob,
      KeyId: dest.arn,
      SourceKeyId: key.arn,
      ...(this.omitMaterialIds ? {} : { SourceKeyMaterialId: mid, DestinationKeyMaterialId: dest.current }),
    };
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}
