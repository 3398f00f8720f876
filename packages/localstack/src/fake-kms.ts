/**
 * `@rekey/localstack/fake-kms`: the built-in emulator's KMS, in process, for unit tests.
 *
 * {@link FakeKms} answers the methods of `@rekey/core`'s `KmsApi`, the job's `JobKmsApi` and the
 * key tooling's `KmsAdminApi` by running the emulator's own operations (`emulator/kms/operations`)
 * on the emulator's account model (`emulator/kms/state.ts`): the same AES-256-GCM blobs bound
 * to the encryption context, key states, rotation rules, aliases, paging and error names as the
 * HTTP emulator, without a socket. What it adds is what unit tests need around that model: a
 * call log, injected failures, keys seeded in any state or kind, keys of other Regions and
 * accounts, and switches that make it answer like endpoints that differ from KMS (LocalStack's
 * missing `KeyMaterialId`s and `ListKeyRotations`, an ignored `DryRun`, stale alias reads).
 */
import type {
  CreateKeyCommandInput,
  CreateKeyCommandOutput,
  DecryptCommandInput,
  DecryptCommandOutput,
  DescribeKeyCommandInput,
  DescribeKeyCommandOutput,
  EnableKeyRotationCommandInput,
  EnableKeyRotationCommandOutput,
  EncryptCommandInput,
  EncryptCommandOutput,
  GenerateDataKeyCommandInput,
  GenerateDataKeyCommandOutput,
  GetKeyPolicyCommandInput,
  GetKeyPolicyCommandOutput,
  GetKeyRotationStatusCommandInput,
  GetKeyRotationStatusCommandOutput,
  ListAliasesCommandInput,
  ListAliasesCommandOutput,
  ListGrantsCommandInput,
  ListGrantsCommandOutput,
  ListKeyRotationsCommandInput,
  ListKeyRotationsCommandOutput,
  ListKeysCommandInput,
  ListKeysCommandOutput,
  ListResourceTagsCommandInput,
  ListResourceTagsCommandOutput,
  ReEncryptCommandInput,
  ReEncryptCommandOutput,
  RotateKeyOnDemandCommandInput,
  RotateKeyOnDemandCommandOutput,
  UpdateAliasCommandInput,
  UpdateAliasCommandOutput,
} from "@aws-sdk/client-kms";
import { ManualClock } from "./emulator/clock.js";
import { readCiphertextHeader } from "./emulator/kms/ciphertext.js";
import { KmsError } from "./emulator/kms/errors.js";
import type { JsonObject } from "./emulator/kms/input.js";
import { KMS_OPERATIONS } from "./emulator/kms/operations/all.js";
import { jsonRequestOf, sdkOutputOf } from "./emulator/kms/sdk-shapes.js";
import { DAY_MS, KmsState, type KeyKind, type KeyState, type KmsKey } from "./emulator/kms/state.js";

type Out<T> = Omit<T, "$metadata">;

/** Per-call options, as the SDK-shaped interfaces pass them (the fake answers at once). */
export interface FakeKmsCallOptions {
  readonly abortSignal?: AbortSignal;
}

/** One call the fake received. */
export interface FakeKmsCall {
  /** The operation, e.g. `"ReEncrypt"`. */
  op: string;
  /**
   * The key the request names, as given: `DestinationKeyId` for ReEncrypt, `AliasName` for the
   * alias operations, else `KeyId`.
   */
  keyId: string | undefined;
}

/** A failure to inject: calls that match answer with this error before KMS's model is asked. */
export interface FakeKmsFailure {
  /**
   * The operation that fails.
   * @default every operation
   */
  operation?: string;
  /**
   * Only calls naming this key (any reference that resolves to the same key, or the same text).
   * @default every key
   */
  keyId?: string;
  /** The error name, e.g. `"ThrottlingException"`. */
  error: string;
  /**
   * The error message.
   * @default the error name
   */
  message?: string;
  /**
   * HTTP status of the answer.
   * @default 400
   */
  status?: number;
  /**
   * How many matching calls fail; then the failure is spent.
   * @default every matching call, until {@link FakeKms.clearFailures}
   */
  times?: number;
}

