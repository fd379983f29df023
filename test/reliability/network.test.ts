/**
 * The network is down, slow or erroring (the short versions; test/soak/ runs them for 60 s under
 * load): the app answers every request, faults are counted by reason, nothing is thrown or left
 * unhandled, delivery resumes when the endpoint returns, and records captured while the metadata
 * endpoint was down are delivered once it is up (within the queue's bounds).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { APIToolkit, type APIToolkitOptions } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { serve } from '../helpers/http.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/wait.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
before(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
after(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection or uncaught exception');
});

async function collector(t: TestContext): Promise<Collector> {
  const c = await startCollector();
  t.after(() => c.close());
  return c;
}

async function app(t: TestContext, options: APIToolkitOptions) {
  const errors: { reason: string; error: Error }[] = [];
  const apitoolkit = new APIToolkit({
    apiKey: 'k',
    flushIntervalMs: 10,
    onError: (error, { reason }) => errors.push({ reason, error }),
    ...options,
  });
  t.after(() => apitoolkit.shutdown(500));
  const a = express();
  a.use(expressMiddleware(apitoolkit));
  a.get('/r/:i', (req, res) => res.json({ i: req.params.i }));
  const url = await serve(t, a);
  const hit = async (n: number, from = 0) => {
    for (let i = from; i < from + n; i++) {
      const started = Date.now();
      const res = await fetch(`${url}/r/${i}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { i: String(i) });
      assert.ok(Date.now() - started < 5_000, 'no request slower than 5 s');
    }
  };
  return { apitoolkit, hit, errors };
}

describe('faults of the Pub/Sub endpoint', () => {
  const faults = [
    {
      name: 'connection refused (endpoint stopped)',
      apply: async (_c: Collector, p: { down(): Promise<void> }) => p.down(),
      reason: 'queue_overflow',
    },
    { name: 'hang', apply: async (c: Collector) => c.setPublishFault('hang'), reason: 'queue_overflow' },
    { name: 'UNAVAILABLE', apply: async (c: Collector) => c.setPublishFault(14), reason: 'queue_overflow' },
    { name: 'PERMISSION_DENIED', apply: async (c: Collector) => c.setPublishFault(7), reason: 'send_failed' },
    { name: 'NOT_FOUND', apply: async (c: Collector) => c.setPublishFault(5), reason: 'send_failed' },
  ] as const;
  for (const fault of faults) {
    test(`${fault.name}: every request answered, drops counted as ${fault.reason}, delivery resumes after`, async (t) => {
      const c = await collector(t);
      const proxy = await startTcpProxy(c.pubsubEndpoint);
      t.after(() => proxy.close());
      const { apitoolkit, hit, errors } = await app(t, {
        rootURL: c.rootURL,
        pubsubEndpoint: proxy.address,
        maxQueueSize: 20,
        maxBatchSize: 5,
        exportTimeoutMs: 300,
      });
      await apitoolkit.ready();
      await fault.apply(c, proxy);
      await hit(60);
      await until(() => apitoolkit.stats().dropped[fault.reason] > 0, `drops counted as ${fault.reason}`);
      const s = apitoolkit.stats();
      assert.ok(s.queued <= 20);
      assert.equal(s.captured, s.published + Object.values(s.dropped).reduce((a, b) => a + b, 0) + s.queued, 'every record accounted for');
      assert.ok(
        errors.some((e) => e.reason === fault.reason),
        `onError told about ${fault.reason}`,
      );
      assert.equal(errors.filter((e) => e.reason === fault.reason).length, 1, 'once per reason, not once per record');

      await proxy.up();
      c.setPublishFault(null);
      const published = s.published;
      await hit(3, 100);
      await until(() => apitoolkit.stats().published >= published + 3, 'delivery after the fault', 10_000);
    });
  }

  test('an outage of a few seconds: nothing lost, delivery resumes promptly after', async (t) => {
    const c = await collector(t);
    const proxy = await startTcpProxy(c.pubsubEndpoint);
    t.after(() => proxy.close());
    const { apitoolkit, hit } = await app(t, { rootURL: c.rootURL, pubsubEndpoint: proxy.address });
    await apitoolkit.ready();
    await hit(5);
    await c.waitForRecords(5);
    await proxy.down();
    await hit(50, 5);
    await until(() => apitoolkit.stats().failed > 0 || apitoolkit.stats().queued === 50, 'the SDK to notice');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(c.records().length, 5);
    await proxy.up();
    const back = Date.now();
    await c.waitForRecords(6, 10_000);
    const resumed = Date.now() - back;
    // At least once: a batch whose answer the cut connection lost is sent again, so count distinct ids.
    await until(() => new Set(c.records().map((r) => r.msg_id)).size === 55, 'every record, once or more', 10_000);
    assert.ok(resumed < 3_000, `delivery resumed ${resumed} ms after the endpoint came back`);
    assert.equal(
      Object.values(apitoolkit.stats().dropped).reduce((a, b) => a + b, 0),
      0,
    );
  });
  test('the path goes silent (open connections black-holed, new ones pass once it is back): every record arrives, the first within exportTimeoutMs + 1 s', async (t) => {
    const c = await collector(t);
    const proxy = await startTcpProxy(c.pubsubEndpoint);
    t.after(() => proxy.close());
    const exportTimeoutMs = 1_000;
    const { apitoolkit, hit } = await app(t, { rootURL: c.rootURL, pubsubEndpoint: proxy.address, exportTimeoutMs });
    await apitoolkit.ready();
    await hit(5);
    await c.waitForRecords(5);
    // Traffic at about 100 requests/s for the rest of the test.
    let served = 5;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await hit(1, served);
        served += 1;
        await sleep(10);
      }
    })();
    t.after(async () => {
      stop = true;
      await load.catch(() => {});
    });
    proxy.blackhole();
    // Long enough for publishes to time out on the silenced connection, and on connections dialled meanwhile.
    await sleep(2 * exportTimeoutMs + 500);
    assert.equal(c.records().length, 5, 'nothing gets through a silent path');
    proxy.restore();
    const back = Date.now();
    await c.waitForRecords(6, 15_000);
    const first = Date.now() - back;
    await sleep(500);
    stop = true;
    await load;
    assert.equal(await apitoolkit.flush(10_000), true);
    const arrived = new Set(c.records().map((r) => r.msg_id)).size;
    t.diagnostic(
      `records served ${served}, arrived ${arrived}; first record ${first} ms after the path came back; ${proxy.connections} connections`,
    );
    assert.equal(arrived, served, `records served ${served}, arrived ${arrived}`);
    assert.equal(
      Object.values(apitoolkit.stats().dropped).reduce((a, b) => a + b, 0),
      0,
    );
    assert.ok(first <= exportTimeoutMs + 1_000, `first record ${first} ms after the path came back`);
  });
});

describe('the metadata endpoint is down at start-up', () => {
  test('records captured meanwhile are kept (bounded by maxQueueSize) and delivered once it is up', async (t) => {
    const c = await collector(t);
    const metadata = await startTcpProxy(new URL(c.rootURL).host, { startDown: true });
    t.after(() => metadata.close());
    const { apitoolkit, hit } = await app(t, { rootURL: `http://${metadata.address}`, pubsubEndpoint: c.pubsubEndpoint, maxQueueSize: 20 });
    await hit(30);
    await until(() => apitoolkit.stats().captured === 30, 'captured');
    const s = apitoolkit.stats();
    assert.equal(s.state, 'starting');
    assert.equal(s.pending, 20, `held, up to maxQueueSize: ${JSON.stringify(s)}`);
    assert.equal(s.dropped.pending_overflow, 10, 'the rest dropped and counted');
    await metadata.up();
    await apitoolkit.ready();
    const records = await c.waitForRecords(20, 10_000);
    assert.deepEqual(
      records.map((r) => r.raw_url),
      Array.from({ length: 20 }, (_, i) => `/r/${i}`),
      'the first 20, in order',
    );
    await until(() => apitoolkit.stats().published === 20, 'the SDK to see them acknowledged');
    assert.equal(apitoolkit.stats().pending, 0);
  });
});
