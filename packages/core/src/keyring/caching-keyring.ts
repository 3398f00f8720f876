/**
 * A data-key cache in front of a keyring, for high rates of small messages where one KMS call per
 * message would cost more than the work itself.
 *
 * Encrypt: a data key (and its wrapped entries) is reused for messages with the same encryption
 * context until it reaches `maxAgeMs`, `maxMessages` or `maxBytes`. Each message still gets its
 * own content key (HKDF with a fresh random message id), so reuse never repeats a GCM key/nonce
 * pair; what reuse costs is blast radius — one leaked data key exposes every message that shared
 * it — hence the limits. Decrypt: unwrapped data keys are cached by (entries, context), and so
 * are refusals (no entry could be unwrapped) for the same max age: a hostile message decrypted
 * again and again costs its refused KMS calls once per max age, not once per attempt.
 *
 * Single-flight: concurrent misses for the same cache key share one keyring call, so N parallel
 * requests make one KMS call, not N. A failure is reported to the callers that waited on that call
 * and never cached. Cached keys are copies; the inner keyring's key is zeroed once copied.
 */
import { createHash } from "node:crypto";
import { InvalidArgumentError, NoMatchingKeyError } from "../errors.js";
import { integerOption } from "../integer-option.js";
import { DEFAULT_LIMITS } from "../format/constants.js";
import {
  parsedContextBytesOf,
  serializeEncryptionContext,
  type EncryptionContext,
} from "../format/encryption-context.js";
import {
  parsedSectionOf,
  serializeEntries,
  withRememberedSection,
  type WrappedKeyEntry,
} from "../format/entries.js";
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from "./types.js";

/** Options of {@link CachingKeyring}. */
export interface CachingKeyringOptions {
  /** The keyring that makes and unwraps data keys on a miss. */
  readonly keyring: Keyring;
  /** Longest a data key is used or kept, in ms (an integer from 1). Required: there is no safe default. */
  readonly maxAgeMs: number;
  /** Most messages encrypted under one cached data key. @default 1000 */
  readonly maxMessages?: number;
  /**
   * Most plaintext bytes under one cached data key; streams (size unknown) bypass the cache when
   * set. An integer from 1; leave it out for no byte budget (`Infinity` and `NaN` are refused).
   * @default undefined (no byte budget)
   */
  readonly maxBytes?: number;
  /** Most cached data keys (encrypt and decrypt each); the least recently used is evicted. @default 100 */
  readonly capacity?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

interface EncryptEntry {
  readonly dataKey: Uint8Array;
  readonly entries: readonly WrappedKeyEntry[];
  readonly created: number;
  messages: number;
  bytes: number;
}

interface DecryptEntry {
  readonly dataKey: Uint8Array;
  readonly created: number;
}

/** Entries the inner keyring refused: `cause` is what its NoMatchingKeyError carried, if any. */
interface RefusedEntry {
  readonly created: number;
  readonly cause: unknown;
}

/**
 * Caches data keys of another keyring.
 *
 * @example
 * ```ts
 * const keyring = new CachingKeyring({ keyring: kmsKeyring, maxAgeMs: 60_000, maxMessages: 500 });
 * ```
 */
export class CachingKeyring implements Keyring {
  private readonly inner: Keyring;
  private readonly maxAgeMs: number;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly encryptCache = new Map<string, EncryptEntry>();
  private readonly decryptCache = new Map<string, DecryptEntry>();
  private readonly refusedCache = new Map<string, RefusedEntry>();
  private readonly inflightWrap = new Map<string, Promise<void>>();
  private readonly inflightUnwrap = new Map<string, Promise<boolean>>();

