/** Encode: one record -> the bytes of one Pub/Sub message. */
import type { ApiRecord } from './record.js';

/** Pub/Sub refuses messages larger than 10 MB; keep a margin for the request envelope. */
export const MAX_MESSAGE_BYTES = 9_500_000;

/** Result of encoding: the message, or why it cannot be sent. */
export type Encoded = { ok: true; message: Buffer } | { ok: false; error: Error };

/** The UTF-8 JSON of the record, refused when it would not fit in one Pub/Sub message. */
export function encodeRecord(record: ApiRecord): Encoded {
  try {
    const message = Buffer.from(JSON.stringify(record), 'utf8');
    if (message.length > MAX_MESSAGE_BYTES) {
      return { ok: false, error: new RangeError(`record of ${message.length} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte message limit`) };
    }
    return { ok: true, message };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}
