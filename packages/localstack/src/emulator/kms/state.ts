/**
 * The emulated KMS account: keys with their materials, aliases, grants, and the rules of key
 * state and rotation. Operations (the wire format) live in `operations/`; this file holds what
 * they share, so every operation resolves keys and checks states the same way.
 *
 * Rotation model (after AWS's documentation of KMS):
 * - a rotation adds fresh random 256-bit material with a new id; old material stays, so old
 *   ciphertext decrypts; the key id, ARN, aliases, policy and grants do not change;
 * - automatic rotation: the next date is `anchor + period`, where the anchor is when rotation
 *   was enabled or the last automatic rotation. Due rotations run lazily, at the start of every
 *   request and whenever the clock moves; a clock jump of several periods rotates several times,
 *   each at its scheduled date;
 * - a new RotationPeriodInDays on a key whose rotation is already on keeps the anchor: the next
 *   date becomes `anchor + new period`. If that date has already passed, the key rotates once,
 *   dated now, and the next date is `now + new period` (never a burst of backdated rotations);
 * - disabled and pending-deletion keys do not rotate. On re-enable, a key whose current
 *   material is at least one period old rotates at once (and the schedule restarts from then);
 *   otherwise the original schedule resumes, skipping the dates missed while disabled. While
 *   disabled, the reported next date is the one re-enabling now would give: never in the past;
 * - on-demand rotation does not move the automatic schedule, and is limited per key. KMS runs it
 *   in the background: with a non-zero `onDemandRotationDelayMs` the emulator does too. The
 *   rotation starts when asked (GetKeyRotationStatus shows `OnDemandRotationStartDate`, the
 *   current material stays) and completes once the emulated clock has moved on by the delay
 *   (real time passing, or `clock.advance`); a second request meanwhile is `ConflictException`.
 *   With the default delay of 0 it completes before RotateKeyOnDemand answers.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { EmulatorClock } from "../contracts.js";
import { KmsError } from "./errors.js";

/** Milliseconds in a day; rotation periods and deletion windows are whole days. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** On-demand rotations allowed per key over its lifetime (AWS's documented quota). */
export const ON_DEMAND_ROTATION_LIMIT = 25;

/** A key's lifecycle state, as `KeyMetadata.KeyState` names it. */
export type KeyState = "Enabled" | "Disabled" | "PendingDeletion";

/** How a material came to be: the first material has no rotation type. */
export type RotationType = "AUTOMATIC" | "ON_DEMAND";

/** One key material: the secret that actually encrypts. */
export interface KeyMaterial {
  /** 64 lowercase hex characters. */
  readonly id: string;
  /** The 32-byte AES-256 key. */
  readonly secret: Buffer;
  /** When it became the key's material (the rotation date for rotated material). */
  readonly createdAt: Date;
  /** Absent for the key's first material. */
  readonly rotationType: RotationType | undefined;
}

/** A grant on a key (recorded and listed; the emulator does not evaluate permissions). */
export interface Grant {
  readonly grantId: string;
  readonly grantToken: string;
  readonly name: string | undefined;
  readonly createdAt: Date;
  readonly granteePrincipal: string;
  readonly retiringPrincipal: string | undefined;
  readonly operations: readonly string[];
  readonly constraints: Record<string, unknown> | undefined;
}

/**
 * What kind of key it is, as `KeyMetadata` reports it. Keys made through CreateKey are always
 * symmetric customer-managed `AWS_KMS` keys; the other kinds exist only when a test seeds them
 * (through `KmsState.createKey`), so that key tooling can be tested against every kind it meets.
 */
export interface KeyKind {
  /** @default "SYMMETRIC_DEFAULT" */
  readonly keySpec: string;
  /** @default "ENCRYPT_DECRYPT" */
  readonly keyUsage: string;
  /** @default "AWS_KMS" */
  readonly origin: string;
  /** @default "CUSTOMER" */
  readonly keyManager: "CUSTOMER" | "AWS";
  /** @default undefined (not in a custom key store) */
  readonly customKeyStoreId: string | undefined;
  /** @default undefined (a single-Region key) */
  readonly multiRegionKeyType: "PRIMARY" | "REPLICA" | undefined;
}

/** The kind of every key CreateKey makes. */
export const SYMMETRIC_KEY: KeyKind = {
  keySpec: "SYMMETRIC_DEFAULT",
  keyUsage: "ENCRYPT_DECRYPT",
  origin: "AWS_KMS",
  keyManager: "CUSTOMER",
  customKeyStoreId: undefined,
  multiRegionKeyType: undefined,
};

