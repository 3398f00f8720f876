/**
 * Several keyrings as one: the first makes the data key, every one wraps it; on decrypt, the
 * first keyring that unwraps an entry wins. Use it to add an offline raw-AES recovery key next to
 * KMS, or keys in several Regions through separate clients.
 */
import { InvalidArgumentError, NoMatchingKeyError } from "../errors.js";
import type { WrappedKeyEntry } from "../format/entries.js";
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult } from "./types.js";
import { registerKeyringChildren } from "./esdk-raw-keys.js";

/**
 * Combines keyrings.
 *
 * @example
 * ```ts
 * const keyring = new MultiKeyring([kmsEu, kmsUs, offlineRecovery]);
 * ```
 */
export class MultiKeyring implements Keyring {
  private readonly keyrings: readonly Keyring[];

  constructor(keyrings: readonly Keyring[]) {
    if (keyrings.length === 0) throw new InvalidArgumentError("a multi-keyring needs at least one keyring");
    this.keyrings = keyrings;
    registerKeyringChildren(this, keyrings);
  }

  async wrap(request: WrapRequest): Promise<WrapResult> {
    const [first, ...rest] = this.keyrings as [Keyring, ...Keyring[]];
    const head = await first.wrap(request);
    const entries: WrappedKeyEntry[] = [...head.entries];
    try {
      for (const k of rest) {
        const r = await k.wrap(Object.assign({}, request, { dataKey: head.dataKey }));
        entries.push(...r.entries);
      }
    } catch (e) {
      // A data key made here must not outlive a failed wrap; one the caller passed in is theirs.
      if (!request.dataKey) head.dataKey.fill(0);
      throw e;
    }
    return { dataKey: head.dataKey, entries };
  }

  async unwrap(entries: readonly WrappedKeyEntry[], request: UnwrapRequest): Promise<Uint8Array | undefined> {
    // One record of the entries sent to KMS for the whole message: a second KMS keyring does not
    // send an entry the first one had refused.
    const shared = Object.assign({}, request, { triedEntries: request.triedEntries ?? new Set<number>() });
    let failure: unknown;
    const refusals: unknown[] = [];
    for (const k of this.keyrings) {
      try {
        const key = await k.unwrap(entries, shared);
        if (key) return key;
      } catch (e) {
        // A refusal lets the next keyring try; a real failure is what the caller hears if none works.
        if (e instanceof NoMatchingKeyError) refusals.push(...refusalsOf(e));
        else failure ??= e;
      }
    }
    if (failure) throw failure;
    if (refusals.length > 0)
      throw new NoMatchingKeyError({
        cause: new AggregateError(refusals, "every keyring's entries were refused"),
      });
    return undefined;
  }
}

/** The refusals a NoMatchingKeyError carries (its AggregateError cause's errors), or the error itself. */
function refusalsOf(e: NoMatchingKeyError): unknown[] {
  return e.cause instanceof AggregateError ? e.cause.errors : [e];
}
