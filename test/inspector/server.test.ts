import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { Script } from 'node:vm';
import { publishRecord } from '../helpers/pubsub-rest.js';
import { startCollector, type Collector, type CollectorOptions } from '../../src/collector/index.js';
import { readFileSync } from 'node:fs';
import type { ApiRecord } from '../../src/core/record.js';
import { assertValidHar, b64, makeRecord, rawRequest } from './helpers.js';

// The files as they stand in the repository: the server must serve them byte for byte.
const asset = (name: string) => readFileSync(new URL(`../../src/collector/inspector/assets/${name}`, import.meta.url), 'utf8');
const INSPECTOR_HTML = asset('inspector.html');
const INSPECTOR_SCRIPT = asset('inspector.js');

async function start(t: TestContext, options: CollectorOptions = {}): Promise<Collector & { inspectorURL: string }> {
  const collector = await startCollector(options);
  t.after(() => collector.close());
  assert.ok(collector.inspectorURL !== null);
  return collector as Collector & { inspectorURL: string };
}

async function publish(_t: TestContext, collector: Collector, records: ApiRecord[]): Promise<void> {
  for (const record of records) await publishRecord(collector.pubsubEndpoint, record);
}

/** Reads server-sent events from a fetch body until `count` events arrived. */
async function readEvents(body: ReadableStream<Uint8Array>, count: number): Promise<{ event: string; data: string; id?: string }[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: string; id?: string }[] = [];
  let buffer = '';
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => !l.startsWith(':') && l.includes(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]),
      );
      if (fields.event !== undefined) events.push({ event: fields.event, data: fields.data ?? '', id: fields.id });
    }
  }
  reader.releaseLock();
  return events;
}

