/**
 * Web streams (`TransformStream`) over the Node Transforms, for runtimes and frameworks that speak
 * WHATWG streams (fetch bodies, Response). Same memory bounds and failure behaviour.
 */
import { Duplex } from "node:stream";
import { encryptStream } from "./encrypt-stream.js";
import { decryptStream } from "./decrypt-stream.js";
import type { DecryptOptions, EncryptOptions } from "./options.js";

/** A readable/writable pair, as `TransformStream` exposes it. */
export interface WebTransform {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * Encrypting web stream pair.
 *
 * @example
 * ```ts
 * const body = file.stream().pipeThrough(encryptWebStream({ keyring }));
 * ```
 */
export function encryptWebStream(options: EncryptOptions): WebTransform {
  return Duplex.toWeb(encryptStream(options)) as unknown as WebTransform;
}

/**
 * Decrypting web stream pair.
 *
 * @example
 * ```ts
 * const plain = (await fetch(url)).body!.pipeThrough(decryptWebStream({ keyring }));
 * ```
 */
export function decryptWebStream(options: DecryptOptions): WebTransform {
  return Duplex.toWeb(decryptStream(options)) as unknown as WebTransform;
}