  constructor(options: CachingKeyringOptions) {
    // Every limit is an integer from 1 up, or absent: NaN or Infinity would switch a limit off
    // (a NaN byte budget made every wrap evict and refill for ever).
    const maxAgeMs = integerOption("maxAgeMs", options.maxAgeMs, undefined);
    if (maxAgeMs === undefined)
      throw new InvalidArgumentError("maxAgeMs is required: there is no safe default", {
        option: "maxAgeMs",
      });
    if (options.now !== undefined && typeof options.now !== "function")
      throw new InvalidArgumentError("now must be a function", { option: "now" });
    this.inner = options.keyring;
    this.maxAgeMs = maxAgeMs;
    this.maxMessages = integerOption("maxMessages", options.maxMessages, 1000);
    this.maxBytes = integerOption("maxBytes", options.maxBytes, Infinity);
    this.capacity = integerOption("capacity", options.capacity, 100);
    this.now = options.now ?? Date.now;
  }

  async wrap(request: WrapRequest): Promise<WrapResult> {
    const length = request.plaintextLength;
    // A caller-supplied data key, or a stream of unknown size under a byte budget, bypasses the cache.
    if (request.dataKey || (length === undefined && Number.isFinite(this.maxBytes)))
      return this.inner.wrap(request);
    const size = length ?? 0;
    if (size > this.maxBytes) return this.inner.wrap(request);
    const id = contextId(request.encryptionContext);
    for (;;) {
      const hit = this.encryptCache.get(id);
      if (hit && this.usable(hit, size)) {
        hit.messages++;
        hit.bytes += size;
        touch(this.encryptCache, id, hit);
        // The caller zeroes the key it gets after use: hand out a copy.
        return { dataKey: Uint8Array.from(hit.dataKey), entries: hit.entries };
      }
      if (hit) this.evict(this.encryptCache, id);
      let flight = this.inflightWrap.get(id);
      if (!flight) {
        flight = this.fillWrap(id, request.encryptionContext).finally(() => this.inflightWrap.delete(id));
        this.inflightWrap.set(id, flight);
      }
      // Loop to take the fresh key from the cache: the others that waited may have used it up.
      await raceSignal(flight, request.signal);
    }
  }

  async unwrap(entries: readonly WrappedKeyEntry[], request: UnwrapRequest): Promise<Uint8Array | undefined> {
    const id = entriesId(entries, request.encryptionContext);
    for (;;) {
      const hit = this.decryptCache.get(id);
      if (hit && this.now() - hit.created < this.maxAgeMs) {
        touch(this.decryptCache, id, hit);
        return new Uint8Array(hit.dataKey);
      }
      if (hit) this.evict(this.decryptCache, id);
      const refused = this.refusedCache.get(id);
      if (refused && this.now() - refused.created < this.maxAgeMs) {
        // The same entries were refused within the max age: no KMS call is repeated for them.
        if (refused.cause === undefined) return undefined;
        throw new NoMatchingKeyError({ cause: refused.cause });
      }
      if (refused) this.refusedCache.delete(id);
      let flight = this.inflightUnwrap.get(id);
      if (!flight) {
        flight = this.fillUnwrap(id, entries, request.encryptionContext).finally(() =>
          this.inflightUnwrap.delete(id),
        );
        this.inflightUnwrap.set(id, flight);
      }
      if (!(await raceSignal(flight, request.signal))) return undefined;
    }
  }

  /** Drops and zeroes every cached key, and forgets the refused entries. */
  clear(): void {
    for (const id of [...this.encryptCache.keys()]) this.evict(this.encryptCache, id);
    for (const id of [...this.decryptCache.keys()]) this.evict(this.decryptCache, id);
    this.refusedCache.clear();
  }

  private usable(e: EncryptEntry, size: number): boolean {
    return (
      this.now() - e.created < this.maxAgeMs &&
      e.messages < this.maxMessages &&
      e.bytes + size <= this.maxBytes
    );
  }

  /**
   * One keyring call shared by every concurrent miss. It runs without any caller's AbortSignal, so
   * one caller giving up does not fail the others; each caller races its own signal instead. A
   * failure is shared by the callers waiting on it and never cached.
   */
  private async fillWrap(id: string, encryptionContext: EncryptionContext): Promise<void> {
    const r = await this.inner.wrap({ encryptionContext });
    this.insert(this.encryptCache, id, {
      dataKey: Uint8Array.from(r.dataKey),
      // Serialized once here, not once per message: every message copies the remembered bytes.
      entries: withRememberedSection(r.entries, DEFAULT_LIMITS),
      created: this.now(),
      messages: 0,
      bytes: 0,
    });
    r.dataKey.fill(0);
  }

