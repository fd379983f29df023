/**
 * Shutdown: `shutdown(timeoutMs)` flushes everything queued when the endpoint is up, and resolves
 * in time when it is down (refused, hanging, erroring, or never started), reporting exactly what
 * it dropped. The SDK installs no signal handler by itself; `shutdownOnSignals()` is the opt-in,
 * tested on a child process that gets SIGTERM / SIGINT with records queued.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, MemoryTransport, shutdownOnSignals } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { startChildApp } from '../helpers/child-app.js';
import { closedPort } from '../helpers/emulator.js';
import { serve } from '../helpers/http.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';

const QUEUED = 120;

async function collector(t: TestContext): Promise<Collector> {
  const c = await startCollector();
  t.after(() => c.close());
  return c;
}

/** An app with `QUEUED` records captured and waiting in the queue (the flush interval is long). */
async function queued(t: TestContext, options: { rootURL: string; pubsubEndpoint: string; exportTimeoutMs?: number }): Promise<APIToolkit> {
  const apitoolkit = new APIToolkit({ apiKey: 'k', flushIntervalMs: 60_000, maxBatchSize: 500, ...options });
  t.after(() => apitoolkit.shutdown(100));
  const app = express();
  app.use(expressMiddleware(apitoolkit));
  app.get('/r/:i', (req, res) => res.json({ i: req.params.i }));
  const url = await serve(t, app);
  for (let i = 0; i < QUEUED; i++) await (await fetch(`${url}/r/${i}`)).arrayBuffer();
  await until(() => apitoolkit.stats().captured === QUEUED, 'records captured');
  return apitoolkit;
}

describe('shutdown(timeoutMs)', () => {
  test('the endpoint is up: everything queued is delivered before it resolves', async (t) => {
    const c = await collector(t);
    const apitoolkit = await queued(t, { rootURL: c.rootURL, pubsubEndpoint: c.pubsubEndpoint });
    await apitoolkit.ready();
    assert.equal(apitoolkit.stats().queued, QUEUED);
    assert.deepEqual(await apitoolkit.shutdown(5_000), { flushed: true, dropped: 0 });
    assert.equal(new Set(c.records().map((r) => r.msg_id)).size, QUEUED);
    assert.equal(apitoolkit.stats().state, 'shut_down');
  });

  for (const fault of ['refused', 'hang', 'UNAVAILABLE'] as const) {
    test(`the endpoint is down (${fault}): it resolves within its timeout and reports every queued record as dropped`, async (t) => {
      const c = await collector(t);
      const proxy = await startTcpProxy(c.pubsubEndpoint);
      t.after(() => proxy.close());
      const apitoolkit = await queued(t, { rootURL: c.rootURL, pubsubEndpoint: proxy.address, exportTimeoutMs: 5_000 });
      await apitoolkit.ready();
      if (fault === 'refused') await proxy.down();
      else c.setPublishFault(fault === 'hang' ? 'hang' : 14);
      const started = Date.now();
      const result = await apitoolkit.shutdown(800);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 800 + 2_500, `resolved after ${elapsed} ms`);
      // Final when it resolves, the batch in flight included.
      assert.deepEqual(result, { flushed: false, dropped: QUEUED });
      const stats = apitoolkit.stats();
      assert.equal(stats.dropped.shutdown, QUEUED);
      assert.equal(stats.queued, 0);
      assert.equal(stats.captured, stats.published + stats.dropped.shutdown);
      assert.equal(c.records().length, 0);
    });
  }

  test('metadata never came: it resolves in time and reports what was held during start-up', async (t) => {
    const apitoolkit = await queued(t, { rootURL: `http://127.0.0.1:${await closedPort()}`, pubsubEndpoint: '127.0.0.1:9' });
    assert.equal(apitoolkit.stats().state, 'starting');
    assert.equal(apitoolkit.stats().pending, QUEUED);
    const started = Date.now();
    assert.deepEqual(await apitoolkit.shutdown(500), { flushed: false, dropped: QUEUED });
    assert.ok(Date.now() - started < 3_000);
  });

  test('a custom transport that ignores the abort: shutdown still resolves and the send is disowned', async (t) => {
    const never = { start: async () => ({ projectId: 'p' }), send: () => new Promise<never>(() => {}), shutdown: async () => {} };
    const apitoolkit = new APIToolkit({ transport: never, flushIntervalMs: 0, exportTimeoutMs: 60_000 });
    const app = express();
    app.use(expressMiddleware(apitoolkit));
    app.get('/x', (_req, res) => res.end('x'));
    const url = await serve(t, app);
    for (let i = 0; i < 3; i++) await (await fetch(`${url}/x`)).arrayBuffer();
    await until(() => apitoolkit.stats().captured === 3, 'captured');
    const started = Date.now();
    assert.deepEqual(await apitoolkit.shutdown(300), { flushed: false, dropped: 3 });
    assert.ok(Date.now() - started < 2_000);
  });
});

