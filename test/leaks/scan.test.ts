/**
 * The leak finder end to end with a real Express app and MemoryTransport: `scanRecords` names the
 * fields the rules missed and the rule for each; the suggested rules, given to a new client, make
 * the findings go away; `assertNoLeaks` fails a test suite; `detectLeaks` warns or redacts at run time.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import {
  APIToolkit,
  assertNoLeaks,
  LeakFoundError,
  MemoryTransport,
  REDACTED,
  scanRecords,
  type APIToolkitOptions,
} from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
import { suggestRule } from '../../src/leaks/index.js';
import { serve, unb64, unb64json } from '../helpers/http.js';

const CARD = '4111111111111111';
const KEY = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
const TOKEN = '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';
const LOGIN = { username: 'ada', password: 'hunter2', 'credit-card': { number: CARD, cvv: '123' } };

/** An instrumented app; returns its URL, the transport and the client. */
async function app(
  t: TestContext,
  options: APIToolkitOptions = {},
): Promise<{ url: string; transport: MemoryTransport; client: APIToolkit }> {
  const transport = new MemoryTransport();
  const client = new APIToolkit({ transport, flushIntervalMs: 0, redactRequestBody: ['$.password'], ...options });
  t.after(() => client.shutdown(1_000));
  const web = express();
  web.use(express.json());
  web.use(expressMiddleware(client));
  web.post('/login', (req, res) => res.json({ user: req.body.username, session: TOKEN }));
  web.get('/search', (req, res) => res.json({ q: req.query.q }));
  web.get('/boom', () => {
    throw new Error(`upstream refused key ${KEY}`);
  });
  web.use(expressErrorHandler(client));
  web.use((_error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) =>
    res.status(500).json({ error: 'failed' }),
  );
  return { url: await serve(t, web as never), transport, client };
}

async function traffic(url: string): Promise<void> {
  await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify(LOGIN),
  });
  await fetch(`${url}/search?q=books&access_token=${TOKEN}`);
  await fetch(`${url}/boom`);
}

describe('scanRecords over MemoryTransport records', () => {
  test('names each missed field once per endpoint, with the rule that hides it', async (t) => {
    const { url, transport } = await app(t);
    await traffic(url);
    await traffic(url);
    const records = await transport.waitForRecords(6);
    const report = scanRecords(records);
    assert.equal(report.records, 6);
    assert.equal(report.ok, false);
    const byId = new Map(report.groups.map((g) => [g.id, g]));
    const card = byId.get("POST /login request_body $['credit-card'].number")!;
    assert.ok(card, [...byId.keys()].join('\n'));
    assert.equal(card.records, 2, 'two records, one finding');
    assert.equal(card.confidence, 'high');
    assert.deepEqual(
      card.detectors.map((d) => d.detector),
      ['payment-card'],
    );
    assert.equal(card.rule!.text, `redactRequestBody: ["$['credit-card'].number"]`);
    assert.equal(card.msgIds.length, 2);
    assert.equal(byId.get("POST /login request_body $['credit-card'].cvv")!.rule!.text, `redactRequestBody: ["$['credit-card'].cvv"]`);
    assert.equal(byId.get('POST /login request_header x-api-key')!.rule!.text, 'redactHeaders: ["x-api-key"]');
    assert.equal(byId.get('POST /login response_body $.session')!.rule!.text, 'redactResponseBody: ["$.session"]');
    assert.equal(byId.get('GET /search query access_token')!.rule!.text, 'redactQueryParams: ["access_token"]');
    const error = byId.get('GET /boom error errors[*].message')!;
    assert.equal(error.rule, null);
    assert.match(error.advice, /error message/);
    assert.equal(byId.has('POST /login request_body $.password'), false, 'the rule the app has already hides it');
    assert.deepEqual(Object.entries(report.rules), [
      ['redactHeaders', ['x-api-key']],
      ['redactQueryParams', ['access_token']],
      ['redactRequestBody', ["$['credit-card'].cvv", "$['credit-card'].number"]],
      ['redactResponseBody', ['$.session']],
    ]);
  });

  test('the suggested rules, added to the client, make the findings go away', async (t) => {
    const first = await app(t);
    await traffic(first.url);
    const { rules } = scanRecords(await first.transport.waitForRecords(3));
    const second = await app(t, {
      redactHeaders: rules.redactHeaders,
      redactRequestBody: ['$.password', ...(rules.redactRequestBody ?? [])],
      redactResponseBody: rules.redactResponseBody,
      redactQueryParams: rules.redactQueryParams,
    });
    await traffic(second.url);
    const report = scanRecords(await second.transport.waitForRecords(3));
    assert.deepEqual(
      report.open.map((g) => g.id),
      ['GET /boom error errors[*].message'],
      'only what no rule can reach is left',
    );
    const login = second.transport.records().find((r) => r.url_path === '/login')!;
    assert.deepEqual(unb64json(login.request_body), {
      username: 'ada',
      password: REDACTED,
      'credit-card': { number: REDACTED, cvv: REDACTED },
    });
  });

  test('assertNoLeaks throws a coded error listing the rules, and dismissals close findings', async (t) => {
    const { url, transport } = await app(t);
    await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(LOGIN) });
    const records = await transport.waitForRecords(1);
    const error = (() => {
      try {
        assertNoLeaks(records);
      } catch (e) {
        return e as LeakFoundError;
      }
      return null;
    })();
    assert.ok(error instanceof LeakFoundError);
    assert.equal(error.code, 'APITOOLKIT_ERR_LEAK_FOUND');
    assert.match(error.message, /add redactRequestBody: \["\$\['credit-card'\]\.number"\]/);
    assert.match(error.message, /redactRequestBody: \["\$\['credit-card'\]\.cvv", "\$\['credit-card'\]\.number"\],/);
    assert.ok(!error.message.includes(CARD) && !error.message.includes(TOKEN), 'the values themselves are never printed');
    const dismissed = scanRecords(records).open.map((g) => g.id);
    const report = assertNoLeaks(records, { dismissed });
    assert.equal(report.ok, true);
    assert.ok(report.groups.every((g) => g.dismissed));
    // failOn: low counts what is left below medium (none here but the response's session token is high).
    assert.equal(scanRecords(records, { failOn: 'low', dismissed }).ok, true);
  });

  test('outgoing calls are told the outgoing options', () => {
    assert.equal(suggestRule({ part: 'request_header', field: 'x-key' }, true).rule!.text, 'redactOutgoingHeaders: ["x-key"]');
    assert.equal(suggestRule({ part: 'response_body', field: '$.token' }, true).rule!.text, 'redactOutgoingResponseBody: ["$.token"]');
    assert.equal(suggestRule({ part: 'request_body', field: '' }, false).rule, null);
    assert.equal(suggestRule({ part: 'url_path', field: 'token' }, false).rule, null);
  });
});

