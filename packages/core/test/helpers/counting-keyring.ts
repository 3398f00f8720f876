/** A keyring wrapper that counts calls and keeps copies of the data keys it handed out. */
import type { Keyring, UnwrapRequest, WrapRequest, WrapResult, WrappedKeyEntry } from "@rekey/core";

export class CountingKeyring implements Keyring {
  wraps = 0;
  unwraps = 0;
  readonly dataKeys: Buffer[] = [];

  constructor(private readonly inner: Keyring) {}

  async wrap(request: WrapRequest): Promise<WrapResult> {
    this.wraps++;
    const r = await this.inner.wrap(request);
    this.dataKeys.push(Buffer.from(r.dataKey));
    return r;
  }

  unwrap(entries: readonly WrappedKeyEntry[], request: UnwrapRequest): Promise<Uint8Array | undefined> {
    this.unwraps++;
    return this.inner.unwrap(entries, request);
  }
}