describe('inspector server', () => {
  test('binds 127.0.0.1 by default, on its own port; inspector: false turns it off', async (t) => {
    const collector = await start(t);
    assert.match(collector.inspectorURL, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.notEqual(new URL(collector.inspectorURL).port, new URL(collector.rootURL).port);
    const off = await startCollector({ inspector: false });
    t.after(() => off.close());
    assert.equal(off.inspectorURL, null);
  });

  test('every answer forbids inline script and sniffing; the page loads its script and style from itself', async (t) => {
    const collector = await start(t);
    for (const [path, type] of [
      ['', 'text/html'],
      ['inspector.js', 'text/javascript'],
      ['inspector.css', 'text/css'],
      ['api/records', 'application/json'],
      ['api/catalog', 'application/json'],
      ['nope', 'application/json'],
    ] as const) {
      const response = await fetch(`${collector.inspectorURL}${path}`);
      assert.equal(response.status, path === 'nope' ? 404 : 200, path);
      assert.match(response.headers.get('content-type') ?? '', new RegExp(`^${type}`), path);
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, path);
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('cross-origin-resource-policy'), 'same-origin', path);
      await response.arrayBuffer();
    }
    const html = await (await fetch(collector.inspectorURL)).text();
    assert.equal(html, INSPECTOR_HTML);
    assert.deepEqual(
      [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]),
      ['<script src="/inspector.js" defer>'],
    );
    assert.doesNotMatch(html, /<script>[^<]|\son[a-z]+=|\sstyle=|javascript:/i, 'no inline script, handler or style');
    assert.equal(await (await fetch(`${collector.inspectorURL}inspector.js`)).text(), INSPECTOR_SCRIPT);
  });

  test('the page script compiles, and never hands captured data to an HTML parser', () => {
    assert.doesNotThrow(() => new Script(INSPECTOR_SCRIPT, { filename: 'inspector.js' }));
    for (const sink of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'new Function',
      "setAttribute('on",
      'srcdoc',
      '.href = r',
      'javascript:',
    ]) {
      assert.ok(!INSPECTOR_SCRIPT.includes(sink), `inspector.js uses ${sink}`);
    }
    // The one URL it sets is an object URL of the HAR it just built.
    assert.deepEqual(
      [...INSPECTOR_SCRIPT.matchAll(/\.href = ([^;]+);/g)].map((m) => m[1]),
      ['url'],
    );
    assert.match(INSPECTOR_SCRIPT, /var url = URL\.createObjectURL\(file\.blob\);/);
  });

  test('DNS rebinding: a Host that is not a local name gets 403 on every path; local names are served', async (t) => {
    const collector = await start(t, { inspector: { allowedHosts: ['devbox.example.test'] } });
    const port = new URL(collector.inspectorURL).port;
    for (const path of ['', 'inspector.js', 'api/records', 'api/catalog', 'events', 'api/records/1/curl']) {
      const refused = await rawRequest(`${collector.inspectorURL}${path}`, { headers: { host: `attacker.example:${port}` } });
      assert.equal(refused.status, 403, path);
      assert.match(refused.body, /not a local address/);
      assert.equal(refused.headers['x-content-type-options'], 'nosniff');
    }
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      'localhost',
      `devbox.example.test:9000`,
    ]) {
      assert.equal((await rawRequest(`${collector.inspectorURL}api/records`, { headers: { host } })).status, 200, host);
    }
    for (const host of [`127.0.0.1.attacker.example:${port}`, `localhost.attacker.example`, `127.0.0.2:${port}`, `0.0.0.0:${port}`]) {
      assert.equal((await rawRequest(`${collector.inspectorURL}api/records`, { headers: { host } })).status, 403, host);
    }
  });

  test('a request without any Host (HTTP/1.0) is refused', async (t) => {
    const collector = await start(t);
    const socket = connect(Number(new URL(collector.inspectorURL).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.write('GET /api/records HTTP/1.0\r\n\r\n');
    await new Promise((resolve) => socket.on('close', resolve));
    assert.match(answer, /^HTTP\/1\.[01] 403 /);
  });

  test('Origin must be this inspector; cross-site fetches of the API and the stream are refused', async (t) => {
    const collector = await start(t);
    const self = collector.inspectorURL.replace(/\/$/, '');
    const api = `${collector.inspectorURL}api/records`;
    assert.equal((await rawRequest(api, { headers: { host: new URL(self).host, origin: self } })).status, 200);
    for (const origin of ['http://attacker.example', 'null', self.replace('http:', 'https:'), `${self}0`]) {
      assert.equal((await rawRequest(api, { headers: { host: new URL(self).host, origin } })).status, 403, origin);
    }
    const har = await rawRequest(`${collector.inspectorURL}api/har`, {
      method: 'POST',
      headers: { host: new URL(self).host, origin: 'http://attacker.example', 'content-type': 'application/json' },
      body: '{"seqs":[1]}',
    });
    assert.equal(har.status, 403);
    for (const site of ['cross-site', 'same-site']) {
      assert.equal((await rawRequest(api, { headers: { host: new URL(self).host, 'sec-fetch-site': site } })).status, 403, site);
      assert.equal(
        (await rawRequest(`${collector.inspectorURL}events`, { headers: { host: new URL(self).host, 'sec-fetch-site': site } })).status,
        403,
        site,
      );
    }
    // Following a link to the inspector from elsewhere still opens the page (it holds no data).
    assert.equal(
      (await rawRequest(collector.inspectorURL, { headers: { host: new URL(self).host, 'sec-fetch-site': 'cross-site' } })).status,
      200,
    );
    assert.equal((await rawRequest(api, { headers: { host: new URL(self).host, 'sec-fetch-site': 'same-origin' } })).status, 200);
  });

  test('the event stream says hello, then pushes each new record with its seq', async (t) => {
    const collector = await start(t);
    const controller = new AbortController();
    t.after(() => controller.abort());
    const response = await fetch(`${collector.inspectorURL}events`, { signal: controller.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const [hello] = await readEvents(response.body!, 1);
    assert.equal(hello?.event, 'hello');
    const info = JSON.parse(hello!.data) as Record<string, unknown>;
    assert.equal(info.rootURL, collector.rootURL);
    assert.equal(info.pubsubEndpoint, collector.pubsubEndpoint);
    assert.equal(info.total, 0);

    const sent = [makeRecord({ raw_url: '/a' }), makeRecord({ raw_url: '/b' })];
    await publish(t, collector, sent);
    const events = await readEvents(response.body!, 2);
    assert.deepEqual(
      events.map((e) => e.event),
      ['record', 'record'],
    );
    assert.deepEqual(
      events.map((e) => JSON.parse(e.data) as unknown),
      [
        { seq: 1, record: sent[0] },
        { seq: 2, record: sent[1] },
      ],
    );
    assert.deepEqual(
      events.map((e) => e.id),
      ['1', '2'],
    );
  });

  test('the JSON API: records newest-limited, one record, its curl, HAR export of chosen records', async (t) => {
    const collector = await start(t);
    const sent = [0, 1, 2].map((i) =>
      makeRecord({
        raw_url: `/r/${i}`,
        method: 'POST',
        request_headers: { 'content-type': ['application/json'] },
        request_body: b64(`{"i":${i}}`),
      }),
    );
    await publish(t, collector, sent);
    const page = (await (await fetch(`${collector.inspectorURL}api/records?limit=2`)).json()) as {
      total: number;
      records: { seq: number; record: ApiRecord }[];
    };
    assert.equal(page.total, 3);
    assert.deepEqual(
      page.records.map((e) => e.seq),
      [2, 3],
    );
    assert.deepEqual(await (await fetch(`${collector.inspectorURL}api/records/1`)).json(), { seq: 1, record: sent[0] });
    assert.equal((await fetch(`${collector.inspectorURL}api/records/99`)).status, 404);
    const curl = await (await fetch(`${collector.inspectorURL}api/records/2/curl`)).text();
    assert.match(curl, /^curl -sS -X POST 'http:\/\/127\.0\.0\.1:3000\/r\/1'/);
    assert.match(curl, /--data-raw '\{"i":1\}'\n$/);

    const har = await fetch(`${collector.inspectorURL}api/har`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seqs: [3, 1, 1, 404] }),
    });
    assert.equal(har.status, 200);
    assert.match(har.headers.get('content-disposition') ?? '', /^attachment; filename="apitoolkit-[\dTZ-]+\.har"$/);
    const doc = (await har.json()) as { log: { entries: { request: { url: string } }[] } };
    assertValidHar(doc);
    assert.deepEqual(
      doc.log.entries.map((e) => e.request.url),
      ['http://127.0.0.1:3000/r/0', 'http://127.0.0.1:3000/r/2'],
    );

    assert.equal((await fetch(`${collector.inspectorURL}api/har`)).status, 405);
    assert.equal(
      (await fetch(`${collector.inspectorURL}api/har`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"seqs":[1]}' }))
        .status,
      415,
    );
    assert.equal(
      (
        await fetch(`${collector.inspectorURL}api/har`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"seqs":"all"}',
        })
      ).status,
      400,
    );
    assert.equal((await fetch(`${collector.inspectorURL}api/records`, { method: 'DELETE' })).status, 405);
  });

  test('printing collectors announce the inspector URL once it listens', async (t) => {
    let printed = '';
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const collector = await start(t, { print: out });
    assert.equal(printed, `apitoolkit-node inspector: ${collector.inspectorURL}\n\n`);
  });
});
