/**
 * The signature of suite 2: ECDSA P-384 with SHA-384 over a label, the header (tag included) and
 * the body — not over the wrapped-key section, so a rewrap keeps it valid. One key pair per
 * message: the private key signs that message and is dropped; the public key travels in the
 * encryption context (so the header tag and every KMS entry's context bind it). The signature is
 * 96 bytes, `r || s` (IEEE P1363), so a reader knows its length without parsing it.
 */
import {
  createPublicKey,
  createSign,
  createVerify,
  ECDH,
  generateKeyPairSync,
  type KeyObject,
  type Sign,
  type Verify,
} from "node:crypto";
import { SIGNATURE_LENGTH } from "../format/constants.js";

const CURVE = "secp384r1";
const LABEL = Buffer.from("RKEY v1 suite 2 signature\0", "ascii");

/** A fresh signing key and its public key as the context carries it (base64 compressed point). */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: string;
}

/** Makes the key pair of one message. */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: CURVE });
  const jwk = publicKey.export({ format: "jwk" });
  const uncompressed = Buffer.concat([
    Buffer.of(4),
    Buffer.from(jwk.x as string, "base64url"),
    Buffer.from(jwk.y as string, "base64url"),
  ]);
  const compressed = ECDH.convertKey(uncompressed, CURVE, undefined, undefined, "compressed") as Buffer;
  return { privateKey, publicKey: compressed.toString("base64") };
}

/** A signature being computed over a message's header and body, fed in pieces. */
export class MessageSigner {
  private readonly s: Sign = createSign("sha384");

  constructor(private readonly key: KeyObject) {
    this.s.update(LABEL);
  }

  update(bytes: Uint8Array): void {
    this.s.update(bytes);
  }

  /** The 96-byte signature. */
  finish(): Buffer {
    return this.s.sign({ key: this.key, dsaEncoding: "ieee-p1363" });
  }
}

/** A signature being checked over a message's header and body, fed in pieces. */
export class MessageVerifier {
  private readonly v: Verify = createVerify("sha384");

  constructor(private readonly publicKey: string) {
    this.v.update(LABEL);
  }

  update(bytes: Uint8Array): void {
    this.v.update(bytes);
  }

  /** True when `signature` is this message's signature under the header's public key. */
  finish(signature: Uint8Array): boolean {
    if (signature.length !== SIGNATURE_LENGTH) return false;
    try {
      const point = ECDH.convertKey(
        Buffer.from(this.publicKey, "base64"),
        CURVE,
        undefined,
        undefined,
        "uncompressed",
      ) as Buffer;
      const key = createPublicKey({
        key: {
          kty: "EC",
          crv: "P-384",
          x: point.subarray(1, 49).toString("base64url"),
          y: point.subarray(49, 97).toString("base64url"),
        },
        format: "jwk",
      });
      return this.v.verify({ key, dsaEncoding: "ieee-p1363" }, signature);
    } catch {
      // Not a point on the curve: no signature verifies under it.
      return false;
    }
  }
}
