/**
 * The inspector's Leaks view and its dev-tools-like log, in a real browser (Debian's chromium driven
 * by playwright-core). Records are real SDK output: a real Express app instrumented with the SDK
 * (outgoing fetch calls captured too) delivering to MemoryTransport, whose records are added to the
 * inspector's store as they arrive; the inspector server is the real one.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { BrowserContext, Page } from 'playwright-core';
import { APIToolkit, MemoryTransport } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { startInspector, type InspectorServer } from '../../src/collector/inspector/server.js';
import { dismissalsPath, openRecordStore, type RecordStore } from '../../src/collector/store.js';
import { rawRequest } from './helpers.js';
import { eventually } from '../helpers/wait.js';
import { launchChromium } from './chromium.js';

const OUT = fileURLToPath(new URL('../../test-output/inspector/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/leaks.png', import.meta.url));
const CARD = '4111111111111111';
const RULE = `redactRequestBody: ["$['credit-card'].number"]`;

describe('inspector: Leaks view and the request log, in a browser', () => {
  let dir: string;
  let store: RecordStore;
  let inspector: InspectorServer;
  let context: BrowserContext;
  let page: Page;
  let app: string;
  const clients: APIToolkit[] = [];
  const servers: ReturnType<ReturnType<typeof express>['listen']>[] = [];
  const transports: MemoryTransport[] = [];
  const added = new WeakSet<object>();
  const notFound: string[] = [];
  const pageErrors: string[] = [];

  /** Flushes every client and adds the records they delivered to the inspector's store. */
  async function sync(): Promise<void> {
    for (const client of clients) await client.flush(2_000);
    for (const transport of transports) {
      for (const record of transport.records()) {
        if (added.has(record)) continue;
        added.add(record);
        store.add(record);
      }
    }
  }

  async function listen(web: ReturnType<typeof express>): Promise<string> {
    const server = web.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  function instrumented(options: ConstructorParameters<typeof APIToolkit>[0]): APIToolkit {
    const transport = new MemoryTransport();
    transports.push(transport);
    const client = new APIToolkit({ transport, flushIntervalMs: 0, redactRequestBody: ['$.password'], ...options });
    clients.push(client);
    return client;
  }

  const rows = (): ReturnType<Page['locator']> => page.locator('#log-body tr.record-row');
  const rowFor = (text: string): ReturnType<Page['locator']> => rows().filter({ has: page.locator('td.url', { hasText: text }) });
  const detail = (): ReturnType<Page['locator']> => page.locator('#detail > .record-detail');
  const leakRow = (id: string): ReturnType<Page['locator']> => page.locator(`#leaks-body tr.leak[data-id="${id.replace(/"/g, '\\"')}"]`);

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'apitoolkit-leaks-browser-'));
    store = await openRecordStore({ path: join(dir, 'records.jsonl'), maxRecords: 1_000, maxBytes: 16 << 20 });

    const billing = express();
    billing.get('/v1/customers/:id', async (req, res) => {
      await sleep(Number(req.query.wait ?? 5));
      res.json({ id: req.params.id, plan: 'pro', stripe_key: 'sk_live_4eC39HqLyjWDarjtT1zdp7dc' });
    });
    const billingUrl = await listen(billing);

    const client = instrumented({ serviceVersion: '1.4.0', tags: ['prod'], captureOutgoing: { fetch: true } });
    const canary = instrumented({ serviceVersion: '2.0.0-canary', tags: ['canary'] });
    const web = express();
    web.use(express.json());
    web.use(expressMiddleware(client));
    web.post('/login', (req, res) => res.json({ user: req.body.username }));
    web.get('/users/:id', async (req, res) => {
      // Two calls one after the other: the waterfall shows the second starting after the first.
      await (await fetch(`${billingUrl}/v1/customers/${req.params.id}?wait=15`)).json();
      await (await fetch(`${billingUrl}/v1/customers/${req.params.id}?wait=5`)).json();
      res.json({ id: req.params.id, name: 'Ada Lovelace', padding: 'x'.repeat(Number(req.params.id)) });
    });
    app = await listen(web);
    const canaryApp = express();
    canaryApp.use(expressMiddleware(canary));
    canaryApp.get('/health', (_req, res) => res.json({ ok: true }));
    const canaryUrl = await listen(canaryApp);

    // The test's own requests go through node:http: global fetch is captured (as outgoing calls).
    for (let i = 0; i < 2; i++) {
      await rawRequest(`${app}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'sk_live_4eC39HqLyjWDarjtT1zdp7dc' },
        body: JSON.stringify({ username: 'ada', password: 'hunter2', 'credit-card': { number: CARD, cvv: '123' } }),
      });
    }
    await rawRequest(`${app}/users/7`);
    await rawRequest(`${app}/users/2000`);
    await rawRequest(`${canaryUrl}/health`);
    await sync();

    inspector = await startInspector(store, { port: 0 }, () => ({
      version: 'test',
      rootURL: 'n/a',
      pubsubEndpoint: 'n/a',
      jsonlPath: store.path,
      projectId: 'p',
    }));
    context = await launchChromium(dir);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(inspector.url).origin });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('response', (response) => {
      if (response.status() === 404) notFound.push(response.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(inspector.url);
    await page.locator('#conn.live').waitFor();
    await eventually(async () =>
      assert.equal(
        await rows().count(),
        5,
        (await rows().allTextContents()).join('\n') +
          JSON.stringify(store.list().map((e) => [e.record.sdk_type, e.record.raw_url, e.record.parent_id, e.record.msg_id])),
      ),
    );
  });

  after(async () => {
    await context?.close();
    await inspector?.close();
    for (const client of clients) await client.shutdown(1_000);
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the Leaks view lists each finding once per endpoint and field, with the rule to add and a copy button', async () => {
    await eventually(async () => assert.equal(await page.locator('#leak-count').textContent(), '4'));
    await page.click('#tab-leaks');
    const card = leakRow("POST /login request_body $['credit-card'].number");
    await card.waitFor();
    assert.equal(await card.locator('td.confidence').textContent(), 'high');
    assert.match(
      (await card.locator('td.finding').textContent())!,
      /payment card number \(Visa, Luhn-valid\) \[payment-card\]e\.g\. 4111…1111 \(16 chars\)/,
    );
    assert.equal(await card.locator('td.endpoint').textContent(), 'POST /login');
    assert.equal(await card.locator('td.where').textContent(), "request body $['credit-card'].number");
    assert.equal(await card.locator('td.records').textContent(), '2', 'two records, one row');
    assert.equal(await card.locator('code.rule-text').textContent(), RULE);
    assert.equal(
      await leakRow('POST /login request_header x-api-key').locator('code.rule-text').textContent(),
      'redactHeaders: ["x-api-key"]',
    );
    assert.equal(await leakRow("POST /login request_body $['credit-card'].cvv").count(), 1);
    assert.equal(await page.locator('#leaks-body tr.leak').count(), 4);

    await card.locator('button.copy-rule').click();
    await card.locator('button.copy-rule', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), RULE);
    // The label comes back, so the next copy can be seen to work.
    await card.locator('button.copy-rule', { hasText: /^Copy$/ }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(OUT, 'leaks.png') });
    if (process.env.APITOOLKIT_DOCS_SCREENSHOT === '1' || !existsSync(DOCS_SCREENSHOT)) await page.screenshot({ path: DOCS_SCREENSHOT });
  });

  test('the records of a finding open in the log, and the detail highlights the flagged value', async () => {
    await leakRow("POST /login request_body $['credit-card'].number").locator('td.records').click();
    await page.locator('#log-view').waitFor();
    await eventually(async () => assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/login', '/login']));
    assert.match((await page.locator('#leak-filter').textContent())!, /request body \$\['credit-card'\]\.number of POST \/login/);
    await rows().first().click();
    const leak = detail().locator('.body-request mark.leak');
    await leak.first().waitFor();
    assert.deepEqual(await leak.allTextContents(), [CARD, '"123"']);
    assert.equal(await detail().locator('mark.redacted').count(), 1, 'the password, redacted by its rule');
    assert.equal(await detail().locator('table.request-headers mark.leak').textContent(), 'sk_live_4eC39HqLyjWDarjtT1zdp7dc');
    assert.equal(await detail().locator('h3', { hasText: 'Leaks (4)' }).count(), 1);
    const items = await detail().locator('.leaks-box li').allTextContents();
    assert.deepEqual(items.map((i) => i.replace(/^(high|medium|low) .* in (.*) \[(.*)\]$/, '$2 [$3]')).sort(), [
      "request body $['credit-card'].cvv [card-security-code]",
      "request body $['credit-card'].number [payment-card]",
      'request header x-api-key [credential-field]',
      'request header x-api-key [secretlint/stripe]',
    ]);
    await page.screenshot({ path: join(OUT, 'leaks-detail.png') });
    await page.click('#leak-filter-clear');
    await eventually(async () => assert.equal(await rows().count(), 5));
    assert.ok(await page.locator('#leak-filter').isHidden());
  });

  test("an outgoing call's finding suggests the outgoing rule, and its records are listed though they sit under a request", async () => {
    await page.click('#tab-leaks');
    const call = page.locator('#leaks-body tr.leak', { has: page.locator('td.endpoint .badge.out') });
    await call.waitFor();
    assert.match((await call.getAttribute('data-id'))!, /^GET 127\.0\.0\.1:\d+\/v1\/customers\/:id response_body \$\.stripe_key$/);
    assert.equal(await call.locator('code.rule-text').textContent(), 'redactOutgoingResponseBody: ["$.stripe_key"]');
    assert.equal(await call.locator('td.records').textContent(), '4');
    await call.locator('td.records').click();
    await page.locator('#log-view').waitFor();
    await eventually(async () => assert.equal(await rows().locator('.badge.out').count(), 4));
    await page.click('#leak-filter-clear');
    await eventually(async () => assert.equal(await rows().count(), 5, 'nested under their requests again'));
  });

  test('a dismissed finding leaves the list, is kept in the store and its file, and can be reopened', async () => {
    await page.click('#tab-leaks');
    const id = 'POST /login request_header x-api-key';
    await leakRow(id).locator('button.dismiss').click();
    await eventually(async () => assert.equal(await leakRow(id).count(), 0));
    assert.equal(await page.locator('#leak-count').textContent(), '3');
    assert.deepEqual(store.dismissed(), [id]);
    await eventually(async () => assert.deepEqual(JSON.parse(readFileSync(dismissalsPath(store.path!), 'utf8')), { dismissed: [id] }));
    await page.reload();
    await page.click('#tab-leaks');
    await page.locator('#leaks-body tr.leak').first().waitFor();
    assert.equal(await leakRow(id).count(), 0, 'still dismissed after a reload');
    await page.check('#leaks-show-dismissed');
    await leakRow(id).locator('button.reopen').click();
    await eventually(async () => assert.equal(await leakRow(id).locator('button.dismiss').count(), 1));
    assert.deepEqual(store.dismissed(), []);
    await page.uncheck('#leaks-show-dismissed');
    await page.click('#tab-log');
  });

  test('size column, sorting by any column, resizable columns', async () => {
    assert.equal(await page.locator('#log thead th').nth(6).textContent(), 'Size');
    const sizes = await rows().locator('td.size').allTextContents();
    assert.ok(
      sizes.every((s) => /^\d+(\.\d)? (B|KiB|MiB)$/.test(s)),
      sizes.join(),
    );
    assert.equal(await rowFor('/users/2000').locator('td.size').textContent(), '2.0 KiB');

    await page.click('#log thead th[data-sort="size"]');
    assert.equal(await page.getAttribute('#log thead th[data-sort="size"]', 'aria-sort'), 'ascending');
    const bytes = async (): Promise<number[]> =>
      (await rows().locator('td.size').allTextContents()).map((s) => parseFloat(s) * (s.endsWith('KiB') ? 1024 : 1));
    await eventually(async () => {
      const got = await bytes();
      assert.deepEqual(
        got,
        [...got].sort((a, b) => a - b),
      );
    });
    await page.click('#log thead th[data-sort="size"]');
    assert.equal(await page.getAttribute('#log thead th[data-sort="size"]', 'aria-sort'), 'descending');
    await eventually(async () => assert.match((await rows().first().locator('td.url').textContent())!, /^\/users\/2000/));
    await page.click('#log thead th[data-sort="url"]');
    await eventually(async () =>
      assert.deepEqual(
        (await rows().locator('td.url').allTextContents()).map((u) => u.replace(/↳.*/, '')),
        ['/health', '/login', '/login', '/users/2000', '/users/7'],
      ),
    );

    const route = page.locator('#log thead th[data-sort="route"]');
    const url = page.locator('#log thead th[data-sort="url"]');
    const before = (await route.boundingBox())!;
    const urlBefore = (await url.boundingBox())!;
    const handle = (await route.locator('.resizer').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(handle.x + handle.width / 2 + 100, handle.y + handle.height / 2, { steps: 5 });
    await page.mouse.up();
    const afterBox = (await route.boundingBox())!;
    assert.ok(Math.abs(afterBox.width - (before.width + 100)) <= 3, `width ${before.width} -> ${afterBox.width}`);
    assert.ok((await url.boundingBox())!.width < urlBefore.width - 90, 'the URL column gave the room');
    assert.equal(await page.getAttribute('#log thead th[data-sort="url"]', 'aria-sort'), 'ascending', 'the drag did not sort');
  });

  test('keyboard: arrows (and j/k) move through the requests, Escape closes the detail', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('ArrowDown');
    await eventually(async () => assert.equal(await detail().getAttribute('data-seq'), await rows().nth(0).getAttribute('data-seq')));
    await page.keyboard.press('ArrowDown');
    await eventually(async () => assert.equal(await detail().getAttribute('data-seq'), await rows().nth(1).getAttribute('data-seq')));
    assert.equal(await page.locator('#log-body tr.selected').getAttribute('data-seq'), await rows().nth(1).getAttribute('data-seq'));
    await page.keyboard.press('k');
    await eventually(async () => assert.equal(await detail().getAttribute('data-seq'), await rows().nth(0).getAttribute('data-seq')));
    await page.keyboard.press('Escape');
    await eventually(async () => assert.ok(await page.locator('#detail').isHidden()));
    await page.keyboard.press('/');
    assert.equal(await page.evaluate('document.activeElement.id'), 'filter-text');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
  });

  test('per-service filter (version and tags); the detail closes when the filter hides its record', async () => {
    const options = await page.locator('#filter-service option').allTextContents();
    assert.deepEqual(options, ['all', 'tag canary', 'tag prod', 'version 1.4.0', 'version 2.0.0-canary']);
    await rowFor('/login').first().click();
    await detail().waitFor();
    await page.selectOption('#filter-service', 't:canary');
    await eventually(async () => assert.deepEqual(await rows().locator('td.url').allTextContents(), ['/health']));
    assert.ok(await page.locator('#detail').isHidden(), 'the /login detail is gone with its row');
    await page.selectOption('#filter-service', 'v:1.4.0');
    await eventually(async () => assert.equal(await rows().count(), 4));
    await page.selectOption('#filter-service', '');
  });

  test('outgoing calls: their URL once, and a timing waterfall under the request', async () => {
    await rowFor('/users/7').click();
    const calls = detail().locator('.children details.child summary');
    await eventually(async () => assert.equal(await calls.count(), 2));
    const texts = await calls.allTextContents();
    for (const text of texts) {
      assert.match(text, /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/customers\/7\?wait=\d+ 200 \d+\.\d+ ms$/);
      assert.ok(!/\d(http)/.test(text), `host not repeated before the URL: ${text}`);
    }
    const bars = await calls.locator('.waterfall .bar').evaluateAll((elements) =>
      elements.map((e) => {
        const style = (e as unknown as { style: { left: string; width: string } }).style;
        return { left: parseFloat(style.left), width: parseFloat(style.width) };
      }),
    );
    assert.equal(bars.length, 2);
    assert.ok(
      bars.every((b) => b.width > 0 && b.left >= 0 && b.left + b.width <= 100.01),
      JSON.stringify(bars),
    );
    assert.ok(bars[1]!.left >= bars[0]!.left + bars[0]!.width - 1, `the second call starts after the first ends: ${JSON.stringify(bars)}`);
    assert.ok(bars[0]!.width > bars[1]!.width, 'the 15 ms call is longer than the 5 ms one');
    await calls.first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT, 'waterfall.png') });
  });

  test('Copy as cURL says Copied, then comes back', async () => {
    await detail().locator('button.copy-curl').click();
    await detail().locator('button.copy-curl', { hasText: 'Copied' }).waitFor();
    await detail().locator('button.copy-curl', { hasText: 'Copy as cURL' }).waitFor({ timeout: 5_000 });
  });

  test('at 800 px with the detail open: no column cut, nothing wider than the window', async () => {
    await page.setViewportSize({ width: 800, height: 700 });
    await rowFor('/users/7').click();
    await detail().waitFor();
    const layout = (await page.evaluate(`(() => {
      const cut = [...document.querySelectorAll('#log thead th')].filter((th) => th.offsetParent !== null && th.scrollWidth > th.clientWidth + 1).map((th) => th.textContent);
      const list = document.querySelector('.list').getBoundingClientRect();
      const aside = document.querySelector('#detail').getBoundingClientRect();
      return { cut, pageWidth: document.documentElement.scrollWidth, listBottom: Math.round(list.bottom), detailTop: Math.round(aside.top), detailWidth: Math.round(aside.width) };
    })()`)) as { cut: string[]; pageWidth: number; listBottom: number; detailTop: number; detailWidth: number };
    assert.deepEqual(layout.cut, [], 'header cells not cut');
    assert.ok(layout.pageWidth <= 800, `page ${layout.pageWidth} px wide`);
    assert.ok(layout.detailTop >= layout.listBottom - 1, 'the detail sits under the list');
    assert.ok(layout.detailWidth >= 780, 'and takes the whole width');
    await page.screenshot({ path: join(OUT, 'narrow.png') });
    // Wide again, with the detail beside the list: the headers are still whole.
    await page.setViewportSize({ width: 1440, height: 900 });
    const cut = await page.evaluate(
      `[...document.querySelectorAll('#log thead th')].filter((th) => th.scrollWidth > th.clientWidth + 1).map((th) => th.textContent)`,
    );
    assert.deepEqual(cut, []);
  });

  test('no request of the page got a 404 (favicon included), and no script error', async () => {
    assert.deepEqual(notFound, []);
    assert.equal(
      await page.evaluate(`fetch('/favicon.ico').then((r) => r.status + ' ' + r.headers.get('content-type'))`),
      '200 image/svg+xml',
    );
    assert.deepEqual(pageErrors, []);
  });
});