/** How to seed a key with {@link FakeKms.addKey}. */
export interface FakeKeyOptions {
  /**
   * An alias (`alias/...`) pointing at the key.
   * @default no alias
   */
  alias?: string;
  /**
   * The key's Region: another Region than the fake's is a separate account model.
   * @default the fake's Region
   */
  region?: string;
  /**
   * The key's account.
   * @default the fake's account
   */
  account?: string;
  /** @default "" */
  description?: string;
  /** @default KMS's default policy (the account root may do everything) */
  policy?: string;
  /** @default no tags */
  tags?: Record<string, string>;
  /** @default "Enabled" */
  state?: KeyState;
  /** `KeySpec`. @default "SYMMETRIC_DEFAULT" */
  spec?: string;
  /** `KeyUsage`. @default "ENCRYPT_DECRYPT" */
  usage?: string;
  /** `Origin`. @default "AWS_KMS" */
  origin?: string;
  /** `KeyManager`. @default "CUSTOMER" */
  manager?: "CUSTOMER" | "AWS";
  /** @default not in a custom key store */
  customKeyStoreId?: string;
  /** A multi-Region replica key. @default false */
  replica?: boolean;
  /**
   * Automatic rotation: its period in days, its next date 30 days ahead; `false` for off.
   * @default false
   */
  rotation?: number | false;
  /**
   * Days between the key's creation (and first material) and the fake's now.
   * @default 10
   */
  createdDaysAgo?: number;
  /**
   * Adds a second material from an automatic rotation this many days ago.
   * @default no rotation
   */
  lastRotationDaysAgo?: number;
}

/** Options of {@link FakeKms}. */
export interface FakeKmsOptions {
  /** @default "us-east-1" */
  region?: string;
  /** @default "111122223333" */
  accountId?: string;
  /**
   * The fake's time, which stands still until `clock.advance` moves it.
   * @default 2026-06-01T00:00:00Z
   */
  now?: Date;
  /**
   * Largest page of every list operation (KMS's own limits when unset).
   * @default undefined
   */
  pageSize?: number;
}

/**
 * An error as `@aws-sdk/client-kms` throws it: `name` is the KMS exception name, with `$fault`
 * and `$metadata.httpStatusCode`.
 *
 * @example
 * ```ts
 * throw new FakeKmsError("ValidationException");
 * ```
 */
export class FakeKmsError extends Error {
  /** `"server"` for a 5xx answer, else `"client"`. */
  readonly $fault: "client" | "server";
  /** The HTTP answer's metadata. */
  readonly $metadata: { httpStatusCode: number };

  /**
   * @param name - The KMS exception name.
   * @param message - @default the name
   * @param status - HTTP status. @default 400
   */
  constructor(name: string, message: string = name, status = 400) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? "server" : "client";
    this.$metadata = { httpStatusCode: status };
  }
}

const REGION = "us-east-1";
const ACCOUNT = "111122223333";
const NOW = new Date("2026-06-01T00:00:00Z");
/** An on-demand rotation held open by {@link FakeKms.rotationDelayReads} never comes due by itself. */
const HELD_ROTATION_MS = 100 * 365 * DAY_MS;
const ARN = /^arn:[a-z-]+:kms:([a-z0-9-]*):(\d*):/;
const LIST_OPERATIONS = new Set([
  "ListKeys",
  "ListAliases",
  "ListKeyRotations",
  "ListGrants",
  "ListResourceTags",
]);
const READS = new Set(["DescribeKey", "ListKeyRotations", "GetKeyRotationStatus"]);
const ALIAS_OPERATIONS = new Set(["CreateAlias", "UpdateAlias", "DeleteAlias"]);

/**
 * The emulator's KMS as an in-process object with the SDK's method shapes.
 *
 * Its members are plain properties and prototype methods (no `#private` fields), so a test may
 * replace a method on an instance or on an `Object.create(kms)` copy.
 *
 * @example
 * ```ts
 * const kms = new FakeKms();
 * const keyArn = kms.addKey({ alias: "alias/app" }).arn;
 * const keyring = new KmsKeyring({ client: kms, keyId: "alias/app" });
 * kms.fail({ operation: "Decrypt", error: "ThrottlingException", times: 1 });
 * expect(kms.count("GenerateDataKey")).toBe(1);
 * ```
 */
