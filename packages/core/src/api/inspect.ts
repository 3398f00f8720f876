/**
 * `inspect` / `inspectStream`: the header and wrapped keys of a message, without any KMS call and
 * without decrypting. Nothing here is verified: the header tag and the commitment can only be
 * checked with the data key. Use it to classify stored objects (which key, which material).
 */
import type { Readable } from "node:stream";
import { FormatError } from "../errors.js";
import { HEADER_FIXED, resolveLimits, type FormatLimits } from "../format/constants.js";
import type { WrappedKeyEntry } from "../format/entries.js";
import type { EncryptionContext } from "../format/encryption-context.js";
import { parseMessagePrefix, type MessagePrefix } from "../format/message.js";
import { decodeKmsEntry, isKmsEntry } from "../keyring/kms-entry.js";

/** A wrapped key as `inspect` shows it. */
export interface InspectedEntry {
  /** Entry type: `aws-kms`, `raw-aes`, or a type this version does not know. */
  readonly type: string;
  /** `aws-kms`: the wrapping key's ARN. */
  readonly keyArn?: string;
  /** `aws-kms`: the key id or alias the writer named. */
  readonly requestedKeyId?: string;
  /** `aws-kms`: the key material that wrapped the data key, when KMS reported it. */
  readonly keyMaterialId?: string;
  /** `raw-aes`: the wrapping key's name. */
  readonly keyName?: string;
  /** Size of the wrapped key. */
  readonly wrappedKeyBytes: number;
}

/** What {@link inspect} reports. */
export interface Inspection {
  readonly formatVersion: number;
  readonly algorithm: "AES-256-GCM/HKDF-SHA512/commit" | "AES-256-GCM/HKDF-SHA512/commit/ECDSA-P384";
  /** True for a signed message (suite 2); its public key is in the encryption context. */
  readonly signed: boolean;
  readonly messageId: string;
  readonly frameLength: number;
  readonly encryptionContext: EncryptionContext;
  readonly entries: readonly InspectedEntry[];
  /** Header length: where the wrapped-key section starts. */
  readonly headerLength: number;
  /** Where the body (first frame) starts. */
  readonly bodyOffset: number;
  /** The parsed prefix, for programs that rewrap. */
  readonly prefix: MessagePrefix;
}

/**
 * Reads the header and wrapped keys of a message (the bytes may stop anywhere after the
 * wrapped-key section).
 *
 * @example
 * ```ts
 * const { entries } = inspect(await readFile("report.pdf.rkey"));
 * console.log(entries[0]?.keyArn, entries[0]?.keyMaterialId);
 * ```
 */
export function inspect(bytes: Uint8Array, limits?: Partial<FormatLimits>): Inspection {
  const parsed = parseMessagePrefix(bytes, resolveLimits(limits));
  if (parsed.status === "need")
    throw new FormatError(`message is truncated: its header needs ${parsed.minBytes} bytes`);
  return describe(parsed.value);
}

/**
 * Reads just enough of a stream to inspect it, then stops reading and destroys the stream (a
 * multi-GiB object is never read past its header).
 *
 * @example
 * ```ts
 * const info = await inspectStream(createReadStream("big.rkey"));
 * ```
 */
export async function inspectStream(stream: Readable, limits?: Partial<FormatLimits>): Promise<Inspection> {
  const l = resolveLimits(limits);
  const chunks: Buffer[] = [];
  let length = 0;
  let need: number = HEADER_FIXED.context;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    // Parse only when the parser can make progress, not on every (possibly tiny) chunk.
    if (length < need) continue;
    const parsed = parseMessagePrefix(Buffer.concat(chunks, length), l);
    if (parsed.status === "ok") return describe(parsed.value);
    need = parsed.minBytes;
  }
  throw new FormatError("stream ended before the message header was complete");
}

/** Describes one entry for people and reports. */
export function describeEntry(e: WrappedKeyEntry): InspectedEntry {
  if (isKmsEntry(e)) {
    try {
      const k = decodeKmsEntry(e);
      return {
        type: e.type,
        keyArn: k.keyArn,
        requestedKeyId: k.requestedKeyId,
        ...(k.keyMaterialId ? { keyMaterialId: k.keyMaterialId } : {}),
        wrappedKeyBytes: e.body.length,
      };
    } catch {
      return { type: e.type, wrappedKeyBytes: e.body.length };
    }
  }
  if (e.type === "raw-aes" && e.args[0] !== undefined)
    return { type: e.type, keyName: e.args[0], wrappedKeyBytes: e.body.length };
  return { type: e.type, wrappedKeyBytes: e.body.length };
}

function describe(prefix: MessagePrefix): Inspection {
  const h = prefix.header;
  return {
    formatVersion: h.version,
    algorithm:
      h.signingKey === undefined
        ? "AES-256-GCM/HKDF-SHA512/commit"
        : "AES-256-GCM/HKDF-SHA512/commit/ECDSA-P384",
    signed: h.signingKey !== undefined,
    messageId: Buffer.from(h.messageId).toString("hex"),
    frameLength: h.frameLength,
    encryptionContext: h.encryptionContext,
    entries: prefix.entries.map(describeEntry),
    headerLength: h.headerLength,
    bodyOffset: prefix.bodyOffset,
    prefix,
  };
}
