/**
 * Web Fetch capture (`kObserveWeb`), the core of fetch-style adapters such as Next's App Router,
 * driven through a real HTTP server that speaks Request/Response (@hono/node-server's listener).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test, type TestContext } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { APIToolkit, MemoryTransport, type APIToolkitOptions } from '../../src/index.js';
import type { RouteMatch } from '../../src/core/capture.js';
import type { WebCaptureAdapter } from '../../src/core/capture-web.js';
import { kObserveWeb } from '../../src/core/symbols.js';
import { unb64, unb64json } from '../helpers/http.js';

const adapter: WebCaptureAdapter = {
  sdkType: 'JsNext',
  route: (_request, url): RouteMatch =>
    url.pathname.startsWith('/users/') ? { template: '/users/[id]', params: { id: url.pathname.slice(7) } } : { template: '', params: {} },
};

async function serveWeb(t: TestContext, options: APIToolkitOptions, handler: (request: Request) => Response | Promise<Response>) {
  const transport = new MemoryTransport({ projectId: 'p' });
  const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, ...options });
  const server = createServer(getRequestListener((request) => apitoolkit[kObserveWeb](request, adapter, () => handler(request))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await apitoolkit.shutdown(1_000);
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, transport, apitoolkit };
}

test('request and response bodies, headers, params and redaction', async (t) => {
  const { url, transport } = await serveWeb(t, { redactRequestBody: ['$.password'], redactResponseBody: ['$.token'] }, async (request) => {
    const body = (await request.json()) as { name: string };
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    return new Response(JSON.stringify({ hello: body.name, token: 'tok-1' }), { status: 201, headers });
  });
  const res = await fetch(`${url}/users/42?x=1&x=2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-trace': 'abc' },
    body: JSON.stringify({ name: 'ada', password: 'hunter2' }),
  });
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { hello: 'ada', token: 'tok-1' });
  const [r] = await transport.waitForRecords(1);
  assert.equal(r!.sdk_type, 'JsNext');
  assert.equal(r!.method, 'POST');
  assert.equal(r!.url_path, '/users/[id]');
  assert.deepEqual(r!.path_params, { id: '42' });
  assert.equal(r!.raw_url, '/users/42?x=1&x=2');
  assert.deepEqual(r!.query_params, { x: ['1', '2'] });
  assert.equal(r!.status_code, 201);
  assert.deepEqual(unb64json(r!.request_body), { name: 'ada', password: '[CLIENT_REDACTED]' });
  assert.deepEqual(unb64json(r!.response_body), { hello: 'ada', token: '[CLIENT_REDACTED]' });
  assert.deepEqual(r!.request_headers['x-trace'], ['abc']);
  assert.deepEqual(r!.response_headers['set-cookie'], ['[CLIENT_REDACTED]']); // the wire format's one marker per redacted header
  assert.equal(r!.host, new URL(url).host);
});

test('a streamed body passes through chunk by chunk and is recorded whole', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { url, transport } = await serveWeb(
    t,
    {},
    () =>
      new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode('data: 1\n\n'));
            // The second event waits until the client has the first: nothing may be held back.
            await gate;
            controller.enqueue(new TextEncoder().encode('data: 2\n\n'));
            controller.close();
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  );
  const res = await fetch(`${url}/sse`);
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), 'data: 1\n\n');
  release();
  let rest = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
  assert.equal(rest, 'data: 2\n\n');
  const [r] = await transport.waitForRecords(1);
  assert.equal(unb64(r!.response_body), 'data: 1\n\ndata: 2\n\n');
  assert.equal(r!.url_path, '');
});

test('a thrown error is recorded with its cause and rethrown unchanged', async (t) => {
  const thrown = new Error('outer', { cause: new TypeError('inner') });
  const { url, transport } = await serveWeb(t, {}, () => {
    throw thrown;
  });
  const res = await fetch(`${url}/users/1`);
  assert.equal(res.status, 500); // the server's own answer to a throwing handler
  const [r] = await transport.waitForRecords(1);
  assert.equal(r!.status_code, 500);
  assert.equal(r!.errors[0]!.message, 'outer');
  assert.equal(r!.errors[0]!.root_error_type, 'TypeError');
});

test('a body cut at maxBodyBytes on both sides; the app still reads all of it', async (t) => {
  const { url, transport } = await serveWeb(t, { maxBodyBytes: 1_000 }, async (request) => {
    const text = await request.text();
    return new Response('y'.repeat(text.length));
  });
  const res = await fetch(`${url}/big`, { method: 'POST', body: 'x'.repeat(100_000) });
  assert.equal((await res.text()).length, 100_000);
  const [r] = await transport.waitForRecords(1);
  assert.equal(unb64(r!.request_body), 'x'.repeat(1_000));
  assert.equal(unb64(r!.response_body), 'y'.repeat(1_000));
});

test('a client that leaves mid-body is recorded as aborted', async (t) => {
  const { url, transport } = await serveWeb(
    t,
    {},
    () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('first,'));
            // never closes
          },
        }),
      ),
  );
  const controller = new AbortController();
  const res = await fetch(`${url}/slow`, { signal: controller.signal });
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort();
  const [r] = await transport.waitForRecords(1);
  assert.ok(
    r!.errors.some((e) => e.error_type === 'RequestAborted'),
    JSON.stringify(r!.errors),
  );
  assert.equal(unb64(r!.response_body), 'first,');
});

test('ignored paths and a stopped client serve without observing', async (t) => {
  const { url, transport, apitoolkit } = await serveWeb(t, { ignorePaths: ['/health'] }, () => new Response('ok'));
  assert.equal(await (await fetch(`${url}/health`)).text(), 'ok');
  await apitoolkit.shutdown(1_000);
  assert.equal(await (await fetch(`${url}/users/1`)).text(), 'ok');
  // Both were decided before the handler ran: no exchange was started, so no record can follow.
  assert.equal(apitoolkit.stats().captured, 0);
  assert.equal(transport.records().length, 0);
});