export class FakeKms {
  /** The fake's time; stands still unless a test advances it. */
  readonly clock: ManualClock;
  /** The account model of the fake's own Region and account. */
  readonly state: KmsState;
  /** Every call, in order; tests may clear it (`calls.length = 0`). */
  readonly calls: FakeKmsCall[] = [];
  /** Leave out `KeyMaterialId`s of data-plane answers and `CurrentKeyMaterialId`, as LocalStack does. @default false */
  omitMaterialIds = false;
  /** Answer ListKeyRotations with HTTP 501, as LocalStack does. @default false */
  noListKeyRotations = false;
  /** Ignore `DryRun`: answer as a real call would. @default false */
  ignoreDryRun = false;
  /** EnableKeyRotation is logged and answers, but changes nothing (a broken endpoint). @default false */
  enableRotationNoop = false;
  /**
   * After an UpdateAlias, this many DescribeKey calls on the alias still answer with the key it
   * pointed at before (KMS aliases are eventually consistent).
   * @default 0
   */
  staleAliasReads = 0;
  /**
   * An on-demand rotation completes after this many reads of a key (DescribeKey,
   * ListKeyRotations, GetKeyRotationStatus); 0 completes it before RotateKeyOnDemand answers.
   * @default 0
   */
  rotationDelayReads = 0;
  /** Largest page of every list operation; KMS's own limits when unset. @default undefined */
  pageSize: number | undefined;

  protected readonly states = new Map<string, KmsState>();
  protected readonly failures: FakeKmsFailure[] = [];
  protected pending: { key: KmsKey; state: KmsState; readsLeft: number } | undefined;
  protected stale: { alias: string; keyId: string; readsLeft: number } | undefined;

  constructor(options: FakeKmsOptions = {}) {
    const start = options.now ?? NOW;
    this.clock = new ManualClock({ start, realNow: () => start.getTime() });
    this.pageSize = options.pageSize;
    this.state = this.stateAt(options.region ?? REGION, options.accountId ?? ACCOUNT);
  }

  // ---- test controls ----

  /** Seeds a key (see {@link FakeKeyOptions}) and returns the model's key. */
  addKey(options: FakeKeyOptions = {}): KmsKey {
    const state = this.stateAt(options.region ?? this.state.region, options.account ?? this.state.accountId);
    const now = this.clock.now().getTime();
    const kind: Partial<KeyKind> = {
      ...(options.spec === undefined ? {} : { keySpec: options.spec }),
      ...(options.usage === undefined ? {} : { keyUsage: options.usage }),
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(options.manager === undefined ? {} : { keyManager: options.manager }),
      ...(options.customKeyStoreId === undefined ? {} : { customKeyStoreId: options.customKeyStoreId }),
      ...(options.replica ? { multiRegionKeyType: "REPLICA" as const } : {}),
    };
    const key = state.createKey({
      kind,
      state: options.state ?? "Enabled",
      createdAt: new Date(now - (options.createdDaysAgo ?? 10) * DAY_MS),
      ...(options.description === undefined ? {} : { description: options.description }),
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      ...(options.tags === undefined ? {} : { tags: new Map(Object.entries(options.tags)) }),
    });
    if (options.lastRotationDaysAgo !== undefined) {
      state.rotate(key, "AUTOMATIC", new Date(now - options.lastRotationDaysAgo * DAY_MS));
    }
    if (options.rotation !== undefined && options.rotation !== false) {
      key.rotationEnabled = true;
      key.rotationPeriodDays = options.rotation;
      key.rotationAnchor = new Date(now + 30 * DAY_MS - options.rotation * DAY_MS);
    }
    if (key.state === "PendingDeletion") {
      key.pendingWindowDays = 30;
      key.deletionDate = new Date(now + 30 * DAY_MS);
    }
    if (options.alias !== undefined) this.setAlias(options.alias, key.arn);
    return key;
  }

  /**
   * The key a reference names (id, ARN, alias name or alias ARN), in any Region or account.
   *
   * @throws FakeKmsError `NotFoundException`.
   */
  findKey(reference: string): KmsKey {
    return answered(() => this.stateFor(reference).findKey(reference, "allowAlias"));
  }

  /** Rotates a key's material now; returns the new material id. */
  rotate(reference: string): string {
    const key = this.findKey(reference);
    return this.stateOf(key).rotate(key, "ON_DEMAND", this.clock.now()).id;
  }

  /** The id of a key's current material. */
  currentMaterialId(reference: string): string {
    const key = this.findKey(reference);
    return this.stateOf(key).current(key).id;
  }

  /** Disables a key (as DisableKey does). */
  disable(reference: string): void {
    this.findKey(reference).state = "Disabled";
  }

  /** Points an alias (`alias/...`) at a key, creating the alias if needed. */
  setAlias(name: string, reference: string): void {
    const key = this.findKey(reference);
    const state = this.stateOf(key);
    const now = this.clock.now();
    const alias = state.aliases.get(name);
    if (alias === undefined)
      state.aliases.set(name, { name, targetKeyId: key.id, createdAt: now, updatedAt: now });
    else Object.assign(alias, { targetKeyId: key.id, updatedAt: now });
  }

