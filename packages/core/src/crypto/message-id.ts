/**
 * Message ids: 32 random bytes each, drawn from a pool that one `randomFillSync` call fills 128
 * ids at a time. A message id is public (it is written in the header) and needs only to be
 * unpredictable and unique, which bytes drawn ahead of time are as much as bytes drawn on demand;
 * one call per 128 messages instead of one per message saves small messages a tenth of their
 * time. A pool is never refilled in place: ids handed out keep referring to their own bytes.
 */
import { randomFillSync } from "node:crypto";
import { MESSAGE_ID_LENGTH } from "../format/constants.js";

const IDS_PER_POOL = 128;
let pool = Buffer.alloc(0);
let next = 0;

/** A new random message id (a view into the current pool; never handed out twice). */
export function newMessageId(): Buffer {
  if (next + MESSAGE_ID_LENGTH > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(IDS_PER_POOL * MESSAGE_ID_LENGTH));
    next = 0;
  }
  const id = pool.subarray(next, next + MESSAGE_ID_LENGTH);
  next += MESSAGE_ID_LENGTH;
  return id;
}
