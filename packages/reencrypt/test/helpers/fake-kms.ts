/**
 * An in-memory KMS for unit tests of the job: real AES-256-GCM under per-material keys, the
 * encryption context as AAD, rotation that really makes new material, aliases, key states, and
 * the error names KMS uses. Implements the job's KMS interface, so no network is involved.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import type { JobKmsApi } from "../../src/index.js";

const REGION = "us-east-1";
const ACCOUNT = "111122223333";

interface FakeKey {
  arn: string;
  id: string;
  materials: Map<string, Buffer>;
  current: string;
  state: "Enabled" | "Disabled";
}

/** An error with a KMS error name. */
export class FakeKmsError extends Error {
  constructor(name: string) {
    super(name);
    this.name = name;
  }
}

function aad(ctx: Record<string, string> | undefined): Buffer {
  const pairs = Object.entries(ctx ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(pairs));
}

/** The fake. `calls` records every operation. */
export class FakeKms implements JobKmsApi {
  readonly keys = new Map<string, FakeKey>();
  readonly aliases = new Map<string, string>();
  readonly calls: string[] = [];
  /** Every key id a request named (KeyId, SourceKeyId, DestinationKeyId), in order. */
  readonly named: string[] = [];
  /** Fail the next N calls of an operation with this error name. */
  failNext: { op: string; count: number; name: string } | undefined;
  /** Omit material ids, like LocalStack. */
  omitMaterialIds = false;

  /** A key in `us-east-1` of account 111122223333, unless `where` names another Region or account. */
  createKey(alias?: string, where: { region?: string; account?: string } = {}): string {
    const id = randomUUID();
    const arn = `arn:aws:kms:${where.region ?? REGION}:${where.account ?? ACCOUNT}:key/${id}`;
    const mid = randomBytes(32).toString("hex");
    this.keys.set(arn, {
      arn,
      id,
      materials: new Map([[mid, randomBytes(32)]]),
      current: mid,
      state: "Enabled",
    });
    if (alias) this.aliases.set(alias, arn);
    return arn;
  }

  rotate(arn: string): string {
    const k = this.must(arn);
    const mid = randomBytes(32).toString("hex");
    k.materials.set(mid, randomBytes(32));
    k.current = mid;
    return mid;
  }

  current(arn: string): string {
    return this.must(arn).current;
  }

  setState(arn: string, state: "Enabled" | "Disabled"): void {
    this.must(arn).state = state;
  }

  count(op: string): number {
    return this.calls.filter((c) => c === op).length;
  }

  private find(keyId: string): FakeKey | undefined {
    if (this.keys.has(keyId)) return this.keys.get(keyId);
    if (keyId.startsWith("alias/")) {
      const t = this.aliases.get(keyId);
      return t ? this.keys.get(t) : undefined;
    }
    for (const k of this.keys.values()) if (k.id === keyId) return k;
    return undefined;
  }

  private must(keyId: string): FakeKey {
    const k = this.find(keyId);
    if (!k) throw new FakeKmsError("NotFoundException");
    return k;
  }

  private usable(keyId: string): FakeKey {
    const k = this.must(keyId);
    if (k.state !== "Enabled") throw new FakeKmsError("DisabledException");
    return k;
  }

  private record(op: string, ...keyIds: (string | undefined)[]): void {
    this.calls.push(op);
    for (const k of keyIds) if (k !== undefined) this.named.push(k);
    const f = this.failNext;
    if (f && f.op === op && f.count > 0) {
      f.count--;
      throw new FakeKmsError(f.name);
    }
  }

