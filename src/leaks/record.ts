/**
 * Every value of a record the leak finder looks at, with its location: header values, query and
 * path parameters, body fields (JSON and form bodies walked to their leaves; other text as a
 * whole), and error messages. Bodies are decoded with ECMAScript and Web APIs only (`atob`,
 * `TextDecoder`; `Buffer` when the runtime has one, as it is faster).
 */

import { REDACTED, type ApiRecord } from '../core/record.js';
import { memberSuffix } from './paths.js';
import type { LeakLocation, LeakPart } from './types.js';

/** One value to scan. */
export interface Slot {
  location: LeakLocation;
  /** The name right above the value (header, parameter, member name; `''` for a whole body). */
  key: string;
  /** Every name on the way, lower case, joined by `.`. */
  path: string;
  value: string;
  /** A whole field (header value, JSON leaf) rather than free text (an error message, a text body). */
  whole: boolean;
}

/** Bounds that keep one odd record from costing more than it is worth. */
export const SCAN_LIMITS = {
  /** Body bytes decoded and scanned; the rest is not looked at. */
  maxBodyBytes: 4 * 1024 * 1024,
  /** Leaves of one JSON body. */
  maxLeaves: 5_000,
  /** Nesting depth of a JSON body. */
  maxDepth: 64,
  /** Characters of one value. */
  maxValueChars: 64 * 1024,
} as const;

/** Headers whose value is a URL: their query parameters are scanned (and named) as query parameters. */
const URL_HEADERS = new Set(['referer', 'location', 'content-location']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a base64 string; `null` when it is not base64. */
export function fromBase64(base64: string): Uint8Array | null {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B !== undefined) return B.from(base64, 'base64');
  try {
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const values = (headers as Record<string, unknown>)[name];
  const first = Array.isArray(values) ? values[0] : values;
  return typeof first === 'string' ? first : undefined;
}

/** A record body as text and, for JSON and form bodies, as a value; `null` for empty or binary. */
export interface BodyText {
  text: string;
  /** `json` (form bodies the SDK recorded as JSON included), `form` (raw `a=1&b=2`), `text`. */
  kind: 'json' | 'form' | 'text';
  value?: unknown;
}

/**
 * Decodes a record body for scanning.
 *
 * @example
 * decodeBodyText(btoa('{"a":1}'), 'application/json'); // { text: '{"a":1}', kind: 'json', value: { a: 1 } }
 */
export function decodeBodyText(base64: unknown, contentType: string | undefined): BodyText | null {
  if (typeof base64 !== 'string' || base64 === '') return null;
  let bytes = fromBase64(base64);
  if (bytes === null || bytes.length === 0) return null;
  if (bytes.length > SCAN_LIMITS.maxBodyBytes) bytes = bytes.subarray(0, SCAN_LIMITS.maxBodyBytes);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    // Cut mid-character, or binary: scan what decodes leniently only if it is mostly text.
    text = new TextDecoder('utf-8').decode(bytes);
    if ((text.match(/\ufffd/g)?.length ?? 0) > 8) return null;
  }
  if (/[\u0000-\u0008\u000e-\u001f]/.test(text.slice(0, 4096))) return null;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const form = type === 'application/x-www-form-urlencoded';
  if (type === 'application/json' || type.endsWith('+json') || form || /^\s*[[{]/.test(text)) {
    try {
      return { text, kind: 'json', value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
    } catch {
      // not JSON after all
    }
  }
  if (form) {
    const fields: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(text)) {
      const previous = fields[key];
      if (previous === undefined) fields[key] = value;
      else if (Array.isArray(previous)) previous.push(value);
      else fields[key] = [previous, value];
    }
    return { text, kind: 'form', value: fields };
  }
  return { text, kind: 'text' };
}

function push(
  slots: Slot[],
  part: LeakPart,
  field: string,
  exact: string,
  key: string,
  path: string,
  value: string,
  whole: boolean,
  lower = false,
): void {
  if (value === '' || value === REDACTED) return;
  slots.push({
    location: { part, field, exact },
    key,
    path: lower ? path : path.toLowerCase(),
    value: value.length > SCAN_LIMITS.maxValueChars ? value.slice(0, SCAN_LIMITS.maxValueChars) : value,
    whole,
  });
}

function queryParams(slots: Slot[], query: string): void {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return;
  }
  for (const [name, value] of params) push(slots, 'query', name.toLowerCase(), name.toLowerCase(), name, name, value, true);
}

function headers(slots: Slot[], part: 'request_header' | 'response_header', map: unknown): void {
  if (typeof map !== 'object' || map === null) return;
  for (const [rawName, values] of Object.entries(map as Record<string, unknown>)) {
    const name = rawName.toLowerCase();
    for (const value of Array.isArray(values) ? values : [values]) {
      if (typeof value !== 'string') continue;
      if (URL_HEADERS.has(name)) {
        const q = value.indexOf('?');
        if (q !== -1) {
          queryParams(slots, value.slice(q + 1).split('#')[0]!);
          push(slots, part, name, name, name, name, value.slice(0, q), true);
          continue;
        }
      }
      push(slots, part, name, name, name, name, value, true);
    }
  }
}

function body(slots: Slot[], part: 'request_body' | 'response_body', decoded: BodyText | null): void {
  if (decoded === null) return;
  if (decoded.value === undefined) {
    push(slots, part, '', '', '', '', decoded.text, false);
    return;
  }
  let leaves = 0;
  const walk = (value: unknown, field: string, exact: string, key: string, path: string, depth: number): void => {
    if (leaves >= SCAN_LIMITS.maxLeaves) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
      leaves++;
      push(slots, part, field, exact, key, path, String(value), true, true);
      return;
    }
    if (typeof value !== 'object' || value === null || depth >= SCAN_LIMITS.maxDepth) return;
    if (Array.isArray(value)) {
      // An array's elements share their parent's name: `cards[*]` is about cards.
      value.forEach((item, i) => walk(item, `${field}[*]`, `${exact}[${i}]`, key, path, depth + 1));
      return;
    }
    for (const name in value) {
      if (!Object.hasOwn(value, name)) continue;
      const suffix = memberSuffix(name);
      const lower = name.toLowerCase();
      walk(
        (value as Record<string, unknown>)[name],
        field + suffix,
        exact + suffix,
        name,
        path === '' ? lower : `${path}.${lower}`,
        depth + 1,
      );
    }
  };
  walk(decoded.value, '$', '$', '', '', 0);
}

