/**
 * A header rule and a query-parameter rule cover every place their value lands in a record: the
 * `referer` and `host` fields repeat headers; `raw_url`, `query_params`, the Referer and Location
 * headers (and an outgoing call's URL) carry query strings. Checked end to end on Express apps,
 * each record's encoded message searched for every secret, plainly and in base64.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, MemoryTransport, REDACTED, type APIToolkitOptions, type ApiRecord } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { compileRedactor } from '../../src/core/redact/index.js';
import { encodeRecord } from '../../src/core/encode.js';
import { serve } from '../helpers/http.js';

/** Serves an Express app with the SDK and returns its URL, the client and the transport. */
async function app(t: TestContext, options: APIToolkitOptions) {
  const transport = new MemoryTransport();
  const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, ...options });
  t.after(() => apitoolkit.shutdown(1_000));
  const app = express();
  app.use(expressMiddleware(apitoolkit));
  app.get('/reset', (_req, res) => res.json({ ok: true }));
  app.get('/go', (_req, res) => res.redirect(302, '/welcome?token=location-secret-9&from=go'));
  app.get('/call', async (req, res) => {
    const upstream = await fetch(`${String(req.query.target)}?api_key=outgoing-secret-5&page=2`);
    res.json({ status: upstream.status });
  });
  return { url: await serve(t, app), apitoolkit, transport };
}

/** Fails when any secret appears in the record as it is sent (JSON of the message), plainly or in base64. */
function assertNoSecret(record: ApiRecord, secrets: string[]): void {
  const encoded = encodeRecord(record, { bodiesAreBase64: true });
  assert.ok(encoded.ok);
  const message = encoded.message.toString('utf8');
  for (const secret of secrets) {
    assert.ok(!message.includes(secret), `${secret} left the process: ${message}`);
    assert.ok(!message.includes(Buffer.from(secret).toString('base64').slice(0, 12)), `${secret} (base64) left the process`);
  }
}

describe('redactQueryParams', () => {
  test('raw_url, query_params, the referer field and header: every value of each named parameter, any casing or spelling', async (t) => {
    const { url, transport, apitoolkit } = await app(t, { redactQueryParams: ['token', 'API_KEY'] });
    const path = '/reset?token=raw-secret-1&x=1&Api_Key=raw-secret-2&api_key=raw-secret-3&to%6Ben=raw-secret-4&token[]=raw-secret-6&&y=a+b';
    await (await fetch(`${url}${path}`, { headers: { referer: 'https://site.example/forgot?TOKEN=referer-secret-7&step=2#top' } })).text();
    const [record] = await transport.waitForRecords(1);
    assert.ok(record);
    assert.equal(
      record.raw_url,
      `/reset?token=${REDACTED}&x=1&Api_Key=${REDACTED}&api_key=${REDACTED}&to%6Ben=${REDACTED}&token[]=${REDACTED}&&y=a+b`,
    );
    assert.deepEqual(record.query_params, {
      token: [REDACTED],
      x: ['1'],
      Api_Key: [REDACTED],
      api_key: [REDACTED],
      'token[]': [REDACTED],
      y: ['a b'],
    });
    assert.equal(record.referer, `https://site.example/forgot?TOKEN=${REDACTED}&step=2#top`);
    assert.deepEqual(record.request_headers.referer, [record.referer]);
    assertNoSecret(record, ['raw-secret', 'referer-secret']);
    // The self-check counts the matches of each rule.
    const rules = apitoolkit.stats().redactionRules.filter((r) => r.option.startsWith('redactQueryParams'));
    assert.deepEqual(rules, [
      { option: 'redactQueryParams[0]', rule: 'token', matches: 4 },
      { option: 'redactQueryParams[1]', rule: 'API_KEY', matches: 2 },
    ]);
  });

  test('the Location of a redirect, and the URL of an outgoing call', async (t) => {
    const { url, transport } = await app(t, { redactQueryParams: ['token', 'api_key'], captureOutgoing: { fetch: true } });
    await (await fetch(`${url}/go`, { redirect: 'manual' })).text();
    await (await fetch(`${url}/call?target=${encodeURIComponent(`${url}/reset`)}`)).text();
    // The test's own fetch calls are outgoing calls too: 3 records of those, 2 of the app.
    const records = await transport.waitForRecords(5);
    const redirect = records.find((r) => r.raw_url === '/go')!;
    assert.deepEqual(redirect.response_headers.location, [`/welcome?token=${REDACTED}&from=go`]);
    const outgoing = records.find((r) => r.sdk_type === 'JsFetchOutgoing' && r.parent_id !== null)!;
    assert.ok(outgoing, JSON.stringify(records.map((r) => r.sdk_type)));
    assert.match(outgoing.raw_url, new RegExp(`\\?api_key=${REDACTED.replace(/[[\]]/g, '\\$&')}&page=2$`));
    assert.deepEqual(outgoing.query_params, { api_key: [REDACTED], page: ['2'] });
    // The app's own view of the call is the upstream's: its record has the secret too, redacted.
    const served = records.find((r) => r.raw_url.startsWith('/reset?'))!;
    assert.equal(served.raw_url, `/reset?api_key=${REDACTED}&page=2`);
    for (const record of records) assertNoSecret(record, ['location-secret', 'outgoing-secret']);
  });

  test('nothing named, nothing changed: the URL is kept byte for byte', () => {
    const redactor = compileRedactor({});
    const url = '/a?x=%41&x=2&&y=a+b&z#frag';
    assert.deepEqual(redactor.query(url), { url, params: { x: ['A', '2'], y: ['a b'], z: [''] }, redactions: 0 });
    assert.deepEqual(compileRedactor({ redactQueryParams: ['token'] }).query(url), {
      url,
      params: { x: ['A', '2'], y: ['a b'], z: [''] },
      redactions: 0,
    });
  });
});

describe('a header rule hides the record fields copied from that header', () => {
  test('redactHeaders Referer and Host: the referer and host fields too', async (t) => {
    const { url, transport } = await app(t, { redactHeaders: ['Referer', 'HOST'] });
    await (await fetch(`${url}/reset?step=1`, { headers: { referer: 'https://site.example/reset?token=referer-field-secret' } })).text();
    const [record] = await transport.waitForRecords(1);
    assert.ok(record);
    assert.equal(record.referer, REDACTED);
    assert.equal(record.host, REDACTED);
    assert.deepEqual(record.request_headers.referer, [REDACTED]);
    assert.deepEqual(record.request_headers.host, [REDACTED]);
    assertNoSecret(record, ['referer-field-secret', new URL(url).host]);
  });
});