/** A KMS key: symmetric and customer-managed unless a test seeded another {@link KeyKind}. */
export interface KmsKey {
  readonly id: string;
  readonly arn: string;
  readonly createdAt: Date;
  readonly kind: KeyKind;
  description: string;
  state: KeyState;
  /** Oldest first; the last one is current. Never empty. */
  readonly materials: KeyMaterial[];
  policy: string;
  readonly tags: Map<string, string>;
  rotationEnabled: boolean;
  rotationPeriodDays: number;
  /** Start of the current automatic-rotation period; set while rotation is enabled. */
  rotationAnchor: Date | undefined;
  /** On-demand rotations asked for over the key's life (started ones included). */
  onDemandRotations: number;
  /** When the on-demand rotation in progress started, if one is. */
  onDemandRotationStartedAt: Date | undefined;
  deletionDate: Date | undefined;
  pendingWindowDays: number | undefined;
  readonly grants: Grant[];
}

/** An alias: a name that points at one key. */
export interface Alias {
  readonly name: string;
  targetKeyId: string;
  readonly createdAt: Date;
  updatedAt: Date;
}

/** Options of {@link KmsState}. */
export interface KmsStateOptions {
  /** Region in ARNs. */
  region: string;
  /** Account id in ARNs. */
  accountId: string;
  /** Emulated time. */
  clock: EmulatorClock;
  /**
   * How long an on-demand rotation runs before its material becomes current, in milliseconds
   * of emulated time. 0 completes it before RotateKeyOnDemand answers.
   * @default 0
   */
  onDemandRotationDelayMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ARN = /^arn:([a-z-]+):kms:([a-z0-9-]*):(\d*):(key|alias)\/(.+)$/;

/** Whether a reference may name an alias (`alias/x` or an alias ARN) besides a key id or ARN. */
export type AliasUse = "allowAlias" | "keyOnly";

/**
 * The state of one emulated KMS account in one Region.
 *
 * @example
 * ```ts
 * const state = new KmsState({ region: "us-east-1", accountId: "000000000000", clock });
 * const key = state.createKey({ description: "test" });
 * state.rotateOnDemand(key);
 * ```
 */
export class KmsState {
  /** Region in ARNs. */
  readonly region: string;
  /** Account id in ARNs. */
  readonly accountId: string;
  /** Emulated time. */
  readonly clock: EmulatorClock;
  /** Keys by id, in creation order. */
  readonly keys = new Map<string, KmsKey>();
  /** Aliases by full name (`alias/...`). */
  readonly aliases = new Map<string, Alias>();
  /** Ids of keys whose deletion completed: their blobs answer NotFoundException. */
  readonly deletedKeyIds = new Set<string>();
  /**
   * How long an on-demand rotation runs (see {@link KmsStateOptions}). Writable so that an
   * in-process fake can hold a rotation open and complete it itself
   * ({@link completeOnDemandRotation}); a change applies to rotations started afterwards and to
   * the completion date of the one in progress.
   */
  onDemandRotationDelayMs: number;

  constructor(options: KmsStateOptions) {
    this.region = options.region;
    this.accountId = options.accountId;
    this.clock = options.clock;
    const delay = options.onDemandRotationDelayMs ?? 0;
    if (!(Number.isFinite(delay) && delay >= 0)) {
      throw new RangeError(`onDemandRotationDelayMs must be a finite number >= 0, got ${delay}`);
    }
    this.onDemandRotationDelayMs = delay;
  }

