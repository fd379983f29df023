/**
 * Reading a record's base64 body back into something a person (or a HAR file, or curl) can use:
 * JSON, form fields, text or opaque bytes. Shared by the catalog, the HAR export and copy-as-cURL.
 */

import type { ApiRecord } from '../../core/record.js';

/** What a body turned out to be. `form` bodies arrive as JSON objects of their fields (the SDK converts them). */
export type BodyKind = 'empty' | 'json' | 'form' | 'text' | 'binary';

/** A decoded body. `json` is set for `json` and `form`; `text` for everything but `binary`/`empty`. */
export interface DecodedBody {
  kind: BodyKind;
  bytes: Buffer;
  contentType: string | undefined;
  text?: string;
  json?: unknown;
}

/** Bodies above this are classified but not parsed as JSON (the catalog would stall on them). */
export const MAX_PARSE_BYTES = 4 * 1024 * 1024; // 4 MiB

const utf8 = new TextDecoder('utf-8', { fatal: true });
// Control characters other than tab, newline and carriage return mean "not text".
const BINARY_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Decodes a record body: `''` is empty; JSON is parsed when the content type says JSON or the text
 * looks like it; form bodies become their fields (from the SDK's JSON or from raw `a=1&b=2`); other
 * UTF-8 is text; the rest is binary.
 *
 * @example
 * decodeBody(Buffer.from('{"a":1}').toString('base64'), 'application/json'); // { kind: 'json', json: { a: 1 }, ... }
 */
export function decodeBody(base64: unknown, contentType: string | undefined): DecodedBody {
  const bytes = typeof base64 === 'string' && base64 !== '' ? Buffer.from(base64, 'base64') : Buffer.alloc(0);
  if (bytes.length === 0) return { kind: 'empty', bytes, contentType };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { kind: 'binary', bytes, contentType };
  }
  if (BINARY_CONTROL.test(text)) return { kind: 'binary', bytes, contentType };
  const type = mediaType(contentType);
  const form = type === 'application/x-www-form-urlencoded';
  const claimsJson = type === 'application/json' || type.endsWith('+json');
  const looksJson = /^\s*[[{]/.test(text);
  if ((claimsJson || looksJson || form) && bytes.length <= MAX_PARSE_BYTES) {
    try {
      const json: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      return { kind: form && isObject(json) ? 'form' : 'json', bytes, contentType, text, json };
    } catch {
      // not JSON after all
    }
  }
  if (form) return { kind: 'form', bytes, contentType, text, json: formFields(text) };
  return { kind: 'text', bytes, contentType, text };
}

/**
 * The first value of a header in a record's header map (names are lower case on the wire).
 *
 * @example
 * headerValue({ 'content-type': ['application/json'] }, 'content-type'); // 'application/json'
 */
export function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const values = (headers as Record<string, unknown>)[name];
  const first = Array.isArray(values) ? values[0] : values;
  return typeof first === 'string' ? first : undefined;
}

/**
 * `type/subtype` of a Content-Type, lower case, without parameters; `''` when absent.
 *
 * @example
 * mediaType('Application/JSON; charset=utf-8'); // 'application/json'
 */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * The absolute URL a record was made to. The wire format has no scheme: `x-forwarded-proto` decides
 * when present, else plain http for loopback hosts and hosts with an explicit non-443 port, https
 * for the rest. A `raw_url` that is already absolute (an outgoing call) is used as it is.
 *
 * @example
 * recordURL({ host: '127.0.0.1:3000', raw_url: '/users/42?x=1', request_headers: {} }); // 'http://127.0.0.1:3000/users/42?x=1'
 */
export function recordURL(record: Pick<ApiRecord, 'host' | 'raw_url' | 'request_headers'>): string {
  const raw = typeof record.raw_url === 'string' ? record.raw_url : '';
  if (/^https?:\/\//i.test(raw)) return raw;
  const host = typeof record.host === 'string' && record.host !== '' ? record.host : 'localhost';
  const forwarded = headerValue(record.request_headers, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  let scheme: string;
  if (forwarded === 'http' || forwarded === 'https') scheme = forwarded;
  else {
    const port = /:(\d+)$/.exec(host)?.[1];
    const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const loopback = name === 'localhost' || name.endsWith('.localhost') || /^127\./.test(name) || name === '::1';
    scheme = loopback || (port !== undefined && port !== '443') ? 'http' : 'https';
  }
  return `${scheme}://${host}${raw.startsWith('/') ? raw : `/${raw}`}`;
}

/**
 * Form fields as the SDK records them: a repeated key holds an array.
 *
 * @example
 * formFields('a=1&a=2&b=3'); // { a: ['1', '2'], b: '3' }
 */
export function formFields(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(text)) {
    const previous = fields[key];
    if (previous === undefined) fields[key] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else fields[key] = [previous, value];
  }
  return { ...fields };
}

/**
 * The URL-encoded form of fields as the SDK records them; values that are not strings are written as JSON.
 *
 * @example
 * encodeForm({ a: ['1', '2'], b: '3' }); // 'a=1&a=2&b=3'
 */
export function encodeForm(fields: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    for (const one of Array.isArray(value) ? value : [value])
      params.append(key, typeof one === 'string' ? one : (JSON.stringify(one) ?? ''));
  }
  return params.toString();
}

/**
 * A plain JSON object (not an array, not null).
 *
 * @example
 * isObject({}); // true
 * isObject([]); // false
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
