/**
 * Every read of an S3 object after its plan goes through here. A read that feeds a write is
 * pinned to the planned version (`VersionId` when the plan names one, else `If-Match` on the
 * planned ETag), and the answer is compared with the plan before its bytes are used: its ETag
 * (and version id) must be the planned one, and where it covers the header, the header bytes
 * must be the planned ones. A store that ignores `If-Match` on reads answers with whatever is
 * there now; the comparison turns that into a `conflict`, never a write — on every store.
 */
import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { JobError } from "../../errors.js";
import type { S3ObjectRef } from "../../model/object-ref.js";
import type { ObjectPlan } from "../../model/object-plan.js";
import { sameBytes } from "../../support/bytes.js";
import { totalSizeOf } from "./content-range.js";
import { asObjectError, getObjectBytes, s3Send, type S3Runtime } from "./s3-runtime.js";

/** What a pinned read compares: the plan's version token, size and header bytes. */
export type PlannedVersion = Pick<ObjectPlan, "etag" | "versionId" | "size" | "headBytes">;

/**
 * Normalises an entity tag for comparison: quotes and a weak prefix removed.
 *
 * @example
 * ```ts
 * sameEtag('"abc"', "abc"); // true
 * ```
 */
export function sameEtag(a: string | undefined, b: string | undefined): boolean {
  const norm = (t: string): string => t.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  return a !== undefined && b !== undefined && norm(a) === norm(b);
}

/**
 * Throws `ERR_JOB_CONFLICT` unless an answer is of the planned version: same ETag, same version
 * id when the plan names one, same total size when the answer tells it.
 *
 * @example
 * ```ts
 * checkAnswer(output, plan, "read object");
 * ```
 */
export function checkAnswer(
  output: Pick<GetObjectCommandOutput, "ETag" | "VersionId" | "ContentRange" | "ContentLength">,
  planned: PlannedVersion,
  step: string,
  range = false,
): void {
  if (planned.etag !== undefined && !sameEtag(output.ETag, planned.etag))
    throw new JobError(
      "ERR_JOB_CONFLICT",
      `${step}: the object changed since it was planned (ETag ${output.ETag ?? "(none)"}, planned ${planned.etag ?? "(none)"})`,
    );
  if (
    planned.versionId !== undefined &&
    output.VersionId !== undefined &&
    output.VersionId !== planned.versionId
  )
    throw new JobError(
      "ERR_JOB_CONFLICT",
      `${step}: the store answered another version than the planned one`,
    );
  const total = range ? totalSizeOf(output.ContentRange) : output.ContentLength;
  if (total !== undefined && total !== planned.size)
    throw new JobError("ERR_JOB_CONFLICT", `${step}: the object changed size since it was planned`);
}

/**
 * Throws `ERR_JOB_CONFLICT` unless `bytes` (the object's first bytes) start with the planned
 * header bytes.
 *
 * @example
 * ```ts
 * checkHead(firstBytes, plan, "read object");
 * ```
 */
export function checkHead(bytes: Uint8Array, planned: PlannedVersion, step: string): void {
  const head = planned.headBytes;
  if (!head) return;
  if (bytes.length < head.length || !sameBytes(bytes.subarray(0, head.length), head))
    throw new JobError("ERR_JOB_CONFLICT", `${step}: the object's header changed since it was planned`);
}

function selector(ref: S3ObjectRef, planned: PlannedVersion): { VersionId?: string; IfMatch?: string } {
  const s: { VersionId?: string; IfMatch?: string } = {};
  if (ref.versionId) s.VersionId = ref.versionId;
  if (planned.etag) s.IfMatch = planned.etag;
  return s;
}

/**
 * Reads bytes `[0, end)` of the planned version (the whole object when `end` is omitted) and
 * checks them: the answer's ETag, version and size, and the header bytes.
 *
 * @throws JobError `ERR_JOB_CONFLICT` when the object is not the planned version.
 * @example
 * ```ts
 * const whole = await readPinned(rt, ref, plan);              // a small object, whole
 * const first = await readPinned(rt, ref, plan, 5 * 1024 ** 2); // header + first body bytes
 * ```
 */
export async function readPinned(
  rt: S3Runtime,
  ref: S3ObjectRef,
  planned: PlannedVersion,
  end?: number,
): Promise<Buffer> {
  const ranged = end !== undefined;
  let read;
  try {
    read = await getObjectBytes(rt, {
      Bucket: ref.bucket,
      Key: ref.key,
      ...selector(ref, planned),
      ...(ranged ? { Range: `bytes=0-${end - 1}` } : {}),
    });
  } catch (e) {
    throw asObjectError(e, "read object");
  }
  checkAnswer(read.output, planned, "read object", ranged);
  const expected = ranged ? end : planned.size;
  if (read.bytes.length !== expected)
    throw new JobError("ERR_JOB_CONFLICT", "read object: the object changed size since it was planned");
  checkHead(read.bytes, planned, "read object");
  return read.bytes;
}

/**
 * Opens the planned version as a stream from byte `start` (0 by default); the answer is checked
 * before the first byte is passed on, and a stream from 0 checks the header bytes as they pass.
 *
 * @throws JobError `ERR_JOB_CONFLICT` (on open, or from the stream) when the object is not the planned version.
 * @example
 * ```ts
 * const body = await openPinned(rt, ref, plan);
 * await pipeline(body, decryptStream({ keyring }), sink);
 * ```
 */
export async function openPinned(
  rt: S3Runtime,
  ref: S3ObjectRef,
  planned: PlannedVersion,
  start = 0,
): Promise<Readable> {
  let out: GetObjectCommandOutput;
  try {
    out = await s3Send(rt, "GetObject", (s3, o) =>
      s3.send(
        new GetObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          ...selector(ref, planned),
          ...(start > 0 ? { Range: `bytes=${start}-` } : {}),
        }),
        o,
      ),
    );
  } catch (e) {
    throw asObjectError(e, "read object");
  }
  const body = out.Body as Readable | undefined;
  if (!body) throw new JobError("ERR_JOB_S3", "GET answered no body");
  try {
    checkAnswer(out, planned, "read object", start > 0);
  } catch (e) {
    body.destroy();
    throw e;
  }
  return Readable.from(checkedBody(body, rt, start === 0 ? planned : undefined), { objectMode: false });
}

async function* checkedBody(
  body: Readable,
  rt: S3Runtime,
  planned: PlannedVersion | undefined,
): AsyncGenerator<Buffer> {
  const head = planned?.headBytes;
  let pending: Buffer[] = [];
  let held = 0;
  let checked = head === undefined;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    rt.counters.bytes.read += b.length;
    if (checked) {
      yield b;
      continue;
    }
    // Hold bytes back until the header is complete and compared.
    pending.push(b);
    held += b.length;
    if (held < (head as Uint8Array).length) continue;
    const first = Buffer.concat(pending);
    checkHead(first, planned as PlannedVersion, "read object");
    checked = true;
    pending = [];
    yield first;
  }
  // The object ended before its header did: not the planned version.
  if (!checked) checkHead(Buffer.concat(pending), planned as PlannedVersion, "read object");
}
