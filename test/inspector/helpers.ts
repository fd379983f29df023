/**
 * Shared by the inspector tests: wire-format records to feed the collector, a HAR 1.2 validator
 * (the required fields of http://www.softwareishard.com/blog/har-12-spec/, checked by hand: no new
 * dependency), and a raw HTTP client that can send any Host/Origin header (fetch forbids Host).
 */

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { ApiRecord } from '../../src/core/record.js';

export const b64 = (data: string | Buffer): string => Buffer.from(data).toString('base64');

/** A complete wire-format record; override what the test is about. */
export function makeRecord(overrides: Partial<ApiRecord> = {}): ApiRecord {
  return {
    timestamp: '2024-05-01T12:00:00.123Z',
    duration: 12_345_678,
    project_id: '00000000-0000-4000-8000-000000000000',
    sdk_type: 'JsExpress',
    method: 'GET',
    host: '127.0.0.1:3000',
    url_path: '/users/:id',
    raw_url: '/users/42',
    path_params: { id: '42' },
    query_params: {},
    request_headers: { host: ['127.0.0.1:3000'] },
    response_headers: { 'content-type': ['application/json'] },
    request_body: '',
    response_body: b64('{"id":42}'),
    status_code: 200,
    proto_major: 1,
    proto_minor: 1,
    referer: '',
    errors: [],
    service_version: null,
    tags: [],
    msg_id: randomUUID(),
    parent_id: null,
    ...overrides,
  };
}

/** Throws, naming the path, unless `har` has every field HAR 1.2 requires, with the right types. */
export function assertValidHar(har: unknown): void {
  const obj = (value: unknown, path: string): Record<string, unknown> => {
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${path}: expected an object`);
    return value as Record<string, unknown>;
  };
  const str = (value: unknown, path: string): void => assert.equal(typeof value, 'string', `${path}: expected a string`);
  const num = (value: unknown, path: string): void =>
    assert.ok(typeof value === 'number' && Number.isFinite(value), `${path}: expected a number`);
  const arr = (value: unknown, path: string): unknown[] => {
    assert.ok(Array.isArray(value), `${path}: expected an array`);
    return value as unknown[];
  };
  const pairs = (value: unknown, path: string): void => {
    arr(value, path).forEach((pair, i) => {
      const p = obj(pair, `${path}[${i}]`);
      str(p.name, `${path}[${i}].name`);
      str(p.value, `${path}[${i}].value`);
    });
  };
  const log = obj(obj(har, 'har').log, 'log');
  assert.equal(log.version, '1.2', 'log.version');
  const creator = obj(log.creator, 'log.creator');
  str(creator.name, 'log.creator.name');
  str(creator.version, 'log.creator.version');
  arr(log.entries, 'log.entries').forEach((value, i) => {
    const at = `log.entries[${i}]`;
    const entry = obj(value, at);
    str(entry.startedDateTime, `${at}.startedDateTime`);
    assert.match(
      entry.startedDateTime as string,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
      `${at}.startedDateTime: ISO 8601`,
    );
    num(entry.time, `${at}.time`);
    assert.ok((entry.time as number) >= 0, `${at}.time >= 0`);
    const req = obj(entry.request, `${at}.request`);
    str(req.method, `${at}.request.method`);
    str(req.url, `${at}.request.url`);
    assert.doesNotThrow(() => new URL(req.url as string), `${at}.request.url: absolute`);
    str(req.httpVersion, `${at}.request.httpVersion`);
    arr(req.cookies, `${at}.request.cookies`);
    pairs(req.headers, `${at}.request.headers`);
    pairs(req.queryString, `${at}.request.queryString`);
    num(req.headersSize, `${at}.request.headersSize`);
    num(req.bodySize, `${at}.request.bodySize`);
    if (req.postData !== undefined) {
      const post = obj(req.postData, `${at}.request.postData`);
      str(post.mimeType, `${at}.request.postData.mimeType`);
      str(post.text, `${at}.request.postData.text`);
      if (post.params !== undefined) pairs(post.params, `${at}.request.postData.params`);
    }
    const res = obj(entry.response, `${at}.response`);
    num(res.status, `${at}.response.status`);
    str(res.statusText, `${at}.response.statusText`);
    str(res.httpVersion, `${at}.response.httpVersion`);
    arr(res.cookies, `${at}.response.cookies`);
    pairs(res.headers, `${at}.response.headers`);
    const content = obj(res.content, `${at}.response.content`);
    num(content.size, `${at}.response.content.size`);
    str(content.mimeType, `${at}.response.content.mimeType`);
    if (content.text !== undefined) str(content.text, `${at}.response.content.text`);
    if (content.encoding !== undefined) assert.equal(content.encoding, 'base64', `${at}.response.content.encoding`);
    str(res.redirectURL, `${at}.response.redirectURL`);
    num(res.headersSize, `${at}.response.headersSize`);
    num(res.bodySize, `${at}.response.bodySize`);
    obj(entry.cache, `${at}.cache`);
    const timings = obj(entry.timings, `${at}.timings`);
    let sum = 0;
    for (const phase of ['send', 'wait', 'receive'] as const) {
      num(timings[phase], `${at}.timings.${phase}`);
      assert.ok((timings[phase] as number) >= 0, `${at}.timings.${phase} >= 0 (required, -1 not allowed)`);
    }
    for (const phase of ['blocked', 'dns', 'connect', 'send', 'wait', 'receive', 'ssl'] as const) {
      if (timings[phase] !== undefined && timings[phase] !== -1) sum += timings[phase] as number;
    }
    assert.ok(Math.abs(sum - (entry.time as number)) < 1e-6, `${at}.time equals the sum of its timings`);
    for (const key of Object.keys(entry)) {
      assert.ok(
        [
          'startedDateTime',
          'time',
          'request',
          'response',
          'cache',
          'timings',
          'pageref',
          'serverIPAddress',
          'connection',
          'comment',
        ].includes(key) || key.startsWith('_'),
        `${at}.${key}: custom fields must start with _`,
      );
    }
  });
}

/** What a raw request got back. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (Host and Origin included), for the DNS-rebinding checks. */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        // Verbatim, not `target.pathname + target.search`: URL parsing would percent-encode ' and more.
        path: url.slice(target.origin.length) || '/',
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        // A fresh connection each time: keep-alive sockets would outlive the servers under test.
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
