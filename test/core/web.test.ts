/**
 * The Web build's client and the runtime-neutral parts, on Node: start-up on first use (Workers
 * refuse I/O at a module's top level), async context without AsyncLocalStorage, `withFlush`.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { APIToolkit as NodeClient, MemoryTransport, OptionsInvalidError, withFlush } from '../../src/index.js';
import { APIToolkit as WebClient, shutdownOnSignals } from '../../src/web/index.js';
import { fetchHandler } from '../../src/adapters/fetch/index.js';
import { SyncContextStore, findAsyncLocalStorage } from '../../src/core/context.js';
import { startCollector } from '../../src/collector/index.js';

test('the Web build does no I/O until it serves a request, then delivers', async () => {
  const collector = await startCollector({ inspector: false });
  let metadataRequests = 0;
  const counting = createServer((req, res) => {
    metadataRequests += 1;
    // Forward to the collector's metadata endpoint.
    fetch(`${collector.rootURL}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (r) =>
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
    );
  });
  await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve));
  const rootURL = `http://127.0.0.1:${(counting.address() as { port: number }).port}`;
  const apitoolkit = new WebClient({ apiKey: 'k', rootURL, pubsubEndpoint: collector.pubsubEndpoint, flushIntervalMs: 0 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(metadataRequests, 0, 'nothing fetched at construction');
  const response = await fetchHandler(apitoolkit, () => new Response('ok'))(new Request('http://example.test/first'));
  assert.equal(await response.text(), 'ok');
  const [record] = await collector.waitForRecords(1, 5_000);
  assert.equal(record!.raw_url, '/first');
  assert.equal(metadataRequests, 1);
  await apitoolkit.shutdown();
  counting.close();
  await collector.close();
});

test('the Web build refuses what needs Node: captureOutgoing, shutdownOnSignals', () => {
  assert.throws(
    () => new WebClient({ transport: new MemoryTransport(), captureOutgoing: { fetch: true } }),
    (e) => e instanceof OptionsInvalidError && /captureOutgoing/.test(e.message),
  );
  assert.throws(() => shutdownOnSignals(new WebClient({ transport: new MemoryTransport() })), /shutdownOnSignals/);
});

test('AsyncLocalStorage is found without a node: import on Node', () => {
  assert.equal(typeof findAsyncLocalStorage(), 'function');
});

test("SyncContextStore: the store during run(), never after an await, never another request's", async () => {
  const store = new SyncContextStore<string>();
  const seen: (string | undefined)[] = [];
  await Promise.all(
    ['a', 'b'].map((id) =>
      store.run(id, async () => {
        seen.push(store.getStore());
        await Promise.resolve();
        seen.push(store.getStore());
      }),
    ),
  );
  assert.deepEqual(seen, ['a', 'b', undefined, undefined]);
  assert.equal(store.getStore(), undefined);
});

test('reportError without async context: an error the handler throws is still recorded', async () => {
  const transport = new MemoryTransport();
  const apitoolkit = new NodeClient({ transport, flushIntervalMs: 0 });
  await assert.rejects(
    fetchHandler(apitoolkit, async () => {
      await Promise.resolve();
      throw new RangeError('late');
    })(new Request('http://example.test/late')),
  );
  const [record] = await transport.waitForRecords(1);
  assert.equal(record!.errors[0]!.error_type, 'RangeError');
  await apitoolkit.shutdown();
});

test('withFlush: the records of an invocation are delivered before it returns; result and error unchanged', async () => {
  const transport = new MemoryTransport();
  const apitoolkit = new NodeClient({ transport, flushIntervalMs: 60_000 });
  const served = fetchHandler(apitoolkit, (request: Request) => Response.json({ path: new URL(request.url).pathname }));
  const handler = withFlush(apitoolkit, async (event: { path: string }) => {
    const response = await served(new Request(`http://example.test${event.path}`));
    return { statusCode: response.status, body: await response.text() };
  });
  assert.deepEqual(await handler({ path: '/one' }), { statusCode: 200, body: '{"path":"/one"}' });
  assert.equal(transport.records().length, 1, 'delivered before the invocation returned (batching delay 60 s)');
  const failure = new Error('handler failed');
  const failing = withFlush(apitoolkit, async () => {
    await (await served(new Request('http://example.test/two'))).text();
    throw failure;
  });
  await assert.rejects(failing(), (error) => error === failure);
  assert.equal(transport.records().length, 2);
  assert.throws(() => withFlush(apitoolkit, () => 1, { timeoutMs: -1 }), /withFlush timeoutMs/);
  assert.throws(() => withFlush({} as never, () => 1), /withFlush\(client\)/);
  await apitoolkit.shutdown();
});

test("the Web build's zlib for redaction: the runtime's where it lends one, else a throw (the body is then withheld)", async () => {
  const { gunzipSync } = await import('../../src/web/zlib.js');
  const { gzipSync } = await import('node:zlib');
  assert.equal(gunzipSync(gzipSync('{"a":1}')).toString(), '{"a":1}');
  const process = globalThis.process as { getBuiltinModule?: unknown };
  const original = process.getBuiltinModule;
  process.getBuiltinModule = undefined;
  try {
    assert.throws(() => gunzipSync(gzipSync('{"a":1}')), /no zlib/);
  } finally {
    process.getBuiltinModule = original;
  }
});
