/** Reads every page of a KMS list operation (`Marker` in, `Truncated` / `NextMarker` out). */

/** One page as KMS list operations answer it. */
export interface KmsPage<T> {
  readonly items: readonly T[];
  readonly truncated?: boolean | undefined;
  readonly nextMarker?: string | undefined;
}

/**
 * Calls `fetch` with each marker until KMS says the list is complete, and returns every item.
 * A page that claims to be truncated without a marker ends the listing instead of looping.
 *
 * @example
 * ```ts
 * const keys = await allPages(async (Marker) => {
 *   const r = await kms.listKeys({ ...(Marker ? { Marker } : {}) });
 *   return { items: r.Keys ?? [], truncated: r.Truncated, nextMarker: r.NextMarker };
 * });
 * ```
 */
export async function allPages<T>(fetch: (marker: string | undefined) => Promise<KmsPage<T>>): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const page = await fetch(marker);
    out.push(...page.items);
    if (!page.truncated || !page.nextMarker || seen.has(page.nextMarker)) return out;
    seen.add(page.nextMarker);
    marker = page.nextMarker;
  }
}

/** `{ Marker }` when there is one, for spreading into a request. */
export function markerInput(marker: string | undefined): { Marker?: string } {
  return marker === undefined ? {} : { Marker: marker };
}