  /** `arn:aws:kms:REGION:ACCOUNT:key/ID`. */
  keyArn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  /** `arn:aws:kms:REGION:ACCOUNT:alias/NAME` for an alias name `alias/NAME`. */
  aliasArn(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${aliasName}`;
  }

  /** The policy KMS attaches when CreateKey has none: the account root may do everything. */
  defaultPolicy(): string {
    return JSON.stringify({
      Version: "2012-10-17",
      Id: "key-default-1",
      Statement: [
        {
          Sid: "Enable IAM User Permissions",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${this.accountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
      ],
    });
  }

  /**
   * Creates a key with fresh material: enabled, symmetric and created now unless `init` says
   * otherwise (`kind`, `state` and `createdAt` are for tests that seed an account; CreateKey
   * passes none of them).
   */
  createKey(init: {
    description?: string;
    policy?: string;
    tags?: Map<string, string>;
    kind?: Partial<KeyKind>;
    state?: KeyState;
    createdAt?: Date;
  }): KmsKey {
    const id = randomUUID();
    const now = init.createdAt ?? this.clock.now();
    const key: KmsKey = {
      id,
      arn: this.keyArn(id),
      createdAt: now,
      kind: { ...SYMMETRIC_KEY, ...init.kind },
      description: init.description ?? "",
      state: init.state ?? "Enabled",
      materials: [newMaterial(now, undefined)],
      policy: init.policy ?? this.defaultPolicy(),
      tags: init.tags ?? new Map(),
      rotationEnabled: false,
      rotationPeriodDays: 365,
      rotationAnchor: undefined,
      onDemandRotations: 0,
      onDemandRotationStartedAt: undefined,
      deletionDate: undefined,
      pendingWindowDays: undefined,
      grants: [],
    };
    this.keys.set(id, key);
    return key;
  }

  /**
   * Resolves a key id, key ARN and, when allowed, an alias name or alias ARN.
   *
   * @throws KmsError `NotFoundException` when nothing matches.
   */
  findKey(reference: string, use: AliasUse): KmsKey {
    const arn = ARN.exec(reference);
    if (arn !== null) {
      const [, , region, account, kind, rest = ""] = arn;
      if (region !== this.region || account !== this.accountId) {
        throw new KmsError("NotFoundException", `Invalid arn ${reference}`);
      }
      if (kind === "alias") {
        if (use === "keyOnly") throw new KmsError("NotFoundException", `Invalid keyId ${reference}`);
        return this.#findByAlias(`alias/${rest}`);
      }
      return this.#findById(rest);
    }
    if (reference.startsWith("alias/")) {
      if (use === "keyOnly") throw new KmsError("NotFoundException", `Invalid keyId ${reference}`);
      return this.#findByAlias(reference);
    }
    return this.#findById(reference);
  }

  #findById(keyId: string): KmsKey {
    const key = UUID.test(keyId) ? this.keys.get(keyId) : undefined;
    if (key === undefined) {
      throw new KmsError(
        "NotFoundException",
        UUID.test(keyId) ? `Key '${this.keyArn(keyId)}' does not exist` : `Invalid keyId '${keyId}'`,
      );
    }
    return key;
  }

  #findByAlias(name: string): KmsKey {
    const alias = this.aliases.get(name);
    const key = alias === undefined ? undefined : this.keys.get(alias.targetKeyId);
    if (key === undefined)
      throw new KmsError("NotFoundException", `Alias '${this.aliasArn(name)}' is not found.`);
    return key;
  }

  /** The material new ciphertext is made with. */
  current(key: KmsKey): KeyMaterial {
    const material = key.materials[key.materials.length - 1];
    if (material === undefined) throw new Error(`key ${key.id} has no material`);
    return material;
  }

  /**
   * Requires a key that can encrypt and decrypt now.
   *
   * @throws KmsError `DisabledException` or `KMSInvalidStateException`.
   */
  requireEnabled(key: KmsKey): void {
    if (key.state === "Disabled") throw new KmsError("DisabledException", `${key.arn} is disabled.`);
    this.requireNotPendingDeletion(key);
  }

  /**
   * Requires a key that encrypts and decrypts (symmetric, `ENCRYPT_DECRYPT`).
   *
   * @throws KmsError `InvalidKeyUsageException`.
   */
  requireEncryptDecrypt(key: KmsKey): void {
    if (key.kind.keySpec !== "SYMMETRIC_DEFAULT" || key.kind.keyUsage !== "ENCRYPT_DECRYPT") {
      throw new KmsError(
        "InvalidKeyUsageException",
        `${key.arn} key usage is ${key.kind.keyUsage} which is not valid for this operation.`,
      );
    }
  }

  /** @throws KmsError `KMSInvalidStateException` for a key pending deletion. */
  requireNotPendingDeletion(key: KmsKey): void {
    if (key.state === "PendingDeletion") {
      throw new KmsError("KMSInvalidStateException", `${key.arn} is pending deletion.`);
    }
  }

  /** Adds fresh material and makes it current. */
  rotate(key: KmsKey, type: RotationType, at: Date): KeyMaterial {
    const material = newMaterial(at, type);
    key.materials.push(material);
    return material;
  }

  /**
   * Starts an on-demand rotation of an enabled key, counted against the per-key limit. It
   * completes now when the delay is 0, else in {@link processDue} once the delay has passed.
   *
   * @throws KmsError `ConflictException` while another on-demand rotation of the key runs,
   * `LimitExceededException` past {@link ON_DEMAND_ROTATION_LIMIT}.
   */
  rotateOnDemand(key: KmsKey): void {
    if (key.onDemandRotationStartedAt !== undefined) {
      throw new KmsError("ConflictException", `An on-demand rotation of ${key.arn} is already in progress.`);
    }
    if (key.onDemandRotations >= ON_DEMAND_ROTATION_LIMIT) {
      throw new KmsError(
        "LimitExceededException",
        `The on-demand rotations limit has been reached for the given key: ${key.arn}. The limit is ${ON_DEMAND_ROTATION_LIMIT}.`,
      );
    }
    key.onDemandRotations += 1;
    const now = this.clock.now();
    if (this.onDemandRotationDelayMs === 0) this.rotate(key, "ON_DEMAND", now);
    else key.onDemandRotationStartedAt = now;
  }

  /** Completes the on-demand rotation in progress, if one is: its material becomes current. */
  completeOnDemandRotation(key: KmsKey, at: Date = this.clock.now()): void {
    if (key.onDemandRotationStartedAt === undefined) return;
    this.rotate(key, "ON_DEMAND", at);
    key.onDemandRotationStartedAt = undefined;
  }

  /** When the on-demand rotation in progress completes, if one is. */
  #onDemandCompletion(key: KmsKey): Date | undefined {
    const started = key.onDemandRotationStartedAt;
    return started === undefined ? undefined : new Date(started.getTime() + this.onDemandRotationDelayMs);
  }

  /**
   * When the next automatic rotation is due, if rotation is enabled. For a disabled key, the
   * date re-enabling it now would give (now itself when it would rotate at once).
   */
  nextRotationDate(key: KmsKey): Date | undefined {
    if (!key.rotationEnabled || key.rotationAnchor === undefined) return undefined;
    const period = key.rotationPeriodDays * DAY_MS;
    if (key.state === "Disabled") {
      const now = this.clock.now();
      const resumed = this.#resumedAnchor(key, now);
      return resumed === undefined ? now : new Date(resumed.getTime() + period);
    }
    return new Date(key.rotationAnchor.getTime() + period);
  }

  /**
   * Turns automatic rotation on, or changes its period. A new period keeps the anchor; if the
   * next date it gives has passed, the key rotates once, now (see module comment).
   */
  enableRotation(key: KmsKey, periodDays: number): void {
    const now = this.clock.now();
    if (!key.rotationEnabled || key.rotationAnchor === undefined) {
      key.rotationAnchor = now;
    } else if (key.rotationAnchor.getTime() + periodDays * DAY_MS <= now.getTime()) {
      this.rotate(key, "AUTOMATIC", now);
      key.rotationAnchor = now;
    }
    key.rotationEnabled = true;
    key.rotationPeriodDays = periodDays;
  }

  /** Re-enables a disabled key, rotating at once if its material outlived the period. */
  enable(key: KmsKey): void {
    const wasDisabled = key.state === "Disabled";
    key.state = "Enabled";
    if (!wasDisabled || !key.rotationEnabled || key.rotationAnchor === undefined) return;
    const now = this.clock.now();
    const resumed = this.#resumedAnchor(key, now);
    if (resumed === undefined) {
      this.rotate(key, "AUTOMATIC", now);
      key.rotationAnchor = now;
    } else {
      key.rotationAnchor = resumed;
    }
  }

  /**
   * The anchor a disabled key with rotation on resumes from if enabled at `now`: `undefined`
   * when its current material is at least one period old (it rotates at once); otherwise the
   * original schedule, skipping the dates that passed while it was disabled.
   */
  #resumedAnchor(key: KmsKey, now: Date): Date | undefined {
    const period = key.rotationPeriodDays * DAY_MS;
    const anchor = key.rotationAnchor?.getTime() ?? now.getTime();
    if (now.getTime() - this.current(key).createdAt.getTime() >= period) return undefined;
    const next = anchor + period;
    if (next > now.getTime()) return new Date(anchor);
    const missed = Math.floor((now.getTime() - next) / period) + 1;
    return new Date(anchor + missed * period);
  }

  /**
   * Runs what became due by the emulated clock: completed key deletions, then, for enabled
   * keys, automatic rotations and the completion of an on-demand rotation, in date order.
   */
  processDue(now: Date = this.clock.now()): void {
    for (const key of [...this.keys.values()]) {
      if (key.state === "PendingDeletion" && key.deletionDate !== undefined && key.deletionDate <= now) {
        this.#delete(key);
        continue;
      }
      if (key.state !== "Enabled") continue;
      for (;;) {
        const automatic = this.nextRotationDate(key);
        const onDemand = this.#onDemandCompletion(key);
        if (onDemand !== undefined && onDemand <= now && (automatic === undefined || onDemand <= automatic)) {
          this.completeOnDemandRotation(key, onDemand);
        } else if (automatic !== undefined && automatic <= now) {
          this.rotate(key, "AUTOMATIC", automatic);
          key.rotationAnchor = automatic;
        } else {
          break;
        }
      }
    }
  }

  #delete(key: KmsKey): void {
    this.keys.delete(key.id);
    this.deletedKeyIds.add(key.id);
    for (const [name, alias] of this.aliases) if (alias.targetKeyId === key.id) this.aliases.delete(name);
  }
}

function newMaterial(at: Date, rotationType: RotationType | undefined): KeyMaterial {
  return { id: randomBytes(32).toString("hex"), secret: randomBytes(32), createdAt: at, rotationType };
}
