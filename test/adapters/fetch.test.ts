/**
 * `apitoolkit-node/fetch` in-process on Node: what the conformance suite does not cover (it runs
 * the standard app on Node, Bun, Deno and workerd): options, `this` and extra arguments, and the
 * hand-over of delivery to a platform's `waitUntil`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APIToolkit, MemoryTransport, OptionsInvalidError } from '../../src/index.js';
import { fetchHandler } from '../../src/adapters/fetch/index.js';

const client = (transport = new MemoryTransport()) =>
  new APIToolkit({ transport, flushIntervalMs: 60_000, redactResponseBody: ['$.token'] });

test('bad arguments are refused at once, naming the option', () => {
  const apitoolkit = new APIToolkit({ enabled: false });
  assert.throws(() => fetchHandler({} as never, () => new Response()), OptionsInvalidError);
  assert.throws(() => fetchHandler(apitoolkit, 'nope' as never), /fetchHandler\(client, handler\)/);
  assert.throws(() => fetchHandler(apitoolkit, () => new Response(), { route: '/users/:id' as never }), /fetchHandler route/);
  assert.throws(() => fetchHandler(apitoolkit, () => new Response(), { waitUntil: true as never }), /fetchHandler waitUntil/);
});

test('a sync handler, its `this` and the arguments after the request pass through; the path is the default template', async () => {
  const transport = new MemoryTransport();
  const apitoolkit = client(transport);
  const server = { name: 'server' };
  const host: { fetch: (request: Request, extra: typeof server) => Promise<Response> } = {
    fetch: fetchHandler(apitoolkit, function (this: unknown, request: Request, extra: typeof server): Response {
      return Response.json({ self: this === host, extra: extra.name, token: 'secret', url: request.url });
    }),
  };
  const response = await host.fetch(new Request('http://example.test/users/1?x=2'), server);
  assert.deepEqual(await response.json(), { self: true, extra: 'server', token: 'secret', url: 'http://example.test/users/1?x=2' });
  assert.equal(await apitoolkit.flush(1_000), true);
  const [record] = transport.records();
  assert.equal(record!.sdk_type, 'JsFetch');
  assert.equal(record!.url_path, '/users/1');
  assert.deepEqual(record!.query_params, { x: ['2'] });
  assert.match(Buffer.from(record!.response_body, 'base64').toString(), /"token":"\[CLIENT_REDACTED\]"/);
  await apitoolkit.shutdown();
});

test('a route that throws gives "" and never reaches the request', async () => {
  const transport = new MemoryTransport();
  const apitoolkit = client(transport);
  const handler = fetchHandler(apitoolkit, () => new Response('ok'), {
    route: () => {
      throw new Error('bad route');
    },
  });
  assert.equal(await (await handler(new Request('http://example.test/a'))).text(), 'ok');
  assert.equal(await apitoolkit.flush(1_000), true);
  const [record] = transport.records();
  assert.equal(record!.url_path, '');
  await apitoolkit.shutdown();
});

test('waitUntil: a handler argument with a waitUntil method is handed, during the call, a promise that settles once the record was delivered', async () => {
  const transport = new MemoryTransport();
  const apitoolkit = client(transport); // a 60 s batching delay: only a flush sends it now
  const handed: Promise<unknown>[] = [];
  const ctx = {
    waitUntil(promise: Promise<unknown>) {
      handed.push(promise);
    },
  };
  const handler = fetchHandler(apitoolkit, (_request: Request, _env: unknown, _ctx: typeof ctx) => Response.json({ ok: true }));
  const pending = handler(new Request('http://example.test/w'), {}, ctx);
  assert.equal(handed.length, 1, 'handed over before the handler answered');
  assert.equal(transport.records().length, 0);
  await (await pending).text();
  await handed[0];
  assert.equal(transport.records().length, 1, 'delivered when the promise settled');
  await apitoolkit.shutdown();
});

test("waitUntil: Vercel's request context is found; false turns the hand-over off; a throwing waitUntil is survived", async () => {
  const transport = new MemoryTransport();
  const apitoolkit = client(transport);
  const handed: Promise<unknown>[] = [];
  const key = Symbol.for('@vercel/request-context');
  (globalThis as Record<symbol, unknown>)[key] = { get: () => ({ waitUntil: (p: Promise<unknown>) => handed.push(p) }) };
  try {
    await (await fetchHandler(apitoolkit, () => new Response('a'))(new Request('http://example.test/v'))).text();
    assert.equal(handed.length, 1);
    await handed[0];
    await (await fetchHandler(apitoolkit, () => new Response('b'), { waitUntil: false })(new Request('http://example.test/v'))).text();
    assert.equal(handed.length, 1, 'not handed with waitUntil: false');
    const throwing = fetchHandler(apitoolkit, () => new Response('c'), {
      waitUntil: () => {
        throw new Error('no');
      },
    });
    assert.equal(await (await throwing(new Request('http://example.test/v'))).text(), 'c');
  } finally {
    delete (globalThis as Record<symbol, unknown>)[key];
  }
  assert.equal(await apitoolkit.flush(1_000), true);
  assert.equal(transport.records().length, 3);
  await apitoolkit.shutdown();
});

test('a thrown error is recorded with its cause and thrown again unchanged', async () => {
  const transport = new MemoryTransport();
  const apitoolkit = client(transport);
  const failure = new Error('outer', { cause: new TypeError('inner') });
  await assert.rejects(
    fetchHandler(apitoolkit, () => {
      throw failure;
    })(new Request('http://example.test/boom')),
    (error) => error === failure,
  );
  assert.equal(await apitoolkit.flush(1_000), true);
  const [record] = transport.records();
  assert.equal(record!.status_code, 500);
  assert.equal(record!.errors[0]!.root_error_type, 'TypeError');
  await apitoolkit.shutdown();
});
