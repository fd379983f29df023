/**
 * The SDK's own I/O is never recorded: with fetch and node:http capture on and the real Pub/Sub
 * transport (client metadata and publishing over node:http to the local collector), only the app's
 * records arrive.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { test } from 'node:test';
import express from 'express';
import { APIToolkit } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { startCollector } from '../../src/collector/index.js';
import { upstream, viaFetch, viaHttp } from './helpers.js';

test("metadata, publishing and start-up retries are not recorded; the app's calls are", async (t) => {
  const collector = await startCollector({ inspector: false });
  t.after(() => collector.close());
  const u = await upstream(t);
  const apitoolkit = new APIToolkit({
    apiKey: 'local-key',
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
    flushIntervalMs: 0,
    captureOutgoing: { fetch: true, http: true },
  });
  t.after(() => apitoolkit.shutdown(1_000));

  const app = express();
  app.use(expressMiddleware(apitoolkit));
  app.get('/work/:id', async (req, res) => {
    const a = await viaFetch({ url: `${u.url}/users/${req.params.id}?via=fetch` });
    const b = await viaHttp({ url: `${u.url}/users/${req.params.id}?via=http` });
    res.json({ a: a.status, b: b.status });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const appHost = `127.0.0.1:${(server.address() as { port: number }).port}`;

  await apitoolkit.ready();
  assert.ok(collector.stats().metadataRequests >= 1, 'the metadata was fetched while fetch capture was on');
  // The test's own request to the app is a fetch outside any request: recorded too, parent null.
  const res = await fetch(`http://${appHost}/work/7`);
  assert.deepEqual(await res.json(), { a: 200, b: 200 });
  assert.equal(await apitoolkit.flush(5_000), true);
  const records = await collector.waitForRecords(4);
  // A second round: anything the first publish did would have been captured and be sent by now.
  assert.equal(await apitoolkit.flush(5_000), true);
  const result = await apitoolkit.shutdown(5_000);
  assert.deepEqual(result, { flushed: true, dropped: 0 });

  const all = collector.records();
  assert.equal(all.length, 4, all.map((r) => `${r.sdk_type} ${r.method} ${r.host}${r.url_path}`).join('\n'));
  const incoming = records.find((r) => r.sdk_type === 'JsExpress')!;
  const summary = all.map((r) => [r.sdk_type, r.host, r.url_path, r.parent_id === null ? null : r.parent_id === incoming.msg_id]).sort();
  assert.deepEqual(
    summary,
    [
      ['JsExpress', appHost, '/work/:id', null],
      ['JsFetchOutgoing', appHost, '/work/:id', null],
      ['JsFetchOutgoing', u.host, '/users/:id', true],
      ['JsHttpOutgoing', u.host, '/users/:id', true],
    ].sort(),
  );
  const collectorHost = new URL(collector.rootURL).host;
  assert.ok(all.every((r) => r.host !== collectorHost && r.host !== collector.pubsubEndpoint));
});