  /** The id of the key an alias of the fake's account points at, if the alias exists. */
  aliasTarget(name: string): string | undefined {
    return this.state.aliases.get(name)?.targetKeyId;
  }

  /** How many calls of an operation the fake received (since `calls` was last cleared). */
  count(operation: string): number {
    return this.calls.filter((call) => call.op === operation).length;
  }

  /** Injects a failure (see {@link FakeKmsFailure}); failures are tried in the order added. */
  fail(failure: FakeKmsFailure): void {
    this.failures.push({ ...failure });
  }

  /** Removes every injected failure. */
  clearFailures(): void {
    this.failures.length = 0;
  }

  // ---- the data plane (KmsApi) ----

  /** GenerateDataKey. */
  async generateDataKey(
    input: GenerateDataKeyCommandInput,
    _options?: FakeKmsCallOptions,
  ): Promise<Out<GenerateDataKeyCommandOutput>> {
    return this.call("GenerateDataKey", input);
  }

  /** Encrypt. */
  async encrypt(
    input: EncryptCommandInput,
    _options?: FakeKmsCallOptions,
  ): Promise<Out<EncryptCommandOutput>> {
    return this.call("Encrypt", input);
  }

  /** Decrypt. */
  async decrypt(
    input: DecryptCommandInput,
    _options?: FakeKmsCallOptions,
  ): Promise<Out<DecryptCommandOutput>> {
    return this.call("Decrypt", input);
  }

  /** ReEncrypt, also from a key of one account to a key of another account of the Region. */
  async reEncrypt(
    input: ReEncryptCommandInput,
    _options?: FakeKmsCallOptions,
  ): Promise<Out<ReEncryptCommandOutput>> {
    return this.call("ReEncrypt", input);
  }

  // ---- the control plane (JobKmsApi, KmsAdminApi) ----

  /** DescribeKey. */
  async describeKey(
    input: DescribeKeyCommandInput,
    _options?: FakeKmsCallOptions,
  ): Promise<Out<DescribeKeyCommandOutput>> {
    return this.call("DescribeKey", input);
  }

  /** ListAliases. */
  async listAliases(
    input: ListAliasesCommandInput,
    _options?: FakeKmsCallOptions,
  ): Promise<Out<ListAliasesCommandOutput>> {
    return this.call("ListAliases", input);
  }

  /** ListKeys. */
  async listKeys(input: ListKeysCommandInput): Promise<Out<ListKeysCommandOutput>> {
    return this.call("ListKeys", input);
  }

  /** GetKeyRotationStatus. */
  async getKeyRotationStatus(
    input: GetKeyRotationStatusCommandInput,
  ): Promise<Out<GetKeyRotationStatusCommandOutput>> {
    return this.call("GetKeyRotationStatus", input);
  }

  /** ListKeyRotations (HTTP 501 with {@link noListKeyRotations}). */
  async listKeyRotations(input: ListKeyRotationsCommandInput): Promise<Out<ListKeyRotationsCommandOutput>> {
    return this.call("ListKeyRotations", input);
  }

  /** EnableKeyRotation (changes nothing with {@link enableRotationNoop}). */
  async enableKeyRotation(
    input: EnableKeyRotationCommandInput,
  ): Promise<Out<EnableKeyRotationCommandOutput>> {
    return this.call("EnableKeyRotation", input);
  }

  /** RotateKeyOnDemand (held open for {@link rotationDelayReads} reads). */
  async rotateKeyOnDemand(
    input: RotateKeyOnDemandCommandInput,
  ): Promise<Out<RotateKeyOnDemandCommandOutput>> {
    return this.call("RotateKeyOnDemand", input);
  }

  /** GetKeyPolicy. */
  async getKeyPolicy(input: GetKeyPolicyCommandInput): Promise<Out<GetKeyPolicyCommandOutput>> {
    return this.call("GetKeyPolicy", input);
  }

  /** ListGrants. */
  async listGrants(input: ListGrantsCommandInput): Promise<Out<ListGrantsCommandOutput>> {
    return this.call("ListGrants", input);
  }

  /** ListResourceTags. */
  async listResourceTags(input: ListResourceTagsCommandInput): Promise<Out<ListResourceTagsCommandOutput>> {
    return this.call("ListResourceTags", input);
  }

