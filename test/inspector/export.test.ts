import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REDACTED } from '../../src/core/record.js';
import { decodeBody, recordURL } from '../../src/collector/inspector/body.js';
import { createCatalog, percentile } from '../../src/collector/inspector/catalog.js';
import { quote, toCurl } from '../../src/collector/inspector/curl.js';
import { toHar } from '../../src/collector/inspector/har.js';
import { serve } from '../helpers/http.js';
import { assertValidHar, b64, makeRecord } from './helpers.js';

const run = promisify(execFile);

/** Answers with what it received, so a replayed curl command can be compared with the record. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ method: req.method, url: req.url, headers: req.headersDistinct, body: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

async function runCurl(command: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', command], { timeout: 10_000 });
  return stdout;
}

describe('body decoding and URLs', () => {
  test('classifies JSON, form (as the SDK records it, and raw), text, binary and empty bodies', () => {
    assert.deepEqual(decodeBody(b64('{"a":[1]}'), 'application/json').json, { a: [1] });
    assert.equal(decodeBody(b64('[1]'), undefined).kind, 'json');
    assert.equal(decodeBody(b64('{"bad'), 'application/json').kind, 'text');
    const recorded = decodeBody(b64('{"q":"x","tag":["a","b"]}'), 'application/x-www-form-urlencoded');
    assert.equal(recorded.kind, 'form');
    assert.deepEqual(recorded.json, { q: 'x', tag: ['a', 'b'] });
    assert.deepEqual(decodeBody(b64('q=x&tag=a&tag=b'), 'application/x-www-form-urlencoded').json, { q: 'x', tag: ['a', 'b'] });
    assert.equal(decodeBody(b64('hello\nworld'), 'text/plain').kind, 'text');
    assert.equal(decodeBody(b64(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1])), 'image/png').kind, 'binary');
    assert.equal(decodeBody(b64('a\u0000b'), 'text/plain').kind, 'binary');
    assert.equal(decodeBody('', 'application/json').kind, 'empty');
  });

  test('recordURL picks the scheme: forwarded proto, loopback and explicit ports are http, the rest https', () => {
    assert.equal(recordURL(makeRecord({ host: '127.0.0.1:3000', raw_url: '/a?b=1' })), 'http://127.0.0.1:3000/a?b=1');
    assert.equal(recordURL(makeRecord({ host: 'localhost', raw_url: '/' })), 'http://localhost/');
    assert.equal(recordURL(makeRecord({ host: 'api.example.com', raw_url: '/v1' })), 'https://api.example.com/v1');
    assert.equal(recordURL(makeRecord({ host: 'api.example.com:8080', raw_url: '/v1' })), 'http://api.example.com:8080/v1');
    assert.equal(
      recordURL(makeRecord({ host: 'api.example.com', raw_url: '/v1', request_headers: { 'x-forwarded-proto': ['http'] } })),
      'http://api.example.com/v1',
    );
    assert.equal(
      recordURL(makeRecord({ host: 'x', raw_url: 'https://pay.example.com/charge', sdk_type: 'JsFetchOutgoing' })),
      'https://pay.example.com/charge',
    );
  });
});

describe('copy as cURL', () => {
  test('quote() survives every shell-special character', async () => {
    const nasty = `it's "quoted" $HOME \`id\` \\ ; | & \n newline ✓ $(touch /tmp/pwned)`;
    assert.equal(await runCurl(`printf %s ${quote(nasty)}`), nasty);
  });

  test('a JSON POST replays byte for byte: method, path, query, headers and body; redacted values stay markers', async (t) => {
    const url = await serve(t, echo);
    const host = new URL(url).host;
    const body = JSON.stringify({ name: "O'Brien", password: REDACTED, note: 'line1\nline2 $(x) `y`' });
    const record = makeRecord({
      method: 'POST',
      host,
      raw_url: '/orders/7?expand=items&tag=a&tag=b',
      request_headers: {
        host: [host],
        'content-type': ['application/json'],
        'content-length': ['999'],
        connection: ['keep-alive'],
        authorization: [REDACTED],
        'x-multi': ['one', 'two'],
        'x-empty': [''],
      },
      request_body: b64(body),
    });
    const command = toCurl(record);
    assert.match(command, /^curl -sS -X POST 'http:\/\/127\.0\.0\.1:\d+\/orders\/7\?expand=items&tag=a&tag=b'/);
    assert.ok(!/content-length|connection/i.test(command), "length and connection headers are curl's business");
    const echoed = JSON.parse(await runCurl(command)) as { method: string; url: string; headers: Record<string, string[]>; body: string };
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.url, '/orders/7?expand=items&tag=a&tag=b');
    assert.equal(echoed.body, body);
    assert.deepEqual(echoed.headers.authorization, [REDACTED]);
    assert.deepEqual(echoed.headers['x-multi'], ['one', 'two']);
    assert.deepEqual(echoed.headers['x-empty'], ['']);
    assert.deepEqual(echoed.headers['content-type'], ['application/json']);
    assert.deepEqual(echoed.headers.host, [host]);
  });

  test('a form body (recorded as JSON fields) is sent URL-encoded again; GET with a body keeps its method', async (t) => {
    const url = await serve(t, echo);
    const host = new URL(url).host;
    const form = makeRecord({
      method: 'POST',
      host,
      raw_url: '/login',
      request_headers: { 'content-type': ['application/x-www-form-urlencoded'] },
      request_body: b64(JSON.stringify({ user: 'ada & co', password: REDACTED, tag: ['a', 'b'] })),
    });
    const echoed = JSON.parse(await runCurl(toCurl(form))) as { body: string };
    assert.deepEqual(
      [...new URLSearchParams(echoed.body)],
      [
        ['user', 'ada & co'],
        ['password', REDACTED],
        ['tag', 'a'],
        ['tag', 'b'],
      ],
    );

    const getWithBody = makeRecord({
      method: 'GET',
      host,
      raw_url: '/search',
      request_headers: { 'content-type': ['text/plain'] },
      request_body: b64('find me'),
    });
    const echoedGet = JSON.parse(await runCurl(toCurl(getWithBody))) as { method: string; body: string };
    assert.equal(echoedGet.method, 'GET');
    assert.equal(echoedGet.body, 'find me');
  });

  test('HEAD uses --head, compressed responses are decoded, binary bodies are left out with a note', async (t) => {
    const url = await serve(t, echo);
    const host = new URL(url).host;
    assert.match(toCurl(makeRecord({ method: 'HEAD', host })), /^curl -sS --head /);
    assert.match(toCurl(makeRecord({ host, request_headers: { 'accept-encoding': ['gzip, br'] } })), /--compressed/);
    const binary = toCurl(
      makeRecord({
        method: 'PUT',
        host,
        raw_url: '/upload',
        request_headers: { 'content-type': ['image/png'] },
        request_body: b64(Buffer.from([0x89, 0, 0xff])),
      }),
    );
    assert.match(binary, /\n# request body left out: 3 bytes of binary \(image\/png\)$/);
    const echoed = JSON.parse(await runCurl(binary)) as { method: string; url: string; body: string };
    assert.deepEqual([echoed.method, echoed.url, echoed.body], ['PUT', '/upload', '']);
  });
});

describe('HAR export', () => {
  test('a log of varied records satisfies HAR 1.2 and carries bodies, query strings and the extras', () => {
    const records = [
      makeRecord({
        timestamp: '2024-05-01T12:00:01.000Z',
        method: 'POST',
        raw_url: '/login?next=%2Fhome',
        url_path: '/login',
        query_params: { next: ['/home'] },
        request_headers: { 'content-type': ['application/json'], 'x-api-key': [REDACTED] },
        request_body: b64(`{"user":"ada","password":"${REDACTED}"}`),
        response_headers: { 'content-type': ['application/json'], 'set-cookie': [REDACTED] },
        response_body: b64('{"token":"[CLIENT_REDACTED]"}'),
      }),
      makeRecord({
        timestamp: '2024-05-01T12:00:00.000Z',
        method: 'POST',
        raw_url: '/form',
        request_headers: { 'content-type': ['application/x-www-form-urlencoded'] },
        request_body: b64('{"a":"1","b":["2","3"]}'),
        response_headers: { 'content-type': ['image/png'] },
        response_body: b64(Buffer.from([0x89, 0x50, 0, 1])),
        status_code: 201,
      }),
      makeRecord({
        timestamp: '2024-05-01T12:00:02.000Z',
        status_code: 302,
        response_headers: { location: ['/elsewhere'] },
        response_body: '',
        duration: 0,
      }),
      makeRecord({
        timestamp: 'not a time',
        status_code: 500,
        sdk_type: 'JsFetchOutgoing',
        parent_id: '11111111-2222-4333-8444-555555555555',
        raw_url: 'https://pay.example.com/charge',
        errors: [{ when: 'x', error_type: 'E', message: 'm', root_error_type: 'R', root_error_message: 'r', stack_trace: 's' }],
      }),
    ];
    const har = toHar(records, { name: 'test', version: '1' });
    assertValidHar(har);
    const entries = har.log.entries;
    assert.deepEqual(
      entries.map((e) => e.request.url),
      [
        'https://pay.example.com/charge', // the malformed time sorts first (epoch)
        'http://127.0.0.1:3000/form',
        'http://127.0.0.1:3000/login?next=%2Fhome',
        'http://127.0.0.1:3000/users/42',
      ],
    );
    const login = entries[2]!;
    assert.deepEqual(login.request.queryString, [{ name: 'next', value: '/home' }]);
    assert.equal(login.request.postData?.text, `{"user":"ada","password":"${REDACTED}"}`);
    assert.deepEqual(
      login.request.headers.find((h) => h.name === 'x-api-key'),
      { name: 'x-api-key', value: REDACTED },
    );
    assert.equal(login.response.content.text, '{"token":"[CLIENT_REDACTED]"}');
    assert.equal(login.time, 12.345678);
    assert.equal(login.response.statusText, 'OK');
    const form = entries[1]!;
    assert.equal(form.request.postData?.text, 'a=1&b=2&b=3');
    assert.deepEqual(form.request.postData?.params, [
      { name: 'a', value: '1' },
      { name: 'b', value: '2' },
      { name: 'b', value: '3' },
    ]);
    assert.deepEqual(form.response.content, {
      size: 4,
      mimeType: 'image/png',
      text: b64(Buffer.from([0x89, 0x50, 0, 1])),
      encoding: 'base64',
    });
    assert.equal(entries[3]!.response.redirectURL, '/elsewhere');
    assert.equal(entries[0]!._apitoolkit.parent_id, '11111111-2222-4333-8444-555555555555');
    assert.equal(entries[0]!._apitoolkit.sdk_type, 'JsFetchOutgoing');
  });

  test('the validator itself rejects what HAR 1.2 forbids', () => {
    const har = toHar([makeRecord()], { name: 'test', version: '1' });
    const broken = structuredClone(har) as unknown as { log: { entries: Record<string, unknown>[] } };
    delete broken.log.entries[0]!.cache;
    assert.throws(() => assertValidHar(broken), /cache/);
    const extra = structuredClone(har) as unknown as { log: { entries: Record<string, unknown>[] } };
    extra.log.entries[0]!.custom = 1;
    assert.throws(() => assertValidHar(extra), /custom fields must start with _/);
  });
});

describe('endpoint catalog', () => {
  test('one row per method + route: counts, error rate, percentiles, last seen, shapes; outgoing calls keyed by host', () => {
    const ms = (n: number): number => n * 1e6;
    const records = [
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((d, i) =>
        makeRecord({
          duration: ms(d),
          raw_url: `/users/${i}`,
          timestamp: `2024-05-01T12:00:${String(i).padStart(2, '0')}.000Z`,
          status_code: i === 9 ? 500 : i === 8 ? 404 : 200,
          response_body: b64(JSON.stringify(i % 2 === 0 ? { id: i, name: 'x' } : { id: String(i), token: REDACTED })),
        }),
      ),
      makeRecord({
        method: 'POST',
        url_path: '/users/:id',
        request_headers: { 'content-type': ['application/json'] },
        request_body: b64('{"name":"a","password":"[CLIENT_REDACTED]"}'),
        response_body: '',
      }),
      makeRecord({
        method: 'GET',
        url_path: '',
        raw_url: '/nope',
        status_code: 404,
        response_body: b64('Not Found'),
        response_headers: { 'content-type': ['text/plain'] },
      }),
      makeRecord({
        method: 'GET',
        sdk_type: 'JsFetchOutgoing',
        host: 'pay.example.com',
        url_path: '/v1/charges',
        errors: [{ when: 'x', error_type: 'E', message: 'm', root_error_type: 'E', root_error_message: 'm', stack_trace: '' }],
      }),
    ];
    const catalog = createCatalog().build(records);
    assert.deepEqual(
      catalog.map((row) => row.key),
      ['GET /users/:id', 'GET ', 'GET pay.example.com/v1/charges', 'POST /users/:id'],
    );
    const users = catalog[0]!;
    assert.equal(users.count, 10);
    assert.equal(users.errors, 1);
    assert.equal(users.clientErrors, 1);
    assert.equal(users.errorRate, 0.1);
    assert.equal(users.p50Ms, 50);
    assert.equal(users.p95Ms, 100);
    assert.equal(users.maxMs, 100);
    assert.equal(users.lastSeen, '2024-05-01T12:00:09.000Z');
    assert.deepEqual(users.statuses, { 200: 8, 404: 1, 500: 1 });
    assert.deepEqual(users.request.kinds, { empty: 10 });
    assert.deepEqual(
      users.response.fields.map((f) => [f.path, f.types.join('|'), f.redacted]),
      [
        ['$', 'object', 0],
        ['$.id', 'string|number', 0],
        ['$.name', 'string', 0],
        ['$.token', '', 5],
      ],
    );
    const post = catalog.find((row) => row.key === 'POST /users/:id')!;
    assert.deepEqual(
      post.request.fields.find((f) => f.path === '$.password'),
      { path: '$.password', types: [], seen: 1, redacted: 1 },
    );
    assert.deepEqual(post.response.kinds, { empty: 1 });
    const unmatched = catalog.find((row) => row.key === 'GET ')!;
    assert.deepEqual(unmatched.response.kinds, { text: 1 });
    const outgoing = catalog.find((row) => row.outgoing)!;
    assert.equal(outgoing.route, 'pay.example.com/v1/charges');
    assert.equal(outgoing.errorRate, 1);
  });

  test('percentile is nearest-rank', () => {
    assert.equal(percentile([], 0.5), 0);
    assert.equal(percentile([5], 0.95), 5);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(percentile([1, 2, 3, 4], 0.95), 4);
  });
});
