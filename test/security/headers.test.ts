/**
 * Header redaction under every casing and for repeated headers: through the redactor with random
 * casings (property), and end to end with a raw HTTP client that sends repeated and oddly cased
 * headers to Express 4 and 5, which answer with repeated Set-Cookie and a redacted custom header.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { APIToolkit, MemoryTransport, REDACTED } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { ALWAYS_REDACTED_HEADERS, compileRedactor } from '../../src/core/redact/index.js';
import { expressVersions } from '../helpers/express.js';
import { serve } from '../helpers/http.js';

const CUSTOM = ['X-Api-Key', 'x-session-token', 'X-CSRF-TOKEN'];

/** Sends a raw request (headers exactly as given, repeats and casing kept) and returns the raw response. */
function rawRequest(url: string, head: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(head));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

describe('header redaction', () => {
  test('any casing of a redacted name, single or repeated values: one marker, no value left, every value counted', () => {
    const redactor = compileRedactor({ redactHeaders: CUSTOM });
    const names = [...ALWAYS_REDACTED_HEADERS, ...CUSTOM.map((h) => h.toLowerCase())];
    let n = 0;
    const value = fc.constant(null).map(() => `v4lu3-${n++}-secret`);
    fc.assert(
      fc.property(
        fc.constantFrom(...names).chain((name) => fc.mixedCase(fc.constant(name))),
        fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 5 })),
        fc.dictionary(fc.constantFrom('accept', 'x-request-id', 'content-type', 'X-Trace'), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
        (name, values, others) => {
          const input = { ...others, [name]: values };
          const out = redactor.headers(input);
          const text = JSON.stringify(out.headers);
          for (const v of [values].flat()) assert.ok(!text.includes(v), `${v} leaked under ${name}`);
          assert.deepEqual(out.headers[name.toLowerCase()], [REDACTED]);
          assert.equal(out.redactions, [values].flat().length);
          for (const [k, v] of Object.entries(others)) {
            if (k.toLowerCase() !== name.toLowerCase()) assert.deepEqual(out.headers[k.toLowerCase()], [v], `${k} kept`);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test('numbers and empty arrays: a number is redacted too, an empty list is not a value', () => {
    const redactor = compileRedactor({ redactHeaders: ['X-Api-Key'] });
    const out = redactor.headers({ 'X-API-KEY': 12345 as unknown as string, Cookie: [] });
    assert.deepEqual(out.headers['x-api-key'], [REDACTED]);
    assert.deepEqual(out.headers.cookie, []);
    assert.equal(out.redactions, 1);
  });

  for (const { name, version, express } of expressVersions) {
    test(`${name} (${version}): repeated, oddly cased request headers and repeated Set-Cookie never reach the record; the client gets them all`, async (t) => {
      const transport = new MemoryTransport();
      const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, redactHeaders: CUSTOM });
      t.after(() => apitoolkit.shutdown(1_000));
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/h', (_req, res) => {
        res.setHeader('Set-Cookie', ['a=cookie-secret-1; HttpOnly', 'b=cookie-secret-2']);
        res.append('SET-COOKIE', 'c=cookie-secret-3');
        res.setHeader('x-SESSION-token', 'session-secret-4');
        res.setHeader('X-Visible', 'kept-value');
        res.json({ ok: true });
      });
      const url = await serve(t, app);
      const response = await rawRequest(
        url,
        [
          'GET /h HTTP/1.1',
          'Host: 127.0.0.1',
          'Connection: close',
          'AUTHORIZATION: Bearer auth-secret-5',
          'x-api-key: key-secret-6',
          'X-Api-Key: key-secret-7',
          'X-API-KEY: key-secret-8',
          'Cookie: c1=cookie-secret-9',
          'COOKIE: c2=cookie-secret-10',
          'Proxy-Authorization: Basic proxy-secret-11',
          'x-csrf-token: csrf-secret-12',
          'X-CSRF-Token: csrf-secret-13',
          'X-Visible-Request: kept-request-value',
          '',
          '',
        ].join('\r\n'),
      );
      // The client got every value, unchanged.
      for (const v of ['cookie-secret-1', 'cookie-secret-2', 'cookie-secret-3', 'session-secret-4']) assert.ok(response.includes(v), v);

      const [record] = await transport.waitForRecords(1);
      const text = JSON.stringify(record);
      for (let i = 1; i <= 13; i++) assert.ok(!new RegExp(`secret-${i}\\b`).test(text), `secret-${i} leaked: ${text}`);
      const req = record!.request_headers;
      const res = record!.response_headers;
      for (const h of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization', 'x-csrf-token'])
        assert.deepEqual(req[h], [REDACTED], h);
      for (const h of ['set-cookie', 'x-session-token']) assert.deepEqual(res[h], [REDACTED], h);
      assert.deepEqual(req['x-visible-request'], ['kept-request-value']);
      assert.deepEqual(res['x-visible'], ['kept-value']);
      // 3 x-api-key + 2 cookie + 2 x-csrf-token + authorization + proxy-authorization, then 3 set-cookie + x-session-token.
      assert.equal(apitoolkit.stats().redactions, 13);
    });
  }
});
