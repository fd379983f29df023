/**
 * Sampling and ignoring: `sampleRate`, `sampleRoutes` (an exact path decided at the start, a route
 * template once the route is known), `ignorePaths`/`ignoreMethods`, each counted in stats(); a
 * request left out at its start is not even observed, and nothing under it is recorded.
 */
import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import express from 'express';
import { APIToolkit, MemoryTransport, type APIToolkitOptions } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { serve } from '../helpers/http.js';

interface Seen {
  observed: boolean;
  msgId: string | undefined;
  reported: boolean;
}

async function app(t: TestContext, options: APIToolkitOptions) {
  const transport = new MemoryTransport();
  const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, ...options });
  t.after(() => apitoolkit.shutdown(1_000));
  const seen: Seen[] = [];
  const web = express();
  web.use(expressMiddleware(apitoolkit));
  const handler = async (req: express.Request, res: express.Response) => {
    if (typeof req.query.call === 'string') await (await fetch(req.query.call)).text();
    seen.push({
      // An observed response has the SDK's tee on its write(); one left out is untouched.
      observed: res.write !== ServerResponse.prototype.write,
      msgId: apitoolkit.currentMsgId(),
      reported: apitoolkit.reportError(new Error('noted')),
    });
    res.send('ok');
  };
  web.get('/health', handler);
  web.get('/users/:id', handler);
  web.get('/other', handler);
  web.options('/other', handler);
  const url = await serve(t, web);
  const get = async (path: string, method = 'GET') => (await fetch(`${url}${path}`, { method })).text();
  return { url, get, apitoolkit, transport, seen };
}

test('sampleRate 0: nothing observed or recorded, not even the calls made under the request; counted', async (t) => {
  const { url, get, apitoolkit, transport, seen } = await app(t, { sampleRate: 0, captureOutgoing: { fetch: true } });
  for (let i = 0; i < 5; i++) await get(`/other?call=${encodeURIComponent(`${url}/health`)}`);
  assert.equal(await apitoolkit.flush(1_000), true);
  // Only the test's own fetch calls (no request around them) are recorded.
  assert.deepEqual(
    transport.records().filter((r) => r.sdk_type !== 'JsFetchOutgoing' || r.parent_id !== null),
    [],
  );
  assert.equal(seen.length, 10);
  assert.ok(seen.every((s) => !s.observed && s.msgId === undefined && !s.reported));
  const stats = apitoolkit.stats();
  assert.equal(stats.sampledOut, 10);
  assert.equal(stats.captured, transport.records().length);
});

test('sampleRate 0.5 records about half, at random', async (t) => {
  const { get, apitoolkit, transport } = await app(t, { sampleRate: 0.5 });
  const n = 400;
  for (let i = 0; i < n; i++) await get('/other');
  assert.equal(await apitoolkit.flush(1_000), true);
  const recorded = transport.records().length;
  // Binomial(400, 0.5): standard deviation 10; this range is 8 of them either way.
  assert.ok(recorded > 120 && recorded < 280, `${recorded} of ${n}`);
  assert.equal(apitoolkit.stats().sampledOut, n - recorded);
});

test('sampleRoutes: an exact path is decided at the start (not observed), a template once routed; sampleRate for the rest', async (t) => {
  const { get, apitoolkit, transport, seen } = await app(t, {
    sampleRate: 0,
    sampleRoutes: { '/health': 0, '/users/:id': 1, '/other': 1 },
  });
  await get('/health');
  await get('/users/1');
  await get('/users/2');
  await get('/other');
  await get('/missing');
  assert.equal(await apitoolkit.flush(1_000), true);
  assert.deepEqual(
    transport
      .records()
      .map((r) => r.raw_url)
      .sort(),
    ['/other', '/users/1', '/users/2'],
  );
  assert.equal(seen[0]!.observed, false, '/health: left out at its start');
  assert.equal(apitoolkit.stats().sampledOut, 2); // /health and /missing (sampleRate 0)
});

test('a template rate of 0 leaves those requests out; ignorePaths and ignoreMethods are counted as ignored', async (t) => {
  const { get, apitoolkit, transport } = await app(t, {
    sampleRoutes: { '/users/:id': 0 },
    ignorePaths: ['/health'],
    ignoreMethods: ['OPTIONS'],
  });
  await get('/users/1');
  await get('/health');
  await get('/other', 'OPTIONS');
  await get('/other');
  assert.equal(await apitoolkit.flush(1_000), true);
  assert.deepEqual(
    transport.records().map((r) => r.raw_url),
    ['/other'],
  );
  const stats = apitoolkit.stats();
  assert.deepEqual([stats.captured, stats.sampledOut, stats.ignored], [1, 1, 2]);
});
