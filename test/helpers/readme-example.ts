/**
 * The README's own example, end to end: the app from "Use it in your app", the request a user
 * would make, and the exact record APIToolkit must receive for it. Shared by the collector test
 * and the genuine-emulator test so both check the same bytes.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, type APIToolkitOptions, type ApiRecord } from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
import { serve } from './http.js';

export const README_OPTIONS = {
  redactHeaders: ['X-Api-Key'],
  redactRequestBody: ['$.password', '$.credit-card.number', '$.credit-card.cvv'],
  redactResponseBody: ['$.token'],
  serviceVersion: '1.4.0',
  tags: ['prod'],
} satisfies APIToolkitOptions;

/** Runs the README app with `options` added, makes the example request, returns the base URL. */
export async function runReadmeExample(t: TestContext, options: APIToolkitOptions): Promise<{ apitoolkit: APIToolkit; url: string }> {
  const apitoolkit = new APIToolkit({ ...README_OPTIONS, flushIntervalMs: 0, ...options });
  t.after(() => apitoolkit.shutdown(2_000));
  const app = express();
  app.use(express.json());
  app.use(expressMiddleware(apitoolkit));
  app.post('/login', (_req, res) => res.json({ token: 'secret' }));
  app.use(expressErrorHandler(apitoolkit));
  const url = await serve(t, app);
  const res = await fetch(`${url}/login?next=%2Fhome`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'abc123', 'user-agent': 'readme-example' },
    body: JSON.stringify({ username: 'ada', password: 'hunter2', 'credit-card': { number: '4111111111111111', cvv: '123' } }),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { token: 'secret' }, 'the client gets the real, unredacted response');
  return { apitoolkit, url };
}

/** Asserts the published message is exactly the wire-format record for the README request. */
export function assertReadmeRecord(data: Buffer, url: string, projectId: string): void {
  const record = JSON.parse(data.toString('utf8')) as ApiRecord;
  const host = new URL(url).host;
  const requestBody = JSON.stringify({
    username: 'ada',
    password: '[CLIENT_REDACTED]',
    'credit-card': { number: '[CLIENT_REDACTED]', cvv: '[CLIENT_REDACTED]' },
  });
  const expected: ApiRecord = {
    timestamp: record.timestamp,
    duration: record.duration,
    project_id: projectId,
    sdk_type: 'JsExpress',
    method: 'POST',
    host,
    url_path: '/login',
    raw_url: '/login?next=%2Fhome',
    path_params: {},
    query_params: { next: ['/home'] },
    request_headers: {
      host: [host],
      connection: ['keep-alive'],
      'content-type': ['application/json'],
      'x-api-key': ['[CLIENT_REDACTED]'],
      'user-agent': ['readme-example'],
      accept: ['*/*'],
      'accept-language': ['*'],
      'sec-fetch-mode': ['cors'],
      'accept-encoding': ['gzip, deflate'],
      'content-length': [
        String(
          Buffer.byteLength(
            JSON.stringify({ username: 'ada', password: 'hunter2', 'credit-card': { number: '4111111111111111', cvv: '123' } }),
          ),
        ),
      ],
    },
    response_headers: {
      'x-powered-by': ['Express'],
      'content-type': ['application/json; charset=utf-8'],
      'content-length': ['18'],
      etag: record.response_headers.etag ?? ['(missing)'],
    },
    request_body: Buffer.from(requestBody).toString('base64'),
    response_body: Buffer.from(JSON.stringify({ token: '[CLIENT_REDACTED]' })).toString('base64'),
    status_code: 200,
    proto_major: 1,
    proto_minor: 1,
    referer: '',
    errors: [],
    service_version: '1.4.0',
    tags: ['prod'],
    msg_id: record.msg_id,
    parent_id: null,
  };
  assert.deepEqual(record, expected);
  // Key order is part of "exactly": the same order as the wire-format table.
  assert.deepEqual(Object.keys(record), Object.keys(expected));
  assert.match(record.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Number.isInteger(record.duration) && record.duration > 0);
  assert.match(record.msg_id, /^[0-9a-f-]{36}$/);
  assert.match(record.response_headers.etag![0]!, /^W\/"/);
  assert.ok(!data.toString('utf8').includes('hunter2') && !data.toString('utf8').includes('abc123'));
}