  /**
   * Like {@link fillWrap}; resolves to whether a key was found (and cached). A refusal (no key,
   * or a NoMatchingKeyError) is remembered for the max age, so a hostile message decrypted again
   * and again costs its refused KMS calls once; a KMS failure (throttling, an outage) is not.
   */
  private async fillUnwrap(
    id: string,
    entries: readonly WrappedKeyEntry[],
    encryptionContext: EncryptionContext,
  ): Promise<boolean> {
    let key;
    try {
      key = await this.inner.unwrap(entries, { encryptionContext });
    } catch (e) {
      if (e instanceof NoMatchingKeyError) this.refuse(id, e.cause ?? e);
      throw e;
    }
    if (!key) {
      this.refuse(id, undefined);
      return false;
    }
    this.insert(this.decryptCache, id, { dataKey: Uint8Array.from(key), created: this.now() });
    key.fill(0);
    return true;
  }

  private insert<T extends { dataKey: Uint8Array }>(map: Map<string, T>, id: string, value: T): void {
    this.evict(map, id);
    map.set(id, value);
    trim(map, this.capacity, (oldest) => this.evict(map, oldest));
  }

  private refuse(id: string, cause: unknown): void {
    touch(this.refusedCache, id, { created: this.now(), cause });
    trim(this.refusedCache, this.capacity, (oldest) => this.refusedCache.delete(oldest));
  }

  private evict<T extends { dataKey: Uint8Array }>(map: Map<string, T>, id: string): void {
    const e = map.get(id);
    if (!e) return;
    e.dataKey.fill(0);
    map.delete(id);
  }
}

/** Waits for `p`, or rejects with the signal's reason as soon as the signal aborts. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e as Error);
      },
    );
  });
}

/** Drops the least recently used entries past `capacity`. */
function trim<T>(map: Map<string, T>, capacity: number, drop: (id: string) => void): void {
  while (map.size > capacity) drop(map.keys().next().value as string);
}

function touch<T>(map: Map<string, T>, id: string, value: T): void {
  map.delete(id);
  map.set(id, value);
}

function contextId(ctx: EncryptionContext): string {
  return Buffer.from(serializeEncryptionContext(ctx, DEFAULT_LIMITS.maxContextBytes)).toString("base64");
}

/**
 * Sections and contexts up to this many bytes together are their own decrypt-cache key (as a
 * latin1 string); larger ones are keyed by their SHA-256, so a cached key never holds more than a
 * few hundred bytes of id. 1 KiB covers a KMS entry or two with a typical context.
 */
const RAW_ID_MAX = 1024;

/**
 * The decrypt cache's key: the wrapped-key section and the context. A parsed message's entries
 * and context carry the bytes they were read from, used as they are; only entries or a context
 * built in memory are serialized for it. The section starts with its own length, so the two
 * cannot run into each other; a small pair is its own key (a string of its bytes, no digest to
 * compute), a large one its SHA-256 (marked "#", which no small key starts with: they all start
 * with the section length's high byte, 0).
 */
function entriesId(entries: readonly WrappedKeyEntry[], ctx: EncryptionContext): string {
  const section =
    parsedSectionOf(entries) ??
    serializeEntries(entries, Object.assign({}, DEFAULT_LIMITS, { maxEntries: Math.max(entries.length, 1) }));
  const context =
    parsedContextBytesOf(ctx) ?? serializeEncryptionContext(ctx, DEFAULT_LIMITS.maxContextBytes);
  if (section.length + context.length <= RAW_ID_MAX) return latin1(section) + latin1(context);
  return "#" + createHash("sha256").update(section).update(context).digest("base64");
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}
