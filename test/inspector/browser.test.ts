/**
 * The inspector in a real browser (Debian's chromium driven by playwright-core), fed by a real
 * Express app instrumented with the SDK and publishing to the collector over Pub/Sub's REST API. The tests share
 * one app, collector and page and run in order, as a developer would use them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import express from 'express';
import type { BrowserContext, Page } from 'playwright-core';
import { APIToolkit } from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { REDACTED, type ApiRecord } from '../../src/core/record.js';
import { assertValidHar, b64, makeRecord, rawRequest } from './helpers.js';
import { publishRecord } from '../helpers/pubsub-rest.js';
import { eventually } from '../helpers/wait.js';
import { launchChromium } from './chromium.js';

const run = promisify(execFile);
const OUT = fileURLToPath(new URL('../../test-output/inspector/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/inspector.png', import.meta.url));

// Each probe would set window.__pwned or open a dialog if the page ever ran captured content.
const PROBE_SCRIPT = '<script>window.__pwned=1;alert(1)</script>';
const PROBE_IMG = '<img src=x onerror="window.__pwned=2;alert(2)">';
const PROBE_LINK = '<a href="javascript:window.__pwned=3;alert(3)">click me</a>';
const PROBE_HTML = `<h1>hello</h1>${PROBE_SCRIPT}${PROBE_IMG}${PROBE_LINK}<iframe srcdoc="<script>parent.__pwned=4</script>"></iframe>`;

/** Retries an async assertion until it passes (polling, not a fixed wait); rethrows its last failure. */
/** A computed style property of the (first) element of `locator`. */
function style(locator: ReturnType<Page['locator']>, property: string): Promise<string> {
  return locator.evaluate(
    (element, name) => (globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }).getComputedStyle(element)[name]!,
    property,
  );
}