describe('signals', () => {
  test('the SDK installs no signal handler of its own', () => {
    const before = ['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s));
    const apitoolkit = new APIToolkit({ transport: new MemoryTransport() });
    assert.deepEqual(
      ['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => process.listenerCount(s)),
      before,
    );
    void apitoolkit.shutdown(10);
  });

  test('shutdownOnSignals installs one listener per signal and its return value removes them', () => {
    const apitoolkit = new APIToolkit({ transport: new MemoryTransport() });
    const before = process.listenerCount('SIGUSR2');
    const remove = shutdownOnSignals(apitoolkit, { signals: ['SIGUSR2'] });
    assert.equal(process.listenerCount('SIGUSR2'), before + 1);
    remove();
    remove();
    assert.equal(process.listenerCount('SIGUSR2'), before);
    void apitoolkit.shutdown(10);
  });

  const cases = [
    {
      title: 'SIGTERM, no app handler: records flushed, then the process ends by SIGTERM',
      signal: 'SIGTERM',
      appExit: undefined,
      expect: { code: null, signal: 'SIGTERM' },
    },
    {
      title: 'SIGINT, no app handler: records flushed, then the process ends by SIGINT',
      signal: 'SIGINT',
      appExit: undefined,
      expect: { code: null, signal: 'SIGINT' },
    },
    {
      title: "SIGTERM with the app's own handler calling process.exit(3): records flushed first, then exit code 3",
      signal: 'SIGTERM',
      appExit: 3,
      expect: { code: 3, signal: null },
    },
  ] as const;
  for (const c of cases) {
    test(c.title, async (t) => {
      const col = await collector(t);
      const child = await startChildApp({
        sdk: { apiKey: 'k', rootURL: col.rootURL, pubsubEndpoint: col.pubsubEndpoint, flushIntervalMs: 60_000, maxBatchSize: 500 },
        shutdownOnSignals: { signals: ['SIGTERM', 'SIGINT'], timeoutMs: 5_000 },
        appSignalExit: c.appExit === undefined ? undefined : { signal: c.signal, code: c.appExit },
      });
      t.after(() => child.kill());
      await child.waitFor((s) => s.stats.state === 'ready', 'ready');
      for (let i = 0; i < QUEUED; i++) await (await fetch(`${child.url}/work/${i}`)).arrayBuffer();
      await child.waitFor((s) => s.stats.queued === QUEUED, `${QUEUED} records queued`);
      assert.equal(col.records().length, 0, 'nothing sent before the signal');
      child.child.kill(c.signal);
      const exit = await child.exited;
      assert.deepEqual(exit, c.expect);
      assert.equal(new Set(col.records().map((r) => r.msg_id)).size, QUEUED, 'every queued record arrived');
      assert.equal(child.stderr(), '');
    });
  }

  test('without the helper, SIGTERM ends the process at once: the queued records are lost (why the helper exists)', async (t) => {
    const col = await collector(t);
    const child = await startChildApp({
      sdk: { apiKey: 'k', rootURL: col.rootURL, pubsubEndpoint: col.pubsubEndpoint, flushIntervalMs: 60_000 },
    });
    t.after(() => child.kill());
    await child.waitFor((s) => s.stats.state === 'ready', 'ready');
    for (let i = 0; i < 10; i++) await (await fetch(`${child.url}/work/${i}`)).arrayBuffer();
    await child.waitFor((s) => s.stats.queued === 10, 'queued');
    child.child.kill('SIGTERM');
    assert.deepEqual(await child.exited, { code: null, signal: 'SIGTERM' });
    assert.equal(col.records().length, 0);
  });
});
