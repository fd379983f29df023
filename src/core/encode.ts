/** Encode: one record -> the bytes of one Pub/Sub message. */
import type { ApiRecord } from './record.js';

/**
 * The largest record that fits one Pub/Sub publish request over REST: its base64 in
 * `{"messages":[{"data":"…"}]}` must stay within the 10 MB the transport allows a request body
 * (Google refuses bodies over 10 MiB), i.e. at most 7 499 979 bytes of data (MAX_MESSAGE_DATA_BYTES
 * in transport/pubsub.ts); a little margin below that.
 */
export const MAX_MESSAGE_BYTES = 7_400_000;

/** Result of encoding: the message, or why it cannot be sent. */
export type Encoded = { ok: true; message: Buffer } | { ok: false; error: Error };

/** What the caller knows about the record it hands over. */
export interface EncodeOptions {
  /**
   * `request_body` and `response_body` are `Buffer#toString('base64')` output, as the SDK builds
   * them (no `beforeSend` hook could have changed them): their characters need no JSON escaping.
   */
  bodiesAreBase64?: boolean;
}

/**
 * The UTF-8 JSON of the record (`JSON.stringify(record)`, byte for byte), refused when it would not
 * fit in one Pub/Sub message.
 */
export function encodeRecord(record: ApiRecord, options: EncodeOptions = {}): Encoded {
  try {
    const message = (options.bodiesAreBase64 === true ? encodeDirect(record) : undefined) ?? Buffer.from(JSON.stringify(record), 'utf8');
    if (message.length > MAX_MESSAGE_BYTES) return { ok: false, error: tooLarge(message.length) };
    return { ok: true, message };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

function tooLarge(bytes: number): RangeError {
  return new RangeError(`record of ${bytes} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte message limit`);
}

// The members of a record in the order the SDK creates them (so JSON.stringify writes them).
const RECORD_KEYS: readonly (keyof ApiRecord)[] = [
  'timestamp',
  'duration',
  'project_id',
  'sdk_type',
  'method',
  'host',
  'url_path',
  'raw_url',
  'path_params',
  'query_params',
  'request_headers',
  'response_headers',
  'request_body',
  'response_body',
  'status_code',
  'proto_major',
  'proto_minor',
  'referer',
  'errors',
  'service_version',
  'tags',
  'msg_id',
  'parent_id',
];
const REQUEST_BODY_KEY = '"request_body":"';
const RESPONSE_BODY_KEY = '","response_body":"';

/**
 * A record's JSON in parts, for {@link writeDirect}: `head` (JSON.stringify of the members before the
 * bodies) less its `}`, `,"request_body":"`, the request body, `","response_body":"`, the response
 * body, `"`, then `tail` (JSON.stringify of the members after them) with `,` for its `{`; `size`
 * bytes in all. The two JSON strings are kept as JSON.stringify made them: cutting and joining them
 * as strings made a third string, flattened (copied) again to count its bytes.
 */
export interface DirectRecord {
  readonly head: string;
  readonly requestBody: string;
  readonly responseBody: string;
  readonly tail: string;
  readonly size: number;
}

/**
 * `JSON.stringify(record)` in parts, without scanning the two base64 bodies (most of a record's
 * bytes) for characters to escape: they are copied as they are. The members before and after them
 * are written by JSON.stringify, from objects with the same members in the same order, so every
 * other byte is JSON.stringify's own. Returns undefined, for the caller to stringify the record
 * itself, when the record's members are not exactly the SDK's, in its order, or a body is not a
 * string of one byte a character. Throws when the record is too large for a message.
 */
export function prepareDirect(record: ApiRecord): DirectRecord | undefined {
  let i = 0;
  // for-in also lists inherited enumerable members, which JSON.stringify skips: no direct path then.
  for (const key in record) {
    if (key !== RECORD_KEYS[i]) return undefined;
    i += 1;
  }
  if (i !== RECORD_KEYS.length) return undefined;
  const r = record;
  const head = JSON.stringify({
    timestamp: r.timestamp,
    duration: r.duration,
    project_id: r.project_id,
    sdk_type: r.sdk_type,
    method: r.method,
    host: r.host,
    url_path: r.url_path,
    raw_url: r.raw_url,
    path_params: r.path_params,
    query_params: r.query_params,
    request_headers: r.request_headers,
    response_headers: r.response_headers,
  });
  const requestBody: unknown = r.request_body;
  const responseBody: unknown = r.response_body;
  if (typeof requestBody !== 'string' || typeof responseBody !== 'string') return undefined;
  const tail = JSON.stringify({
    status_code: r.status_code,
    proto_major: r.proto_major,
    proto_minor: r.proto_minor,
    referer: r.referer,
    errors: r.errors,
    service_version: r.service_version,
    tags: r.tags,
    msg_id: r.msg_id,
    parent_id: r.parent_id,
  });
  // `{...` and `,` (or just `{` when every member was left out), then `"request_body":"`...; after
  // the response body `",...}` (or just `"}`).
  const size =
    Buffer.byteLength(head, 'utf8') -
    (head.length > 2 ? 0 : 1) +
    REQUEST_BODY_KEY.length +
    requestBody.length +
    RESPONSE_BODY_KEY.length +
    responseBody.length +
    (tail.length > 2 ? Buffer.byteLength(tail, 'utf8') + 1 : 2);
  // Refused by the caller anyway: no need to build it.
  if (size > MAX_MESSAGE_BYTES) throw tooLarge(size);
  return { head, requestBody, responseBody, tail, size };
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;

/**
 * Writes a {@link prepareDirect} record into `target` at `offset` (`size` bytes of room); returns the
 * offset after it, short of `offset + size` when a body was not one byte a character (the bytes
 * are then not the record's JSON).
 */
export function writeDirect(d: DirectRecord, target: Buffer, offset: number): number {
  // The head ends with its `}`: a `,` in its place, or, with no member, nothing.
  let at = offset + target.write(d.head, offset, 'utf8');
  if (d.head.length > 2) target[at - 1] = COMMA;
  else at -= 1;
  at += target.write(REQUEST_BODY_KEY, at, 'latin1');
  at += target.write(d.requestBody, at, 'latin1');
  at += target.write(RESPONSE_BODY_KEY, at, 'latin1');
  at += target.write(d.responseBody, at, 'latin1');
  target[at] = QUOTE;
  at += 1;
  if (d.tail.length > 2) {
    // The tail begins with its `{`: a `,` in its place.
    const start = at;
    at += target.write(d.tail, at, 'utf8');
    target[start] = COMMA;
  } else {
    target[at] = CLOSE_BRACE;
    at += 1;
  }
  return at;
}

function encodeDirect(record: ApiRecord): Buffer | undefined {
  const d = prepareDirect(record);
  if (d === undefined) return undefined;
  const message = Buffer.allocUnsafe(d.size);
  // Every byte written (never send uninitialised memory), and the bodies were one byte a character.
  return writeDirect(d, message, 0) === d.size ? message : undefined;
}