describe('inspector in a browser', () => {
  let dir: string;
  let collector: Collector;
  let apitoolkit: APIToolkit;
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  let app: string;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  /** Waits until the collector holds `count` records in all; returns the newest. */
  async function recorded(count: number): Promise<ApiRecord[]> {
    return collector.waitForRecords(count, 10_000);
  }

  const rows = (): ReturnType<Page['locator']> => page.locator('#log-body tr.record-row');
  const rowFor = (rawUrl: string): ReturnType<Page['locator']> => rows().filter({ has: page.locator('td.url', { hasText: rawUrl }) });
  const detail = (): ReturnType<Page['locator']> => page.locator('#detail > .record-detail');

  async function resetFilters(): Promise<void> {
    await page.selectOption('#filter-method', '');
    await page.selectOption('#filter-status', '');
    await page.selectOption('#filter-route', '');
    await page.fill('#filter-text', '');
  }

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(OUT, `${name}.png`) });
  }

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'apitoolkit-inspector-'));
    collector = await startCollector({ jsonlPath: join(dir, 'records.jsonl') });
    apitoolkit = new APIToolkit({
      apiKey: 'local-key',
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      flushIntervalMs: 0,
      redactHeaders: ['X-Api-Key'],
      redactRequestBody: ['$.password', '$.card.cvv'],
      redactResponseBody: ['$.token'],
      serviceVersion: '1.4.0',
      tags: ['inspector-test'],
    });
    const web = express();
    web.use(express.json(), express.urlencoded({ extended: false }));
    web.use(expressMiddleware(apitoolkit));
    web.get('/users/:id', (req, res) =>
      res.json({ id: Number(req.params.id), name: 'Ada Lovelace', email: 'ada@example.com', teams: [{ id: 1, name: 'core' }] }),
    );
    web.post('/login', (req, res) => res.json({ user: req.body?.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' }));
    web.post('/orders/:id', (req, res) => {
      const items = (req.body?.items ?? []) as { sku: string; qty: number; price: number }[];
      res.status(201).json({
        id: req.params.id,
        source: req.query.source ?? null,
        items: items.map((item) => item.sku),
        total: items.reduce((sum, item) => sum + item.qty * item.price, 0),
        paid_with: String(req.body?.card?.number ?? '').slice(-4),
        api_key_seen: req.get('x-api-key') ?? null,
      });
    });
    web.post('/subscribe', (req, res) => res.status(202).json({ subscribed: req.body?.email ?? null }));
    web.get('/logo.png', (_req, res) =>
      res.type('png').send(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48])),
    );
    web.get('/boom', () => {
      throw new Error('payment provider unavailable', { cause: new TypeError('socket hang up') });
    });
    web.post('/probe', (_req, res) => {
      res.setHeader('x-echo', PROBE_SCRIPT);
      res.type('html').send(PROBE_HTML);
    });
    web.use(expressErrorHandler(apitoolkit));
    web.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: error.message });
    });
    server = web.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    app = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    context = await launchChromium(dir, { acceptDownloads: true });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(collector.inspectorURL!);
    await page.locator('#conn.live').waitFor();
  });

  after(async () => {
    await context?.close();
    await apitoolkit?.shutdown(2_000);
    await new Promise((resolve) => {
      server?.closeAllConnections();
      server?.close(resolve);
    });
    await collector?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('requests appear live, newest first: method, route, URL, coloured status, duration, time', async () => {
    await page.evaluate('window.__sameDocument = true');
    assert.equal(await rows().count(), 0);
    await fetch(`${app}/users/42?expand=teams`);
    await recorded(1);
    await rowFor('/users/42?expand=teams').waitFor();
    await fetch(`${app}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'abc123' },
      body: JSON.stringify({ username: 'ada', password: 'hunter2', card: { number: '4111111111111111', cvv: '123' } }),
    });
    await fetch(`${app}/boom`);
    await fetch(`${app}/nowhere`);
    await fetch(`${app}/users/7`);
    await recorded(5);
    await eventually(async () => assert.equal(await rows().count(), 5));

    const cells = async (i: number): Promise<string[]> => rows().nth(i).locator('td').allTextContents();
    const newest = await cells(0);
    assert.deepEqual(newest.slice(1, 5), ['GET', '/users/:id', '/users/7', '200']);
    assert.match(newest[0]!, /^\d\d:\d\d:\d\d\.\d{3}$/);
    assert.match(newest[5]!, /^\d+\.\d+ (ms|s)$/);
    assert.deepEqual((await cells(1)).slice(1, 5), ['GET', '(no route)', '/nowhere', '404']);
    assert.deepEqual((await cells(2)).slice(1, 4), ['GET', '/boom', '/boomerror']);
    assert.deepEqual((await cells(4)).slice(1, 5), ['GET', '/users/:id', '/users/42?expand=teams', '200']);
    const statusClasses = await rows()
      .locator('td.status')
      .evaluateAll((tds) => tds.map((td) => td.className));
    assert.deepEqual(statusClasses, ['status s2xx', 'status s4xx', 'status s5xx', 'status s2xx', 'status s2xx']);
    const green = await style(rows().nth(0).locator('td.status'), 'color');
    assert.notEqual(await style(rows().nth(2).locator('td.status'), 'color'), green, '5xx is not coloured like 2xx');
    assert.notEqual(await style(rows().nth(1).locator('td.status'), 'color'), green, '4xx is not coloured like 2xx');
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'no reload happened');
    await shot('log');
  });

  test('filters by method, status class, route and free text; pause holds new records until resume', async () => {
    await page.selectOption('#filter-method', 'POST');
    await eventually(async () => assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/login']));
    await resetFilters();
    await page.selectOption('#filter-status', '5');
    await eventually(async () => assert.deepEqual(await rows().locator('td.route').allTextContents(), ['/boom']));
    await page.selectOption('#filter-status', '4');
    await eventually(async () => assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/nowhere']));
    await page.selectOption('#filter-status', 'error');
    await eventually(async () => assert.deepEqual(await rows().locator('td.route').allTextContents(), ['/boom']));
    await resetFilters();
    await page.selectOption('#filter-route', '/users/:id');
    await eventually(async () =>
      assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/users/7', '/users/42?expand=teams']),
    );
    await resetFilters();
    // Free text searches decoded bodies and headers too.
    await page.fill('#filter-text', 'lovelace');
    await eventually(async () =>
      assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/users/7', '/users/42?expand=teams']),
    );
    await page.fill('#filter-text', 'HUNTER2');
    await eventually(async () => assert.equal(await rows().count(), 0, 'the password never reached the inspector'));
    await page.fill('#filter-text', 'socket hang up');
    await eventually(async () => assert.deepEqual(await rows().locator('td.route').allTextContents(), ['/boom']));
    assert.match((await page.locator('#count').textContent()) ?? '', /^1 of 5 requests$/);
    await shot('filtered');
    await resetFilters();

    await page.click('#pause');
    await page.locator('#conn.paused').waitFor();
    await fetch(`${app}/users/99`);
    await recorded(6);
    await page.locator('#pause', { hasText: 'Resume (1 new)' }).waitFor();
    assert.equal(await rowFor('/users/99').count(), 0, 'held while paused');
    await page.click('#pause');
    await rowFor('/users/99').waitFor();
    assert.equal(await rows().first().locator('td.url').textContent(), '/users/99');
    assert.equal(await page.locator('#pause').textContent(), 'Pause');
  });

  test('the detail decodes and pretty-prints bodies, highlights every redaction, and shows the raw record', async () => {
    await rowFor('/login').click();
    await detail().waitFor();
    const login = collector.records().find((r) => r.url_path === '/login')!;
    assert.equal(await detail().locator('h2').textContent(), 'POST /login 200');
    const requestBody = await detail().locator('.body-request pre.body-text').textContent();
    assert.deepEqual(JSON.parse(requestBody!), {
      username: 'ada',
      password: REDACTED,
      card: { number: '4111111111111111', cvv: REDACTED },
    });
    assert.match(requestBody!, /\n {2}"username": "ada",\n/, 'pretty-printed');
    assert.match((await detail().locator('.body-request .body-meta').textContent()) ?? '', /^JSON · \d+ B · application\/json$/);
    assert.deepEqual(JSON.parse((await detail().locator('.body-response pre.body-text').textContent())!), { user: 'ada', token: REDACTED });
    const headerRow = detail().locator('table.request-headers tr', { has: page.locator('td.k', { hasText: /^x-api-key$/ }) });
    assert.equal(await headerRow.locator('td.v mark.redacted').textContent(), REDACTED);
    // Every marker in the record is highlighted: header, password, cvv, token.
    const marks = detail().locator('mark.redacted');
    assert.equal(await marks.count(), 4);
    assert.equal(await style(marks.first(), 'backgroundColor'), 'rgb(255, 216, 77)');
    const visible = (await detail().textContent())!;
    assert.equal(visible.split(REDACTED).length - 1, 4);
    assert.ok(!visible.includes('hunter2') && !visible.includes('abc123'));
    assert.match(visible, /msg_id.*[0-9a-f-]{36}/);
    assert.match(visible, /Version1\.4\.0/);

    await detail().locator('button.toggle-raw').click();
    const raw = detail().locator('pre.raw-json');
    await raw.waitFor();
    assert.deepEqual(JSON.parse((await raw.textContent())!), login);
    assert.equal(await raw.locator('mark.redacted').count(), 1, 'the header marker; bodies are base64 in the raw record');
    if (process.env.APITOOLKIT_DOCS_SCREENSHOT === '1' || !existsSync(DOCS_SCREENSHOT)) {
      await detail().locator('button.toggle-raw').click();
      await page.screenshot({ path: DOCS_SCREENSHOT });
      await detail().locator('button.toggle-raw').click();
    }
    await shot('detail');

    await rowFor('/boom').click();
    await detail().locator('h2', { hasText: '/boom' }).waitFor();
    const error = detail().locator('.errors .error').first();
    assert.equal(await error.locator('.error-head').textContent(), 'Error: payment provider unavailable');
    assert.equal(await error.locator('.cause').textContent(), 'caused by TypeError: socket hang up');
    assert.match((await error.locator('pre.stack').textContent())!, /^Error: payment provider unavailable\n\s+at /);
    assert.deepEqual(JSON.parse((await detail().locator('.body-response pre.body-text').textContent())!), {
      error: 'payment provider unavailable',
    });
    await shot('detail-error');
  });

  test('form and binary bodies: fields shown as fields, binary as size and type', async () => {
    await fetch(`${app}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=ada%40example.com&topics=api&topics=sdk',
    });
    await fetch(`${app}/logo.png`);
    await recorded(8);
    await rowFor('/subscribe').click();
    await detail().locator('h2', { hasText: '/subscribe' }).waitFor();
    assert.match((await detail().locator('.body-request .body-meta').textContent()) ?? '', /^form fields · /);
    assert.deepEqual(JSON.parse((await detail().locator('.body-request pre.body-text').textContent())!), {
      email: 'ada@example.com',
      topics: ['api', 'sdk'],
    });
    await rowFor('/logo.png').click();
    await detail().locator('h2', { hasText: '/logo.png' }).waitFor();
    assert.equal(await detail().locator('.body-response .body-meta').textContent(), 'binary · 14 B · image/png');
    assert.equal(await detail().locator('.body-response pre').count(), 0, 'no bytes dumped as text');
    assert.equal(await detail().locator('.body-request .body-meta').textContent(), 'empty');
  });

  test('an outgoing call made under a request is nested under it, with its own detail', async () => {
    const parent = collector.records().find((r) => r.raw_url === '/users/7')!;
    const call = makeRecord({
      sdk_type: 'JsFetchOutgoing',
      parent_id: parent.msg_id,
      method: 'GET',
      host: 'billing.internal:8443',
      url_path: '/v1/customers/:id',
      raw_url: '/v1/customers/7?fields=plan',
      request_headers: { authorization: [REDACTED], accept: ['application/json'] },
      response_headers: { 'content-type': ['application/json'] },
      response_body: b64(JSON.stringify({ id: 7, plan: 'pro', api_secret: REDACTED })),
      duration: 4_200_000,
      timestamp: new Date().toISOString(),
    });
    const before = collector.records().length;
    await publishRecord(collector.pubsubEndpoint, call);
    await recorded(before + 1);
    await rowFor('/users/7').locator('.badge.calls', { hasText: '↳ 1 call' }).waitFor();
    assert.equal(await rowFor('/v1/customers/7').count(), 0, 'the call is not a row of its own');

    await rowFor('/users/7').click();
    await detail().locator('h2', { hasText: '/users/7' }).waitFor();
    const nested = detail().locator('.children details.child');
    assert.equal(await nested.count(), 1);
    assert.equal(await detail().locator('h3', { hasText: 'Outgoing calls (1)' }).count(), 1);
    assert.match(
      (await nested.locator('summary').textContent())!,
      /^GET billing\.internal:8443\/v1\/customers\/7\?fields=plan 200 4\.20 ms$/,
    );
    await nested.locator('summary').click();
    const child = nested.locator('.record-detail');
    await child.waitFor();
    assert.deepEqual(JSON.parse((await child.locator('.body-response pre.body-text').textContent())!), {
      id: 7,
      plan: 'pro',
      api_secret: REDACTED,
    });
    assert.equal(await child.locator('mark.redacted').count(), 2);
    assert.match((await child.locator('dl.summary').textContent())!, new RegExp(`parent_id${parent.msg_id}`));
    assert.match((await child.locator('dl.summary').textContent())!, /SDKJsFetchOutgoing/);
    await shot('outgoing');
  });

  test('the endpoint catalog counts each method + route with error rate, latency and body shapes', async () => {
    await page.click('#tab-catalog');
    await page.locator('#catalog-view').waitFor();
    const row = (key: string): ReturnType<Page['locator']> => page.locator(`#catalog-body tr.endpoint[data-key="${key}"]`);
    await eventually(async () => assert.equal(await row('GET /users/:id').locator('td.count').textContent(), '3'));
    assert.equal(await row('POST /login').locator('td.count').textContent(), '1');
    assert.equal(await row('GET /boom').locator('td.errors').textContent(), '100%');
    assert.equal(await row('GET /users/:id').locator('td.errors').textContent(), '0%');
    assert.equal(await row('GET ').locator('td.route').textContent(), '(no route)');
    assert.equal(await row('GET billing.internal:8443/v1/customers/:id').locator('td.route .badge.out').count(), 1);
    for (const column of ['p50', 'p95', 'max'])
      assert.match((await row('GET /users/:id').locator(`td.${column}`).textContent())!, /^\d+\.\d+ (ms|s)$/);
    assert.match((await row('GET /users/:id').locator('td.last-seen').textContent())!, /^\d\d:\d\d:\d\d\.\d{3}$/);

    const field = (key: string, side: 'request' | 'response', path: string): ReturnType<Page['locator']> =>
      row(key)
        .locator(`td.${side}-shape li`)
        .filter({ has: page.locator('code.path', { hasText: new RegExp(`^${path.replace(/[$.[\]*]/g, '\\$&')}$`) }) });
    assert.equal(await field('POST /login', 'request', '$.password').locator('mark.redacted').textContent(), 'redacted');
    assert.equal(await field('POST /login', 'request', '$.card.cvv').locator('mark.redacted').textContent(), 'redacted');
    assert.equal(await field('POST /login', 'request', '$.username').locator('.types').textContent(), ' string');
    assert.equal(await field('POST /login', 'request', '$.username').locator('mark').count(), 0);
    assert.equal(await field('POST /login', 'response', '$.token').locator('mark.redacted').count(), 1);
    assert.equal(await field('GET /users/:id', 'response', '$.teams[*].id').locator('.types').textContent(), ' number');
    assert.match((await row('GET /users/:id').locator('td.request-shape .shape-kinds').textContent())!, /^empty ×3$/);
    assert.match((await row('GET /logo.png').locator('td.response-shape .shape-kinds').textContent())!, /^binary ×1$/);
    await shot('catalog');

    // Live: a new request updates the catalog without a reload.
    await fetch(`${app}/users/1`);
    await eventually(async () => assert.equal(await row('GET /users/:id').locator('td.count').textContent(), '4'));

    // A route in the catalog opens the log filtered to it.
    await row('POST /login').locator('td.route').click();
    await page.locator('#log-view').waitFor();
    await eventually(async () => assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/login']));
    await resetFilters();
  });

  test('copy as cURL gives a command that replays the request against the app, redacted values kept as markers', async () => {
    const body = {
      items: [
        { sku: 'book', qty: 2, price: 12.5 },
        { sku: 'pen', qty: 1, price: 1.25 },
      ],
      card: { number: '4111111111111111', cvv: '123' },
    };
    // A raw request keeps the ' in the URL as it is: the command has to quote it.
    const original = await rawRequest(`${app}/orders/7?source=web&note=it's%20%22quoted%22`, {
      method: 'POST',
      headers: {
        host: new URL(app).host,
        'content-type': 'application/json',
        'x-api-key': 'abc123',
        'x-request-id': 'r-1',
        'accept-encoding': 'gzip',
      },
      body: JSON.stringify(body),
    });
    assert.equal(original.status, 201);
    const originalText = original.body;
    const count = collector.records().length + 1;
    await recorded(count);
    await rowFor('/orders/7').click();
    await detail().locator('h2', { hasText: '/orders/7' }).waitFor();
    await detail().locator('button.copy-curl').click();
    const out = detail().locator('pre.curl-output');
    await out.waitFor();
    const command = (await out.textContent())!;
    assert.match(command, /^curl -sS -X POST 'http:\/\/127\.0\.0\.1:\d+\/orders\/7\?source=web&note=it'\\''s%20%22quoted%22'/);
    assert.match(command, /-H 'x-api-key: \[CLIENT_REDACTED\]'/);
    assert.equal(await out.locator('mark.redacted').count(), 2, 'the key and the cvv are highlighted in the command');
    await shot('curl');

    const { stdout } = await run('bash', ['-c', command], { timeout: 15_000 });
    const replayed = JSON.parse(stdout) as Record<string, unknown>;
    const expected = JSON.parse(originalText) as Record<string, unknown>;
    assert.deepEqual({ ...replayed, api_key_seen: 'x' }, { ...expected, api_key_seen: 'x' }, 'same answer from the app');
    assert.equal(replayed.api_key_seen, REDACTED, 'the secret stayed a marker');
    assert.equal(expected.api_key_seen, 'abc123');
    // The replay was captured too, and its request is the recorded one.
    const [first, replay] = (await recorded(count + 1)).filter((r) => r.url_path === '/orders/:id');
    assert.ok(first && replay);
    assert.equal(replay.raw_url, first.raw_url);
    assert.equal(replay.request_body, first.request_body);
    assert.deepEqual(replay.request_headers['x-request-id'], ['r-1']);
    assert.equal(replay.status_code, 201);
    await eventually(async () => assert.equal(await rowFor('/orders/7').count(), 2));
  });

  test('Export HAR downloads the requests matching the filter (with their outgoing calls) as valid HAR 1.2', async () => {
    await page.selectOption('#filter-route', '/users/:id');
    await eventually(async () => assert.equal(await rows().count(), 4));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-har')]);
    assert.match(download.suggestedFilename(), /^apitoolkit-[\dTZ-]+\.har$/);
    const path = join(OUT, 'export.har');
    await download.saveAs(path);
    const har = JSON.parse(readFileSync(path, 'utf8')) as {
      log: { entries: { request: { url: string; method: string }; _apitoolkit: { url_path: string; sdk_type: string } }[] };
    };
    assertValidHar(har);
    const entries = har.log.entries;
    assert.equal(entries.length, 5, 'four requests and the call made under one of them');
    assert.deepEqual(
      entries.filter((e) => e._apitoolkit.sdk_type === 'JsExpress').map((e) => e._apitoolkit.url_path),
      ['/users/:id', '/users/:id', '/users/:id', '/users/:id'],
    );
    assert.deepEqual(
      entries.filter((e) => e._apitoolkit.sdk_type === 'JsFetchOutgoing').map((e) => e.request.url),
      ['http://billing.internal:8443/v1/customers/7?fields=plan'],
    );
    assert.ok(entries.every((e) => e.request.method === 'GET'));
    await resetFilters();
  });

  test('XSS probes in bodies, headers, URLs, error messages and field names stay inert text', async () => {
    const before = collector.records().length;
    const probeBody = JSON.stringify({
      comment: PROBE_SCRIPT,
      link: PROBE_LINK,
      [PROBE_IMG]: 'a field name',
      nested: { html: PROBE_HTML },
    });
    const response = await rawRequest(`${app}/probe?q=${encodeURIComponent(PROBE_SCRIPT)}&raw=<b>x</b>`, {
      method: 'POST',
      headers: {
        host: new URL(app).host,
        'content-type': 'application/json',
        'x-probe': PROBE_IMG,
        referer: 'javascript:window.__pwned=5;alert(5)',
        [`x-${'a'.repeat(3)}`]: PROBE_LINK,
      },
      body: probeBody,
    });
    assert.equal(response.status, 200);
    await recorded(before + 1);
    const probeRecord = collector.records().find((r) => r.url_path === '/probe')!;
    assert.equal(probeRecord.referer, 'javascript:window.__pwned=5;alert(5)');
    await publishRecord(
      collector.pubsubEndpoint,
      makeRecord({
        method: 'GET',
        url_path: `/x/${PROBE_IMG}`,
        raw_url: `/x/${PROBE_SCRIPT}`,
        status_code: 500,
        timestamp: new Date().toISOString(),
        errors: [
          {
            when: new Date().toISOString(),
            error_type: PROBE_IMG,
            message: PROBE_SCRIPT,
            root_error_type: PROBE_LINK,
            root_error_message: PROBE_HTML,
            stack_trace: PROBE_HTML,
          },
        ],
        response_headers: { 'content-type': ['text/html'] },
        response_body: b64(PROBE_HTML),
      }),
    );
    await recorded(before + 2);

    await rowFor('/probe').click();
    await detail().locator('h2', { hasText: '/probe' }).waitFor();
    await detail().locator('button.toggle-raw').click();
    await detail().locator('button.copy-curl').click();
    await detail().locator('pre.curl-output').waitFor();
    const text = (await detail().textContent())!;
    for (const probe of [PROBE_SCRIPT, PROBE_IMG, PROBE_LINK, 'javascript:window.__pwned=5;alert(5)'])
      assert.ok(text.includes(probe), `shown as text: ${probe}`);
    await shot('xss-detail');

    await rowFor(`/x/${PROBE_SCRIPT}`).click();
    await detail().locator('.errors').waitFor();
    assert.equal(await detail().locator('.error-head .error-type').textContent(), PROBE_IMG);
    assert.equal(await detail().locator('.body-response pre.body-text').textContent(), PROBE_HTML);

    await page.fill('#filter-text', '<script>');
    await eventually(async () => assert.equal(await rows().count(), 2));
    await resetFilters();
    await page.click('#tab-catalog');
    await page.locator(`#catalog-body tr.endpoint[data-key="POST /probe"]`).waitFor();
    const fieldNames = await page.locator('#catalog-body tr.endpoint[data-key="POST /probe"] td.request-shape code.path').allTextContents();
    assert.ok(fieldNames.includes(`$['${PROBE_IMG}']`), fieldNames.join(', '));
    await shot('xss-catalog');
    await page.click('#tab-log');

    // Nothing ran: no flag, no dialog, no element the probes would have created, no CSP report
    // (which would mean something had tried to run inline script).
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.deepEqual(dialogs, []);
    const dom = await page.evaluate(`({
      scripts: [...document.scripts].map((s) => s.getAttribute('src')),
      imgs: document.images.length,
      iframes: document.querySelectorAll('iframe').length,
      links: document.querySelectorAll('a[href]').length,
      handlers: [...document.querySelectorAll('*')].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
    })`);
    assert.deepEqual(dom, { scripts: ['/inspector.js'], imgs: 0, iframes: 0, links: 0, handlers: [] });
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(
      consoleErrors.filter((m) => /Content Security Policy|Refused to/i.test(m)),
      [],
    );
  });

  test('the store survives a collector restart: the page of a new collector shows the earlier records', async () => {
    const earlier = collector.records().map((r) => r.msg_id);
    const jsonlPath = collector.jsonlPath!;
    await apitoolkit.shutdown(2_000);
    await collector.close();
    await page.locator('#conn.down').waitFor();

    collector = await startCollector({ jsonlPath });
    assert.deepEqual(collector.records(), []);
    assert.deepEqual(
      collector.storedRecords().map((r) => r.msg_id),
      earlier,
    );
    await page.goto(collector.inspectorURL!);
    await page.locator('#conn.live').waitFor();
    await eventually(async () => assert.equal(await rowFor('/users/42?expand=teams').count(), 1));
    await eventually(
      async () => assert.match((await page.locator('#count').textContent()) ?? '', new RegExp(`of ${earlier.length - 1} requests$`)),
      5_000,
    );
    assert.deepEqual(dialogs, []);
  });
});