/**
 * Every value of `record` worth scanning, in a stable order: request headers, query, path
 * parameters, request body, response headers, response body, errors. Redacted values are skipped.
 */
export function slotsOf(record: ApiRecord): Slot[] {
  const slots: Slot[] = [];
  headers(slots, 'request_header', record.request_headers);
  if (typeof record.query_params === 'object' && record.query_params !== null) {
    for (const [name, values] of Object.entries(record.query_params)) {
      for (const value of Array.isArray(values) ? values : [values]) {
        if (typeof value === 'string') push(slots, 'query', name.toLowerCase(), name.toLowerCase(), name, name, value, true);
      }
    }
  }
  if (typeof record.path_params === 'object' && record.path_params !== null) {
    for (const [name, value] of Object.entries(record.path_params)) {
      if (typeof value === 'string') push(slots, 'url_path', name, name, name, name, value, true);
    }
  }
  body(slots, 'request_body', decodeBodyText(record.request_body, headerValue(record.request_headers, 'content-type')));
  headers(slots, 'response_header', record.response_headers);
  body(slots, 'response_body', decodeBodyText(record.response_body, headerValue(record.response_headers, 'content-type')));
  if (Array.isArray(record.errors)) {
    record.errors.forEach((error, i) => {
      if (typeof error !== 'object' || error === null) return;
      if (typeof error.message === 'string')
        push(slots, 'error', 'errors[*].message', `errors[${i}].message`, 'message', 'message', error.message, false);
      if (typeof error.root_error_message === 'string' && error.root_error_message !== error.message) {
        push(
          slots,
          'error',
          'errors[*].root_error_message',
          `errors[${i}].root_error_message`,
          'message',
          'message',
          error.root_error_message,
          false,
        );
      }
    });
  }
  return slots;
}
