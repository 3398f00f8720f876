/**
 * Every item of a KMS list operation (`Marker` in, `Truncated` / `NextMarker` out), page by page.
 *
 * The AWS SDK's KMS paginators (`paginateListAliases`, `paginateListKeys`, …) cannot serve here:
 * they accept only a `KMSClient` instance (the SDK's `createPaginator` checks `instanceof`) and
 * send through it, while the job and the key tooling reach KMS through small interfaces
 * (`JobKmsApi`, `KmsAdminApi`) — the seam unit tests fake, and the one that rate-limits, retries
 * and reports every call. This is the one loop over KMS markers in the package.
 */

/** The paging fields of every KMS list answer. */
export interface KmsListPage {
  readonly Truncated?: boolean | undefined;
  readonly NextMarker?: string | undefined;
}

/**
 * Calls `fetch` with each marker until KMS says the list is complete, yielding each page's
 * items as they come (a caller that stops early asks for no further page). A page that claims
 * to be truncated without a marker, or repeats a marker, ends the listing instead of looping.
 *
 * @example
 * ```ts
 * for await (const alias of kmsItems((m) => kms.listAliases({ Limit: 100, ...m }), (r) => r.Aliases))
 *   if (alias.AliasName === "alias/app") return alias.TargetKeyId;
 * ```
 */
export async function* kmsItems<P extends KmsListPage, T>(
  fetch: (marker: { Marker?: string }) => Promise<P>,
  itemsOf: (page: P) => readonly T[] | undefined,
): AsyncGenerator<T, void, undefined> {
  const seen = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const page = await fetch(marker === undefined ? {} : { Marker: marker });
    yield* itemsOf(page) ?? [];
    const next = page.Truncated ? page.NextMarker : undefined;
    if (!next || seen.has(next)) return;
    seen.add(next);
    marker = next;
  }
}

/**
 * Every item of a KMS list operation, all pages read (see {@link kmsItems}).
 *
 * @example
 * ```ts
 * const keys = await allKmsItems((m) => kms.listKeys({ Limit: 1000, ...m }), (r) => r.Keys);
 * ```
 */
export async function allKmsItems<P extends KmsListPage, T>(
  fetch: (marker: { Marker?: string }) => Promise<P>,
  itemsOf: (page: P) => readonly T[] | undefined,
): Promise<T[]> {
  const out: T[] = [];
  for await (const item of kmsItems(fetch, itemsOf)) out.push(item);
  return out;
}