  private wrap(k: FakeKey, plaintext: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", k.materials.get(k.current) as Buffer, iv);
    c.setAAD(aad(ctx));
    const head = Buffer.from(`${k.arn}|${k.current}|`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(head.length);
    return Buffer.concat([len, head, iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  }

  private unwrap(blob: Uint8Array, ctx: Record<string, string> | undefined) {
    const b = Buffer.from(blob);
    const hl = b.readUInt16BE(0);
    const [arn, mid] = b
      .subarray(2, 2 + hl)
      .toString()
      .split("|");
    const key = arn ? this.keys.get(arn) : undefined;
    const material = key && mid ? key.materials.get(mid) : undefined;
    if (!key || !mid || !material) throw new FakeKmsError("InvalidCiphertextException");
    if (key.state !== "Enabled") throw new FakeKmsError("DisabledException");
    const body = b.subarray(2 + hl);
    try {
      const d = createDecipheriv("aes-256-gcm", material, body.subarray(0, 12));
      d.setAAD(aad(ctx));
      d.setAuthTag(body.subarray(body.length - 16));
      return {
        key,
        mid,
        plaintext: Buffer.concat([d.update(body.subarray(12, body.length - 16)), d.final()]),
      };
    } catch {
      throw new FakeKmsError("InvalidCiphertextException");
    }
  }

  private mid(m: string): { KeyMaterialId?: string } {
    return this.omitMaterialIds ? {} : { KeyMaterialId: m };
  }

  async generateDataKey(input: Parameters<JobKmsApi["generateDataKey"]>[0]) {
    this.record("GenerateDataKey", input.KeyId);
    const k = this.usable(input.KeyId as string);
    const Plaintext = randomBytes(32);
    return {
      Plaintext,
      CiphertextBlob: this.wrap(k, Plaintext, input.EncryptionContext),
      KeyId: k.arn,
      ...this.mid(k.current),
    };
  }

  async encrypt(input: Parameters<JobKmsApi["encrypt"]>[0]) {
    this.record("Encrypt", input.KeyId);
    const k = this.usable(input.KeyId as string);
    return {
      CiphertextBlob: this.wrap(k, input.Plaintext as Uint8Array, input.EncryptionContext),
      KeyId: k.arn,
    };
  }

  async decrypt(input: Parameters<JobKmsApi["decrypt"]>[0]) {
    this.record("Decrypt", input.KeyId);
    const { key, mid, plaintext } = this.unwrap(input.CiphertextBlob as Uint8Array, input.EncryptionContext);
    if (input.KeyId && this.find(input.KeyId)?.arn !== key.arn)
      throw new FakeKmsError("IncorrectKeyException");
    return { Plaintext: plaintext, KeyId: key.arn, ...this.mid(mid) };
  }

  async reEncrypt(input: Parameters<JobKmsApi["reEncrypt"]>[0]) {
    this.record("ReEncrypt", input.SourceKeyId, input.DestinationKeyId);
    const { key, mid, plaintext } = this.unwrap(
      input.CiphertextBlob as Uint8Array,
      input.SourceEncryptionContext,
    );
    if (input.SourceKeyId && this.find(input.SourceKeyId)?.arn !== key.arn)
      throw new FakeKmsError("IncorrectKeyException");
    const dest = this.usable(input.DestinationKeyId as string);
    return {
      CiphertextBlob: this.wrap(dest, plaintext, input.DestinationEncryptionContext),
      KeyId: dest.arn,
      SourceKeyId: key.arn,
      ...(this.omitMaterialIds ? {} : { SourceKeyMaterialId: mid, DestinationKeyMaterialId: dest.current }),
    };
  }

  async describeKey(input: Parameters<JobKmsApi["describeKey"]>[0]) {
    this.record("DescribeKey", input.KeyId);
    const k = this.must(input.KeyId as string);
    return {
      KeyMetadata: {
        KeyId: k.id,
        Arn: k.arn,
        KeyState: k.state,
        KeyUsage: "ENCRYPT_DECRYPT" as const,
        KeySpec: "SYMMETRIC_DEFAULT" as const,
        CurrentKeyMaterialId: k.current,
      },
    };
  }

  async listAliases(_input: Parameters<JobKmsApi["listAliases"]>[0]) {
    this.record("ListAliases");
    return {
      Aliases: [...this.aliases].map(([name, arn]) => ({
        AliasName: name,
        AliasArn: `${arn.slice(0, arn.indexOf(":key/"))}:${name}`,
        TargetKeyId: this.keys.get(arn)?.id,
      })),
      Truncated: false,
    };
  }
}
