/**
 * `detectLeaks: 'redact'`: hides what the detectors found in a record even though no rule named it.
 * A flagged field (header value, query or path parameter, JSON leaf) becomes the marker whole; in
 * free text (an error message, a text body) the flagged run of characters does.
 */

import { REDACTED, type ApiRecord } from '../core/record.js';
import { memberPath } from './paths.js';
import { decodeBodyText } from './record.js';
import type { LeakFinding } from './types.js';

/** Bytes as base64, with `Buffer` when the runtime has one. */
function toBase64(text: string): string {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): { toString(e: string): string } } }).Buffer;
  if (B !== undefined) return B.from(text, 'utf8').toString('base64');
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function replaceAll(text: string, needles: readonly string[]): string {
  let out = text;
  for (const needle of needles) if (needle !== '') out = out.split(needle).join(REDACTED);
  return out;
}

/** Replaces the values of the named query parameters in a URL (or path + query), the rest kept byte for byte. */
function redactUrlParams(url: string, names: ReadonlySet<string>): string {
  const q = url.indexOf('?');
  if (q === -1 || names.size === 0) return url;
  const hash = url.indexOf('#', q);
  const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const pieces = query.split('&').map((piece) => {
    const eq = piece.indexOf('=');
    const rawName = eq === -1 ? piece : piece.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' ')).toLowerCase();
    } catch {
      name = rawName.toLowerCase();
    }
    return names.has(name) ? `${rawName}=${REDACTED}` : piece;
  });
  return `${url.slice(0, q + 1)}${pieces.join('&')}${hash === -1 ? '' : url.slice(hash)}`;
}

function redactHeaders(
  headers: Record<string, string[]>,
  names: ReadonlySet<string>,
  params: ReadonlySet<string>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(headers)) {
    if (names.has(name.toLowerCase())) out[name] = [REDACTED];
    else if (params.size > 0 && Array.isArray(values))
      out[name] = values.map((value) => (typeof value === 'string' ? redactUrlParams(value, params) : value));
    else out[name] = values;
  }
  return out;
}

function redactBody(base64: string, contentType: string | undefined, exact: ReadonlySet<string>, texts: readonly string[]): string {
  const decoded = decodeBodyText(base64, contentType);
  if (decoded === null) return base64;
  if (decoded.value === undefined) return toBase64(replaceAll(decoded.text, texts));
  const walk = (value: unknown, path: string): unknown => {
    if (exact.has(path)) return REDACTED;
    if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(value as Record<string, unknown>)) out[name] = walk(child, memberPath(path, name));
      return out;
    }
    return value;
  };
  const redacted = walk(decoded.value, '$');
  if (decoded.kind === 'form') {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(redacted as Record<string, string | string[]>)) {
      for (const one of Array.isArray(value) ? value : [value]) params.append(name, String(one));
    }
    return toBase64(params.toString());
  }
  return toBase64(JSON.stringify(redacted));
}

/**
 * A copy of `record` with every flagged value replaced by `[CLIENT_REDACTED]`, and how many values
 * were replaced. Fields nothing was found in are shared with `record`, not copied.
 *
 * @example
 * const { record: safe } = redactFindings(record, scanRecord(record));
 */
export function redactFindings(record: ApiRecord, findings: readonly LeakFinding[]): { record: ApiRecord; redactions: number } {
  if (findings.length === 0) return { record, redactions: 0 };
  const requestHeaders = new Set<string>();
  const responseHeaders = new Set<string>();
  const params = new Set<string>();
  const pathParams = new Set<string>();
  const requestExact = new Set<string>();
  const responseExact = new Set<string>();
  const requestTexts: string[] = [];
  const responseTexts: string[] = [];
  const errorTexts: string[] = [];
  for (const { location, match } of findings) {
    switch (location.part) {
      case 'request_header':
        requestHeaders.add(location.field);
        break;
      case 'response_header':
        responseHeaders.add(location.field);
        break;
      case 'query':
        params.add(location.field);
        break;
      case 'url_path':
        pathParams.add(location.field);
        break;
      case 'request_body':
        if (location.field === '') requestTexts.push(match);
        else requestExact.add(location.exact);
        break;
      case 'response_body':
        if (location.field === '') responseTexts.push(match);
        else responseExact.add(location.exact);
        break;
      case 'error':
        errorTexts.push(match);
        break;
    }
  }
  const out: ApiRecord = { ...record };
  if (requestHeaders.size > 0 || params.size > 0) out.request_headers = redactHeaders(record.request_headers, requestHeaders, params);
  if (responseHeaders.size > 0 || params.size > 0) out.response_headers = redactHeaders(record.response_headers, responseHeaders, params);
  if (params.size > 0) {
    out.raw_url = redactUrlParams(record.raw_url, params);
    if (typeof record.referer === 'string') out.referer = redactUrlParams(record.referer, params);
    out.query_params = Object.fromEntries(
      Object.entries(record.query_params).map(([name, values]) => [name, params.has(name.toLowerCase()) ? [REDACTED] : values]),
    );
  }
  if (requestHeaders.has('referer')) out.referer = REDACTED;
  if (requestHeaders.has('host')) out.host = REDACTED;
  if (pathParams.size > 0) {
    const values: string[] = [];
    out.path_params = Object.fromEntries(
      Object.entries(record.path_params).map(([name, value]) => {
        if (!pathParams.has(name)) return [name, value];
        values.push(value, encodeURIComponent(value));
        return [name, REDACTED];
      }),
    );
    // The value also sits in the URL's path.
    const q = out.raw_url.indexOf('?');
    const path = q === -1 ? out.raw_url : out.raw_url.slice(0, q);
    out.raw_url = replaceAll(path, values) + (q === -1 ? '' : out.raw_url.slice(q));
  }
  const contentType = (headers: Record<string, string[]>): string | undefined => headers['content-type']?.[0];
  if (requestExact.size > 0 || requestTexts.length > 0) {
    out.request_body = redactBody(record.request_body, contentType(record.request_headers), requestExact, requestTexts);
  }
  if (responseExact.size > 0 || responseTexts.length > 0) {
    out.response_body = redactBody(record.response_body, contentType(record.response_headers), responseExact, responseTexts);
  }
  if (errorTexts.length > 0) {
    out.errors = record.errors.map((error) => ({
      ...error,
      message: replaceAll(error.message, errorTexts),
      root_error_message: replaceAll(error.root_error_message, errorTexts),
      // The stack's first line repeats the message.
      stack_trace: replaceAll(error.stack_trace, errorTexts),
    }));
  }
  return { record: out, redactions: new Set(findings.map((f) => `${f.location.part} ${f.location.exact}`)).size };
}