  /** CreateKey (a symmetric key created now; seed other kinds with {@link addKey}). */
  async createKey(input: CreateKeyCommandInput): Promise<Out<CreateKeyCommandOutput>> {
    return this.call("CreateKey", input);
  }

  /** UpdateAlias (then stale DescribeKey reads with {@link staleAliasReads}). */
  async updateAlias(input: UpdateAliasCommandInput): Promise<Out<UpdateAliasCommandOutput>> {
    return this.call("UpdateAlias", input);
  }

  // ---- dispatch ----

  /** Logs the call, applies injected failures and switches, and runs the emulator's operation. */
  protected async call<T>(operation: string, input: object): Promise<T> {
    const request = jsonRequestOf(input);
    const named = namedKey(operation, request);
    this.calls.push({ op: operation, keyId: named });
    this.injected(operation, named);
    if (operation === "ListKeyRotations" && this.noListKeyRotations) {
      throw new FakeKmsError("InternalFailure", "API action 'ListKeyRotations' is not yet implemented", 501);
    }
    if (READS.has(operation)) this.tick();
    if (operation === "EnableKeyRotation" && this.enableRotationNoop) return {} as T;
    if (this.ignoreDryRun) delete request["DryRun"];
    if (LIST_OPERATIONS.has(operation) && this.pageSize !== undefined) {
      const limit = typeof request["Limit"] === "number" ? request["Limit"] : this.pageSize;
      request["Limit"] = Math.min(limit, this.pageSize);
    }
    const stale = this.stale;
    if (operation === "DescribeKey" && stale && stale.readsLeft > 0 && request["KeyId"] === stale.alias) {
      stale.readsLeft -= 1;
      request["KeyId"] = stale.keyId;
    }
    const output = answered(() => this.run(operation, request, input));
    return sdkOutputOf(this.omitted(output)) as T;
  }

  protected run(operation: string, request: JsonObject, input: object): JsonObject {
    for (const state of this.states.values()) state.processDue();
    if (operation === "ReEncrypt") return this.reEncryptAcross(request, input as ReEncryptCommandInput);
    const state =
      operation === "Decrypt" && request["KeyId"] === undefined
        ? this.stateOfBlob((input as DecryptCommandInput).CiphertextBlob)
        : this.stateFor(text(request["KeyId"] ?? request["TargetKeyId"]));
    if (operation === "UpdateAlias") {
      const before = state.aliases.get(text(request["AliasName"]) ?? "")?.targetKeyId;
      const output = dispatch(operation, request, state);
      if (before !== undefined && this.staleAliasReads > 0) {
        this.stale = {
          alias: text(request["AliasName"]) ?? "",
          keyId: before,
          readsLeft: this.staleAliasReads,
        };
      }
      return output;
    }
    if (operation === "RotateKeyOnDemand") {
      state.onDemandRotationDelayMs = this.rotationDelayReads > 0 ? HELD_ROTATION_MS : 0;
      const output = dispatch(operation, request, state);
      if (this.rotationDelayReads > 0) {
        const key = state.findKey(text(request["KeyId"]) ?? "", "keyOnly");
        this.pending = { key, state, readsLeft: this.rotationDelayReads };
      }
      return output;
    }
    return dispatch(operation, request, state);
  }

  /**
   * ReEncrypt where source and destination keys are in different accounts of one Region: the
   * source account decrypts, the destination account encrypts (one account's model holds only
   * its own keys). Otherwise the operation itself.
   */
  protected reEncryptAcross(request: JsonObject, input: ReEncryptCommandInput): JsonObject {
    const source =
      input.SourceKeyId === undefined
        ? this.stateOfBlob(input.CiphertextBlob)
        : this.stateFor(input.SourceKeyId);
    const destination = this.stateFor(input.DestinationKeyId);
    if (source === destination || source.region !== destination.region) {
      return dispatch("ReEncrypt", request, source);
    }
    const opened = dispatch(
      "Decrypt",
      pick(request, {
        CiphertextBlob: "CiphertextBlob",
        SourceEncryptionContext: "EncryptionContext",
        SourceKeyId: "KeyId",
        DryRun: "DryRun",
      }),
      source,
    );
    const sealed = dispatch(
      "Encrypt",
      {
        ...pick(request, {
          DestinationKeyId: "KeyId",
          DestinationEncryptionContext: "EncryptionContext",
          DryRun: "DryRun",
        }),
        Plaintext: opened["Plaintext"],
      },
      destination,
    );
    const blob = Buffer.from(text(sealed["CiphertextBlob"]) ?? "", "base64");
    return {
      CiphertextBlob: sealed["CiphertextBlob"],
      SourceKeyId: opened["KeyId"],
      KeyId: sealed["KeyId"],
      SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      SourceKeyMaterialId: opened["KeyMaterialId"],
      DestinationKeyMaterialId: readCiphertextHeader(blob)?.keyMaterialId,
    };
  }

