/**
 * An in-memory KMS control plane for unit tests of the key tooling: keys of every kind (the
 * emulator only makes symmetric AWS_KMS keys), aliases, rotation settings and history, policies,
 * grants, tags, DryRun, paging with small pages, and per-operation error injection. No network.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type {
  CreateKeyCommandInput,
  GrantListEntry,
  KeyMetadata,
  ListKeyRotationsCommandInput,
  Tag,
} from "@aws-sdk/client-kms";
import type { KmsAdminApi } from "../src/keys/kms-admin.js";

export const REGION = "us-east-1";
export const ACCOUNT = "111122223333";
const DAY = 86_400_000;

export class FakeAwsError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, message = name, status = 400) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

export interface FakeMaterial {
  id: string;
  createdAt: Date;
  type?: "AUTOMATIC" | "ON_DEMAND";
}

export interface FakeKey {
  meta: KeyMetadata;
  rotationEnabled: boolean;
  periodDays: number;
  nextRotation?: Date;
  materials: FakeMaterial[];
  policy: string;
  grants: GrantListEntry[];
  tags: Tag[];
  onDemandStart?: Date;
}

export function defaultPolicy(account = ACCOUNT): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  });
}

export interface NewKey {
  spec?: string;
  usage?: string;
  origin?: string;
  manager?: "CUSTOMER" | "AWS";
  state?: string;
  rotation?: number | false;
  createdDaysAgo?: number;
  lastRotationDaysAgo?: number;
  customKeyStoreId?: string;
  replica?: boolean;
  alias?: string;
  description?: string;
  policy?: string;
}

export class FakeKmsAdmin implements KmsAdminApi {
  readonly keys = new Map<string, FakeKey>();
  readonly aliases = new Map<string, string>();
  readonly calls: string[] = [];
  /** `Operation` or `Operation:keyId` → error to throw. */
  readonly failures = new Map<string, Error>();
  /** Answer ListKeyRotations with HTTP 501, like LocalStack. */
  noListKeyRotations = false;
  /** Do not report CurrentKeyMaterialId, like older emulators. */
  omitMaterialIds = false;
  /** Page size of every list operation. */
  pageSize = 2;
  /** On-demand rotations finish after this many DescribeKey/ListKeyRotations/GetKeyRotationStatus reads. */
  rotationDelayReads = 0;
  /** Ignore DryRun (answer as if it were a real call). */
  ignoreDryRun = false;
  /** EnableKeyRotation records the call but changes nothing (a broken endpoint). */
  enableRotationNoop = false;
  /**
   * After UpdateAlias, this many DescribeKey calls on the alias still answer with the key it
   * pointed at before (KMS aliases are eventually consistent).
   */
  staleAliasReads = 0;
  now = new Date("2026-06-01T00:00:00Z");
  private pending: { key: FakeKey; readsLeft: number } | undefined;
  private stale: { alias: string; keyId: string; readsLeft: number } | undefined;

  add(init: NewKey = {}): FakeKey {
    const id = randomUUID();
    const created = new Date(this.now.getTime() - (init.createdDaysAgo ?? 10) * DAY);
    const first: FakeMaterial = { id: randomBytes(32).toString("hex"), createdAt: created };
    const materials = [first];
    if (init.lastRotationDaysAgo !== undefined) {
      materials.push({
        id: randomBytes(32).toString("hex"),
        createdAt: new Date(this.now.getTime() - init.lastRotationDaysAgo * DAY),
        type: "AUTOMATIC",
      });
    }
    const key: FakeKey = {
      meta: {
        AWSAccountId: ACCOUNT,
        KeyId: id,
        Arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`,
        CreationDate: created,
        Enabled: (init.state ?? "Enabled") === "Enabled",
        Description: init.description ?? "",
        KeyUsage: (init.usage ?? "ENCRYPT_DECRYPT") as KeyMetadata["KeyUsage"],
        KeyState: (init.state ?? "Enabled") as KeyMetadata["KeyState"],
        Origin: (init.origin ?? "AWS_KMS") as KeyMetadata["Origin"],
        KeyManager: init.manager ?? "CUSTOMER",
        KeySpec: (init.spec ?? "SYMMETRIC_DEFAULT") as KeyMetadata["KeySpec"],
        ...(init.customKeyStoreId ? { CustomKeyStoreId: init.customKeyStoreId } : {}),
        ...(init.replica
          ? { MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: "REPLICA" } }
          : {}),
      },
      rotationEnabled: init.rotation !== undefined && init.rotation !== false,
      periodDays: typeof init.rotation === "number" ? init.rotation : 365,
      materials,
      policy: init.policy ?? defaultPolicy(),
      grants: [],
      tags: [],
    };
    if (key.rotationEnabled) key.nextRotation = new Date(this.now.getTime() + 30 * DAY);
    this.keys.set(id, key);
    if (init.alias) this.aliases.set(init.alias, id);
    return key;
  }

  find(ref: string): FakeKey {
    const id = ref.startsWith("alias/")
      ? this.aliases.get(ref)
      : ref.startsWith("arn:")
        ? ref.includes(":alias/")
          ? this.aliases.get(`alias/${ref.split(":alias/")[1]}`)
          : ref.split("/").pop()
        : ref;
    const key = id === undefined ? undefined : this.keys.get(id);
    if (!key) throw new FakeAwsError("NotFoundException", `Key '${ref}' does not exist`);
    return key;
  }

  private enter(op: string, keyId?: string): void {
    this.calls.push(keyId ? `${op}:${keyId}` : op);
    const specific = keyId ? this.failures.get(`${op}:${keyId}`) : undefined;
    const e = specific ?? this.failures.get(op);
    if (e) throw e;
  }

  private page<T>(items: T[], marker: string | undefined, limit?: number) {
    const start = marker ? Number(marker) : 0;
    const size = Math.min(limit ?? this.pageSize, this.pageSize);
    const end = start + size;
    return end < items.length
      ? { items: items.slice(start, end), Truncated: true, NextMarker: String(end) }
      : { items: items.slice(start), Truncated: false };
  }

  private tick(): void {
    if (!this.pending) return;
    if (this.pending.readsLeft-- > 0) return;
    const key = this.pending.key;
    key.materials.push({
      id: randomBytes(32).toString("hex"),
      createdAt: new Date(this.now),
      type: "ON_DEMAND",
    });
    delete key.onDemandStart;
    this.pending = undefined;
  }

  private current(key: FakeKey): FakeMaterial {
    return key.materials[key.materials.length - 1]!;
  }

  async listKeys(input: { Marker?: string; Limit?: number }) {
    this.enter("ListKeys");
    const all = [...this.keys.values()].map((k) => ({ KeyId: k.meta.KeyId, KeyArn: k.meta.Arn }));
    const { items, ...paging } = this.page(all, input.Marker, input.Limit);
    return { Keys: items, ...paging };
  }

  async describeKey(input: { KeyId: string | undefined }) {
    this.enter("DescribeKey", input.KeyId);
    this.tick();
    const stale = this.stale;
    const key =
      stale && stale.readsLeft > 0 && input.KeyId === stale.alias
        ? (stale.readsLeft--, this.find(stale.keyId))
        : this.find(input.KeyId ?? "");
    return {
      KeyMetadata: {
        ...key.meta,
        ...(this.omitMaterialIds ? {} : { CurrentKeyMaterialId: this.current(key).id }),
      },
    };
  }

  async listAliases(input: { Marker?: string; Limit?: number; KeyId?: string }) {
    this.enter("ListAliases");
    const all = [...this.aliases].map(([AliasName, TargetKeyId]) => ({
      AliasName,
      AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:${AliasName}`,
      TargetKeyId,
    }));
    const { items, ...paging } = this.page(all, input.Marker, input.Limit);
    return { Aliases: items, ...paging };
  }

  async getKeyRotationStatus(input: { KeyId: string | undefined }) {
    this.enter("GetKeyRotationStatus", input.KeyId);
    this.tick();
    const key = this.find(input.KeyId ?? "");
    if (key.meta.KeySpec !== "SYMMETRIC_DEFAULT")
      throw new FakeAwsError("UnsupportedOperationException", "not supported for this key");
    const on = key.rotationEnabled && key.meta.KeyState !== "PendingDeletion";
    return {
      KeyId: key.meta.Arn,
      KeyRotationEnabled: on,
      ...(on ? { RotationPeriodInDays: key.periodDays, NextRotationDate: key.nextRotation } : {}),
      ...(key.onDemandStart ? { OnDemandRotationStartDate: key.onDemandStart } : {}),
    };
  }

  async listKeyRotations(input: ListKeyRotationsCommandInput) {
    this.enter("ListKeyRotations", input.KeyId);
    if (this.noListKeyRotations)
      throw new FakeAwsError("InternalFailure", "API action 'ListKeyRotations' is not yet implemented", 501);
    this.tick();
    const key = this.find(input.KeyId ?? "");
    const currentId = this.current(key).id;
    const all = key.materials
      .filter((m) => input.IncludeKeyMaterial === "ALL_KEY_MATERIAL" || m.type !== undefined)
      .map((m) => ({
        KeyId: key.meta.KeyId,
        KeyMaterialId: m.id,
        KeyMaterialState: m.id === currentId ? ("CURRENT" as const) : ("NON_CURRENT" as const),
        ...(m.type ? { RotationDate: m.createdAt, RotationType: m.type } : {}),
      }));
    const { items, ...paging } = this.page(all, input.Marker);
    return { Rotations: items, ...paging };
  }

  async enableKeyRotation(input: { KeyId: string | undefined; RotationPeriodInDays?: number }) {
    this.enter("EnableKeyRotation", input.KeyId);
    const key = this.find(input.KeyId ?? "");
    const p = input.RotationPeriodInDays ?? 365;
    if (p < 90 || p > 2560) throw new FakeAwsError("ValidationException", "bad period");
    if (key.meta.KeyState === "Disabled") throw new FakeAwsError("DisabledException", "disabled");
    if (this.enableRotationNoop) return {};
    key.rotationEnabled = true;
    key.periodDays = p;
    key.nextRotation = new Date(this.now.getTime() + p * DAY);
    return {};
  }

  async rotateKeyOnDemand(input: { KeyId: string | undefined }) {
    this.enter("RotateKeyOnDemand", input.KeyId);
    const key = this.find(input.KeyId ?? "");
    if (key.meta.KeyState === "Disabled") throw new FakeAwsError("DisabledException", "disabled");
    key.onDemandStart = new Date(this.now);
    this.pending = { key, readsLeft: this.rotationDelayReads };
    return { KeyId: key.meta.Arn };
  }

  async getKeyPolicy(input: { KeyId: string | undefined }) {
    this.enter("GetKeyPolicy", input.KeyId);
    const key = this.find(input.KeyId ?? "");
    return { Policy: key.policy, PolicyName: "default" };
  }

  async listGrants(input: { KeyId: string | undefined; Marker?: string }) {
    this.enter("ListGrants", input.KeyId);
    const key = this.find(input.KeyId ?? "");
    const { items, ...paging } = this.page(key.grants, input.Marker);
    return { Grants: items, ...paging };
  }

  async listResourceTags(input: { KeyId: string | undefined; Marker?: string }) {
    this.enter("ListResourceTags", input.KeyId);
    const key = this.find(input.KeyId ?? "");
    const { items, ...paging } = this.page(key.tags, input.Marker);
    return { Tags: items, ...paging };
  }

  async createKey(input: CreateKeyCommandInput) {
    this.enter("CreateKey");
    const key = this.add({
      description: input.Description ?? "",
      createdDaysAgo: 0,
      ...(input.Policy ? { policy: input.Policy } : {}),
    });
    key.tags = [...(input.Tags ?? [])];
    return { KeyMetadata: { ...key.meta, CurrentKeyMaterialId: this.current(key).id } };
  }

  async updateAlias(input: { AliasName: string | undefined; TargetKeyId: string | undefined }) {
    this.enter("UpdateAlias", input.AliasName);
    if (!this.aliases.has(input.AliasName ?? "")) throw new FakeAwsError("NotFoundException", "no alias");
    const key = this.find(input.TargetKeyId ?? "");
    const before = this.aliases.get(input.AliasName ?? "") ?? "";
    this.aliases.set(input.AliasName ?? "", key.meta.KeyId ?? "");
    if (this.staleAliasReads > 0)
      this.stale = { alias: input.AliasName ?? "", keyId: before, readsLeft: this.staleAliasReads };
    return {};
  }

  async generateDataKey(input: { KeyId: string | undefined; DryRun?: boolean }) {
    this.enter("GenerateDataKey", input.KeyId);
    const key = this.find(input.KeyId ?? "");
    if (key.meta.KeyState === "Disabled") throw new FakeAwsError("DisabledException", "disabled");
    if (key.meta.KeyState === "PendingDeletion")
      throw new FakeAwsError("KMSInvalidStateException", "pending");
    if (input.DryRun && !this.ignoreDryRun)
      throw new FakeAwsError("DryRunOperationException", "The request would have succeeded");
    return {
      KeyId: key.meta.Arn,
      Plaintext: new Uint8Array(randomBytes(32)),
      CiphertextBlob: new Uint8Array(64),
    };
  }
}

/** A clock and a sleep that only advances it: waits take no real time; `sleeps` records them. */
export function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}
