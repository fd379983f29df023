/**
 * Delivery end to end: a real Express app, the SDK with its Pub/Sub transport (Pub/Sub's REST API),
 * and the local collector standing in for APIToolkit.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { APIToolkit, ApiKeyRefusedError } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { startCollector, type CollectorOptions } from '../../src/collector/index.js';
import { serve } from '../helpers/http.js';
import { assertReadmeRecord, runReadmeExample } from '../helpers/readme-example.js';
import { until } from '../helpers/wait.js';

async function collector(t: TestContext, options: CollectorOptions = {}) {
  const c = await startCollector(options);
  t.after(() => c.close());
  return c;
}

async function app(t: TestContext, apitoolkit: APIToolkit) {
  const a = express();
  a.use(expressMiddleware(apitoolkit));
  a.get('/items/:id', (req, res) => res.json({ id: req.params.id }));
  return serve(t, a);
}

describe("delivery to the local collector over Pub/Sub's REST API", () => {
  test("the README's example request arrives as exactly the wire-format record", async (t) => {
    const c = await collector(t);
    const { url } = await runReadmeExample(t, { apiKey: 'readme-key', rootURL: c.rootURL, pubsubEndpoint: c.pubsubEndpoint });
    await c.waitForRecords(1, 10_000);
    const [message] = c.messages();
    assertReadmeRecord(message!.data, url, '00000000-0000-4000-8000-000000000000');
    assert.equal(message!.topic, 'projects/apitoolkit-local/topics/apitoolkit-local');
    assert.deepEqual(message!.attributes, {});
  });

  test('a refused API key rejects ready() with a coded error; the app keeps serving', async (t) => {
    const c = await collector(t, { rejectKeys: ['bad-key'] });
    const apitoolkit = new APIToolkit({ apiKey: 'bad-key', rootURL: c.rootURL, pubsubEndpoint: c.pubsubEndpoint });
    t.after(() => apitoolkit.shutdown(500));
    await assert.rejects(apitoolkit.ready(), (error: unknown) => {
      assert.ok(error instanceof ApiKeyRefusedError);
      assert.equal(error.code, 'APITOOLKIT_ERR_API_KEY_REFUSED');
      assert.ok(!error.message.includes('bad-key'));
      return true;
    });
    const url = await app(t, apitoolkit);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/items/${i}`)).status, 200);
    assert.equal(apitoolkit.stats().state, 'refused');
    assert.equal(c.stats().messages, 0);
  });

  test('metadata unavailable at start-up: records captured meanwhile are delivered once it answers', async (t) => {
    const c = await collector(t);
    // A front for the metadata endpoint that fails with 503 until we open it.
    let open = false;
    let asked = 0;
    const front = createServer(async (req, res) => {
      asked += 1;
      if (!open) {
        res.writeHead(503).end();
        return;
      }
      const upstream = await fetch(c.rootURL + req.url!, { headers: { authorization: req.headers.authorization ?? '' } });
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => front.close(() => r())));
    const port = (front.address() as { port: number }).port;
    const apitoolkit = new APIToolkit({
      apiKey: 'k',
      rootURL: `http://127.0.0.1:${port}`,
      pubsubEndpoint: c.pubsubEndpoint,
      flushIntervalMs: 10,
    });
    t.after(() => apitoolkit.shutdown(1_000));
    const url = await app(t, apitoolkit);
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${url}/items/${i}`)).status, 200);
    await sleep(600);
    assert.ok(asked >= 1, 'metadata was asked for');
    assert.equal(apitoolkit.stats().state, 'starting');
    assert.equal(apitoolkit.stats().pending, 20);
    open = true;
    await apitoolkit.ready();
    const records = await c.waitForRecords(20, 10_000);
    assert.deepEqual(records.map((r) => r.raw_url).sort(), Array.from({ length: 20 }, (_, i) => `/items/${i}`).sort());
  });

  test('an outage of the endpoint loses nothing: records are retried and delivered in order', async (t) => {
    const c = await collector(t);
    const apitoolkit = new APIToolkit({
      apiKey: 'k',
      rootURL: c.rootURL,
      pubsubEndpoint: c.pubsubEndpoint,
      flushIntervalMs: 10,
      maxBatchSize: 10,
      exportTimeoutMs: 2_000,
    });
    t.after(() => apitoolkit.shutdown(1_000));
    await apitoolkit.ready();
    const url = await app(t, apitoolkit);
    c.setPublishFault(14); // UNAVAILABLE
    for (let i = 0; i < 50; i++) assert.equal((await fetch(`${url}/items/${i}`)).status, 200);
    await sleep(500);
    assert.equal(c.stats().messages, 0);
    assert.ok(apitoolkit.stats().failed >= 1);
    c.setPublishFault(null);
    const records = await c.waitForRecords(50, 10_000);
    assert.deepEqual(
      records.map((r) => r.raw_url),
      Array.from({ length: 50 }, (_, i) => `/items/${i}`),
    );
    assert.equal(await apitoolkit.flush(5_000), true);
    assert.equal(apitoolkit.stats().published, 50);
    assert.equal(
      Object.values(apitoolkit.stats().dropped).reduce((a, b) => a + b, 0),
      0,
    );
  });

  test('a non-retryable refusal (PERMISSION_DENIED) drops the batch and counts it', async (t) => {
    const c = await collector(t);
    const apitoolkit = new APIToolkit({ apiKey: 'k', rootURL: c.rootURL, pubsubEndpoint: c.pubsubEndpoint, flushIntervalMs: 10 });
    t.after(() => apitoolkit.shutdown(500));
    await apitoolkit.ready();
    const url = await app(t, apitoolkit);
    c.setPublishFault(7);
    await fetch(`${url}/items/1`);
    assert.equal(await apitoolkit.flush(5_000), true);
    assert.equal(apitoolkit.stats().dropped.send_failed, 1);
    c.setPublishFault(null);
    await fetch(`${url}/items/2`);
    const [r] = await c.waitForRecords(1, 5_000);
    assert.equal(r!.raw_url, '/items/2');
  });

  test('shutdown flushes several hundred queued records', async (t) => {
    const c = await collector(t);
    const apitoolkit = new APIToolkit({
      apiKey: 'k',
      rootURL: c.rootURL,
      pubsubEndpoint: c.pubsubEndpoint,
      flushIntervalMs: 60_000,
      maxBatchSize: 1_000,
    });
    await apitoolkit.ready();
    const url = await app(t, apitoolkit);
    await Promise.all(Array.from({ length: 600 }, (_, i) => fetch(`${url}/items/${i}`).then((r) => r.arrayBuffer())));
    await until(() => apitoolkit.stats().captured === 600, '600 captured records');
    assert.equal(apitoolkit.stats().queued, 600);
    assert.equal(c.stats().messages, 0);
    assert.deepEqual(await apitoolkit.shutdown(10_000), { flushed: true, dropped: 0 });
    assert.equal(c.stats().messages, 600);
    assert.equal(new Set(c.records().map((r) => r.msg_id)).size, 600);
  });

  test('shutdown with the endpoint hanging resolves in time and reports the drops', async (t) => {
    const c = await collector(t);
    const apitoolkit = new APIToolkit({
      apiKey: 'k',
      rootURL: c.rootURL,
      pubsubEndpoint: c.pubsubEndpoint,
      flushIntervalMs: 10,
      exportTimeoutMs: 200,
    });
    await apitoolkit.ready();
    const url = await app(t, apitoolkit);
    c.setPublishFault('hang');
    for (let i = 0; i < 5; i++) await fetch(`${url}/items/${i}`);
    const result = await apitoolkit.shutdown(500);
    assert.equal(result.flushed, false);
    // A batch that was in flight reports itself when its own timeout fires.
    await until(() => apitoolkit.stats().dropped.shutdown === 5, 'five records dropped at shutdown');
    assert.equal(apitoolkit.stats().published, 0);
  });

  test('debug mode shows what is sent, after redaction, and never the API key', async (t) => {
    const c = await collector(t);
    const lines: string[] = [];
    const apitoolkit = new APIToolkit({
      apiKey: 'very-secret-api-key',
      rootURL: c.rootURL,
      pubsubEndpoint: c.pubsubEndpoint,
      debug: true,
      logger: (l) => lines.push(l),
      flushIntervalMs: 10,
      redactResponseBody: ['$.id'],
    });
    t.after(() => apitoolkit.shutdown(500));
    const url = await app(t, apitoolkit);
    await fetch(`${url}/items/visible-id`, { headers: { authorization: 'Bearer hidden-token' } });
    await c.waitForRecords(1, 5_000);
    await apitoolkit.flush(2_000);
    const log = lines.join('\n');
    assert.match(
      log,
      /starting: metadata from http:\/\/127\.0\.0\.1:\d+, publishing to 127\.0\.0\.1:\d+; redacting headers \[authorization, cookie, set-cookie, proxy-authorization\], request body \[\], response body \[\$\.id\]/,
    );
    assert.match(log, /ready: project/);
    assert.match(log, /sending \{/);
    assert.match(log, /published 1 record/);
    assert.ok(log.includes(Buffer.from('{"id":"[CLIENT_REDACTED]"}').toString('base64')));
    for (const secret of ['very-secret-api-key', 'hidden-token', 'PRIVATE KEY']) assert.ok(!log.includes(secret), secret);
  });
});