describe('detectLeaks at run time', () => {
  test("'warn' logs each field once, without its value, and sends the record unchanged", async (t) => {
    const lines: string[] = [];
    const { url, transport, client } = await app(t, { detectLeaks: 'warn', logger: (line) => lines.push(line) });
    await traffic(url);
    await traffic(url);
    const records = await transport.waitForRecords(6);
    const login = records.find((r) => r.url_path === '/login')!;
    assert.equal((unb64json(login.request_body) as typeof LOGIN)['credit-card'].number, CARD, 'warn only');
    const leakLines = lines.filter((l) => l.includes('possible leak'));
    assert.ok(
      leakLines.some(
        (l) =>
          l.includes(`request body $['credit-card'].number of POST /login`) &&
          l.includes(`add redactRequestBody: ["$['credit-card'].number"]`),
      ),
      leakLines.join('\n'),
    );
    assert.ok(leakLines.some((l) => l.includes('request header x-api-key') && l.includes('redactHeaders: ["x-api-key"]')));
    assert.equal(leakLines.filter((l) => l.includes("$['credit-card'].number")).length, 1, 'once per field, not per record');
    for (const line of lines) assert.ok(!line.includes(CARD) && !line.includes(KEY) && !line.includes(TOKEN), line);
    assert.ok(client.stats().leaksFound >= 10);
  });

  test("'redact' hides what was found in headers, query, bodies and error messages; the app's response is unchanged", async (t) => {
    const { url, transport, client } = await app(t, { detectLeaks: 'redact', logger: () => {} });
    const response = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify(LOGIN),
    });
    assert.deepEqual(await response.json(), { user: 'ada', session: TOKEN });
    await fetch(`${url}/search?q=books&access_token=${TOKEN}`);
    await fetch(`${url}/boom`);
    const records = await transport.waitForRecords(3);
    const sent = JSON.stringify(records);
    for (const secret of [CARD, KEY, TOKEN]) assert.ok(!sent.includes(secret), `${secret} left the process`);
    const login = records.find((r) => r.url_path === '/login')!;
    assert.deepEqual(unb64json(login.request_body), {
      username: 'ada',
      password: REDACTED,
      'credit-card': { number: REDACTED, cvv: REDACTED },
    });
    assert.deepEqual(login.request_headers['x-api-key'], [REDACTED]);
    assert.deepEqual(unb64json(login.response_body), { user: 'ada', session: REDACTED });
    const search = records.find((r) => r.url_path === '/search')!;
    assert.equal(search.raw_url, `/search?q=books&access_token=${REDACTED}`);
    assert.deepEqual(search.query_params, { q: ['books'], access_token: [REDACTED] });
    assert.equal(unb64(search.response_body), '{"q":"books"}');
    const boom = records.find((r) => r.url_path === '/boom')!;
    assert.equal(boom.errors[0]!.message, `upstream refused key ${REDACTED}`);
    assert.ok(boom.errors[0]!.stack_trace.startsWith(`Error: upstream refused key ${REDACTED}\n`));
    assert.ok(client.stats().redactions >= 6);
    // Low-confidence personal data is not acted on at run time.
    assert.equal(scanRecords(records, { failOn: 'medium' }).ok, true);
  });
});