  /** Throws the first injected failure that matches the call, spending one of its times. */
  protected injected(operation: string, named: string | undefined): void {
    const failure = this.failures.find(
      (f) =>
        (f.times === undefined || f.times > 0) &&
        (f.operation === undefined || f.operation === operation) &&
        (f.keyId === undefined || (named !== undefined && this.sameKey(f.keyId, named))),
    );
    if (failure === undefined) return;
    if (failure.times !== undefined) failure.times -= 1;
    throw new FakeKmsError(failure.error, failure.message, failure.status);
  }

  protected sameKey(a: string, b: string): boolean {
    if (a === b) return true;
    try {
      return this.findKey(a) === this.findKey(b);
    } catch {
      return false;
    }
  }

  /** One read of a key's state: the held on-demand rotation completes when its reads are spent. */
  protected tick(): void {
    const pending = this.pending;
    if (pending === undefined) return;
    if (pending.readsLeft-- > 0) return;
    pending.state.completeOnDemandRotation(pending.key, this.clock.now());
    this.pending = undefined;
  }

  protected omitted(output: JsonObject): JsonObject {
    if (!this.omitMaterialIds) return output;
    const rest = { ...output };
    delete rest["KeyMaterialId"];
    delete rest["SourceKeyMaterialId"];
    delete rest["DestinationKeyMaterialId"];
    const metadata = rest["KeyMetadata"];
    if (typeof metadata === "object" && metadata !== null) {
      const { CurrentKeyMaterialId: _omitted, ...kept } = metadata as JsonObject;
      rest["KeyMetadata"] = kept;
    }
    return rest;
  }

  /** The account model of a Region and account, made on first use. */
  protected stateAt(region: string, accountId: string): KmsState {
    const id = `${region}/${accountId}`;
    let state = this.states.get(id);
    if (state === undefined) {
      state = new KmsState({ region, accountId, clock: this.clock });
      this.states.set(id, state);
    }
    return state;
  }

  /** The model a key reference belongs to: an ARN's Region and account, else the fake's own. */
  protected stateFor(reference: string | undefined): KmsState {
    const arn = reference === undefined ? null : ARN.exec(reference);
    if (arn === null) return this.state;
    return this.states.get(`${arn[1]}/${arn[2]}`) ?? this.state;
  }

  /** The model holding the key a blob names, else the fake's own (which refuses the blob). */
  protected stateOfBlob(blob: Uint8Array | undefined): KmsState {
    const header = blob === undefined ? undefined : readCiphertextHeader(blob);
    if (header === undefined) return this.state;
    for (const state of this.states.values()) if (state.keys.has(header.keyId)) return state;
    return this.state;
  }

  protected stateOf(key: KmsKey): KmsState {
    for (const state of this.states.values()) if (state.keys.get(key.id) === key) return state;
    return this.state;
  }
}

function dispatch(operation: string, request: JsonObject, state: KmsState): JsonObject {
  const run = KMS_OPERATIONS.get(operation);
  if (run === undefined)
    throw new KmsError("UnknownOperationException", `Operation ${operation} is not supported`);
  return run(request, state);
}

/** Runs `fn`, turning the model's protocol errors into the errors the SDK throws. */
function answered<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof KmsError) {
      throw new FakeKmsError(error.code, error.message, error.status);
    }
    throw error;
  }
}

function namedKey(operation: string, request: JsonObject): string | undefined {
  if (operation === "ReEncrypt") return text(request["DestinationKeyId"]);
  if (ALIAS_OPERATIONS.has(operation)) return text(request["AliasName"]);
  return text(request["KeyId"]);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The members of `request` named in `names`, renamed. */
function pick(request: JsonObject, names: Record<string, string>): JsonObject {
  const out: JsonObject = {};
  for (const [from, to] of Object.entries(names)) if (request[from] !== undefined) out[to] = request[from];
  return out;
}

export type { KeyKind, KeyMaterial, KeyState, KmsKey } from "./emulator/kms/state.js";
