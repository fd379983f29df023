/**
 * Web Fetch capture (`kObserveWeb`), the core of fetch-style adapters such as Next's App Router,
 * driven through a real HTTP server that speaks Request/Response (@hono/node-server's listener).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
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

/** The raw bytes a server sends for one request (its Date line left out). */
async function rawResponse(url: string, path: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      out += chunk;
    });
    socket.on('end', () => resolve(out.replace(/^Date: .*\r\n/im, '')));
    socket.on('error', reject);
  });
}

test("@hono/node-server: every response goes out byte for byte as the app's own, framing included, and is recorded", async (t) => {
  // The server keeps a string or bytes body in a cache of its own Response and frames it with
  // Content-Length; a pass-through in its place went out chunked, and reading its headers reordered them.
  const made: Record<string, () => Response> = {
    '/json': () => Response.json({ ok: true, n: 1 }),
    '/text-headers-object': () => new Response('plain é', { status: 201, headers: { 'x-a': '1', 'content-type': 'text/plain' } }),
    '/bytes-no-headers': () => new Response(new TextEncoder().encode('bytes')),
    '/header-pairs': () =>
      new Response('pairs', {
        headers: [
          ['x-b', '2'],
          ['x-b', '3'],
        ],
      }),
    '/empty-204': () => new Response(null, { status: 204, headers: { 'x-c': 'z' } }),
    '/stream': () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('streamed'));
            controller.close();
          },
        }),
      ),
  };
  const handler = (request: Request): Response => made[new URL(request.url).pathname]!();
  const bare = createServer(getRequestListener(handler));
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => bare.close(resolve)));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}`;
  const { url, transport } = await serveWeb(t, {}, handler);
  const paths = Object.keys(made);
  for (const path of paths) assert.equal(await rawResponse(url, path), await rawResponse(bareUrl, path), path);
  const records = await transport.waitForRecords(paths.length);
  const byPath = new Map(records.map((r) => [r.raw_url, r]));
  assert.equal(unb64(byPath.get('/json')!.response_body), '{"ok":true,"n":1}');
  assert.deepEqual(byPath.get('/json')!.response_headers['content-type'], ['application/json']);
  assert.equal(byPath.get('/text-headers-object')!.status_code, 201);
  assert.equal(unb64(byPath.get('/text-headers-object')!.response_body), 'plain é');
  assert.deepEqual(byPath.get('/text-headers-object')!.response_headers['x-a'], ['1']);
  assert.equal(unb64(byPath.get('/bytes-no-headers')!.response_body), 'bytes');
  assert.deepEqual(byPath.get('/bytes-no-headers')!.response_headers['content-type'], ['text/plain; charset=UTF-8']);
  assert.deepEqual(byPath.get('/header-pairs')!.response_headers['x-b'], ['2, 3']);
  assert.equal(byPath.get('/empty-204')!.status_code, 204);
  assert.equal(byPath.get('/empty-204')!.response_body, '');
  assert.equal(unb64(byPath.get('/stream')!.response_body), 'streamed');
});

test('@hono/node-server: the request body is recorded whether the app reads it directly, as a stream, or never', async (t) => {
  const { url, transport } = await serveWeb(t, {}, async (request) => {
    const path = new URL(request.url).pathname;
    if (path === '/text') return new Response(`got ${await request.text()}`);
    if (path === '/stream') {
      let got = '';
      for await (const chunk of request.body!) got += new TextDecoder().decode(chunk);
      return new Response(`got ${got}`);
    }
    if (path === '/clone') return new Response(`got ${await request.clone().text()}`);
    return new Response('not read');
  });
  const sent = { '/text': 'a=1', '/stream': 'b'.repeat(70_000), '/clone': '{"c":3}', '/ignored': 'never read by the app' };
  for (const [path, body] of Object.entries(sent)) {
    const response = await fetch(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    assert.equal(await response.text(), path === '/ignored' ? 'not read' : `got ${body}`, path);
  }
  const records = await transport.waitForRecords(4);
  for (const [path, body] of Object.entries(sent)) {
    const record = records.find((r) => r.raw_url === path)!;
    assert.equal(unb64(record.request_body), body, path);
  }
});
