/** The shape of a frozen vector file (see SPEC.md, "Test vectors"). */

/** One data key as the vector's KMS knows it: Decrypt of this blob, under this context, gives it. */
export interface KmsRecord {
  keyArn: string;
  keyMaterialId?: string;
  encryptionContext: Record<string, string>;
  ciphertextBlobBase64: string;
  plaintextHex: string;
}

export interface Vector {
  description: string;
  outcome: string;
  keyring:
    | { type: "raw-aes"; name: string; keyHex: string }
    | { type: "aws-kms"; keyId?: string; allowedKeyArns?: string[] };
  /** aws-kms vectors: what KMS answers (a table, so the vector needs no real KMS) and its aliases. */
  kms?: { aliases: Record<string, string>; records: KmsRecord[] };
  /** aws-kms vectors: the entries `inspect` must report. */
  entries?: { keyArn: string; requestedKeyId: string; keyMaterialId?: string }[];
  /** A rewrapped message: its header and body bytes are exactly those of this vector's. */
  rewrapOf?: string;
  requiredEncryptionContext?: Record<string, string>;
  ciphertextBase64: string;
  plaintextHex?: string;
}
