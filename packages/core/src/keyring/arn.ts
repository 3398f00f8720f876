/** Parsing of KMS key identifiers: key ARNs, alias ARNs, alias names and bare key ids. */

/** The parts of a KMS ARN. */
export interface KmsArn {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  /** `key` or `alias`. */
  readonly resourceType: "key" | "alias";
  /** Key id (UUID or `mrk-…`) or alias name (without `alias/`). */
  readonly resourceId: string;
}

const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/**
 * Parses a KMS key or alias ARN; `undefined` if it is not one.
 *
 * @example
 * ```ts
 * parseKmsArn("arn:aws:kms:us-east-1:111122223333:key/1234abcd-…")?.accountId; // "111122223333"
 * ```
 */
export function parseKmsArn(value: string): KmsArn | undefined {
  const m = ARN.exec(value);
  if (!m) return undefined;
  const [, partition, region, accountId, resourceType, resourceId] = m;
  if (!partition || !region || !accountId || !resourceId) return undefined;
  return { partition, region, accountId, resourceType: resourceType as "key" | "alias", resourceId };
}

/** True for a key ARN (not an alias ARN). */
export function isKeyArn(value: string): boolean {
  return parseKmsArn(value)?.resourceType === "key";
}

/** True for `alias/name` or an alias ARN. */
export function isAlias(value: string): boolean {
  return value.startsWith("alias/") || parseKmsArn(value)?.resourceType === "alias";
}
