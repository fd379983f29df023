/**
 * Copy as cURL: the request of a record as a shell command that replays it. Values the SDK redacted
 * stay `[CLIENT_REDACTED]`: the inspector only ever holds what would have left the server.
 */

import type { ApiRecord } from '../../core/record.js';
import { decodeBody, encodeForm, headerValue, isObject, mediaType, recordURL } from './body.js';

// curl computes these from the URL and the body it sends (a redacted body has a different length);
// connection-level headers describe the original socket, not the replay.
const SKIPPED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);

/**
 * A POSIX-shell `curl` command for the record's request: method, absolute URL (see `recordURL`),
 * every recorded header, and the body. A form body (which the SDK records as JSON fields) is sent
 * URL-encoded again; a binary body cannot be written in a command line and is left out with a note.
 *
 * @example
 * toCurl(record);
 * // curl -sS -X POST 'http://127.0.0.1:3000/login?next=%2Fhome' \
 * //   -H 'content-type: application/json' \
 * //   -H 'x-api-key: [CLIENT_REDACTED]' \
 * //   --data-raw '{"username":"ada","password":"[CLIENT_REDACTED]"}'
 */
export function toCurl(record: ApiRecord): string {
  const method = typeof record.method === 'string' && record.method !== '' ? record.method.toUpperCase() : 'GET';
  const url = recordURL(record);
  const host = new URL(url).host;
  const contentType = headerValue(record.request_headers, 'content-type');
  const body = decodeBody(record.request_body, contentType);
  const parts: string[] = [];
  const first = ['curl', '-sS'];
  if (method === 'HEAD') first.push('--head');
  // With a body curl would default to POST: a GET with a body says so.
  else if (method !== 'GET' || body.kind !== 'empty') first.push('-X', /^[A-Z]+$/.test(method) ? method : quote(method));
  first.push(quote(url));
  parts.push(first.join(' '));

  let acceptsCompressed = false;
  const headers = isObject(record.request_headers) ? record.request_headers : {};
  for (const [name, values] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (SKIPPED_HEADERS.has(lower) || lower.startsWith(':')) continue;
    for (const value of Array.isArray(values) ? values : [values]) {
      const text = String(value);
      if (lower === 'host' && text === host) continue; // curl sends it from the URL
      if (lower === 'accept-encoding' && /\b(gzip|deflate|br)\b/.test(text)) acceptsCompressed = true;
      // `-H 'name;'` is curl's spelling for a header with an empty value.
      parts.push(`-H ${quote(text === '' ? `${name};` : `${name}: ${text}`)}`);
    }
  }
  // The server may compress because we asked: let curl decode it, as the browser did.
  if (acceptsCompressed) parts.push('--compressed');

  if (body.kind === 'binary') {
    parts.push(`# request body left out: ${body.bytes.length} bytes of binary (${contentType ?? 'no content-type'})`);
  } else if (body.kind !== 'empty') {
    const data =
      body.kind === 'form' && mediaType(contentType) === 'application/x-www-form-urlencoded' && isObject(body.json)
        ? encodeForm(body.json)
        : (body.text as string);
    parts.push(`--data-raw ${quote(data)}`);
  }
  // A trailing comment after `\` would swallow the continuation: comments go last, on their own line.
  const comment = parts.findIndex((part) => part.startsWith('#'));
  if (comment !== -1) {
    const [note] = parts.splice(comment, 1);
    return `${parts.join(' \\\n  ')}\n${note}`;
  }
  return parts.join(' \\\n  ');
}

/**
 * Single-quotes `text` for a POSIX shell: everything is literal inside `'...'`, and a `'` is written
 * as `'\''`. Newlines stay literal too, so multi-line bodies survive.
 *
 * @example
 * quote("it's"); // `'it'\''s'`
 */
export function quote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}
