/**
 * Plain node:http adapter beyond the conformance table: the default `url_path`, the `route` option
 * (and a `route` that throws), errors thrown or rejected by the handler (recorded, then passed on
 * unchanged), async context across the handler's own body reading, bodies node drops, misuse.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { type APIToolkit, OptionsInvalidError } from '../../src/index.js';
import { httpHandler } from '../../src/adapters/http/index.js';
import { serve, unb64, unb64json } from '../helpers/http.js';
import { memoryClient, oneRecord } from '../helpers/client.js';

const client = memoryClient;

const hello = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
};

test('httpHandler refuses a missing client, handler or route function, at setup', (t) => {
  const { apitoolkit } = client(t);
  const coded = (pattern: RegExp) => (error: unknown) =>
    error instanceof OptionsInvalidError && error.code === 'APITOOLKIT_ERR_OPTIONS_INVALID' && pattern.test(error.message);
  assert.throws(() => httpHandler(undefined as unknown as APIToolkit, hello), coded(/httpHandler\(client\)/));
  assert.throws(() => httpHandler(apitoolkit, 'nope' as never), coded(/httpHandler\(client, handler\)/));
  assert.throws(() => httpHandler(apitoolkit, hello, { route: '/users/:id' as never }), coded(/route/));
});

test('the returned listener has a name for stack traces and passes `this` (the server) through', async (t) => {
  const { transport, apitoolkit } = client(t);
  let self: unknown;
  const listener = httpHandler(apitoolkit, function (this: unknown, req, res) {
    self = this;
    hello(req, res);
  });
  assert.equal(listener.name, 'apitoolkitHttp');
  const url = await serve(t, listener);
  assert.equal(await (await fetch(`${url}/`)).text(), 'hello');
  await oneRecord(apitoolkit, transport);
  assert.equal(typeof (self as { listen?: unknown }).listen, 'function', 'this is the http.Server');
});

test('without a route option, url_path is the request path (no query string) and params are empty', async (t) => {
  const { transport, apitoolkit } = client(t);
  const url = await serve(t, httpHandler(apitoolkit, hello));
  await (await fetch(`${url}/users/42?expand=teams&x=1`)).text();
  const record = await oneRecord(apitoolkit, transport);
  assert.equal(record.url_path, '/users/42');
  assert.equal(record.raw_url, '/users/42?expand=teams&x=1');
  assert.deepEqual(record.path_params, {});
  assert.deepEqual(record.query_params, { expand: ['teams'], x: ['1'] });
  assert.equal(record.sdk_type, 'JsNode');
});

test('the route option gives the template and params; null means nothing matched; a throwing route never reaches the request', async (t) => {
  const faults: string[] = [];
  const { transport, apitoolkit } = client(t, { onError: (_error, { reason }) => faults.push(reason) });
  const url = await serve(
    t,
    httpHandler(apitoolkit, hello, {
      route: (req) => {
        if (req.url === '/explode') throw new Error('route bug');
        const m = /^\/items\/([^/?]+)/.exec(req.url ?? '');
        return m ? { template: '/items/:itemId', params: { itemId: m[1]! } } : null;
      },
    }),
  );

  await (await fetch(`${url}/items/i-9?full=1`)).text();
  let record = await oneRecord(apitoolkit, transport);
  assert.equal(record.url_path, '/items/:itemId');
  assert.deepEqual(record.path_params, { itemId: 'i-9' });

  transport.clear();
  await (await fetch(`${url}/other`)).text();
  record = await oneRecord(apitoolkit, transport);
  assert.equal(record.url_path, '');
  assert.deepEqual(record.path_params, {});

  transport.clear();
  const res = await fetch(`${url}/explode`);
  assert.equal(await res.text(), 'hello', 'the response is untouched');
  record = await oneRecord(apitoolkit, transport);
  assert.equal(record.url_path, '');
  assert.deepEqual(faults, ['route']);
});

test('a handler that throws: the error is recorded with its cause, then thrown on unchanged', async (t) => {
  const { transport, apitoolkit } = client(t);
  const boom = new Error('outer', { cause: new TypeError('inner') });
  const listener = httpHandler(apitoolkit, () => {
    throw boom;
  });
  let caught: unknown;
  const url = await serve(t, (req, res) => {
    try {
      listener.call(undefined, req, res);
    } catch (error) {
      caught = error;
      res.writeHead(500).end('caught by the app');
    }
  });
  assert.equal(await (await fetch(`${url}/x`)).text(), 'caught by the app');
  const record = await oneRecord(apitoolkit, transport);
  assert.equal(caught, boom, 'the same error object reaches the caller');
  assert.equal(record.status_code, 500);
  assert.equal(record.errors.length, 1);
  assert.equal(record.errors[0]!.message, 'outer');
  assert.equal(record.errors[0]!.root_error_type, 'TypeError');
});

test('an async handler that rejects: recorded, and the returned promise rejects with the same error', async (t) => {
  const { transport, apitoolkit } = client(t);
  const failure = new RangeError('async failure');
  const listener = httpHandler(apitoolkit, async () => {
    await new Promise((resolve) => setImmediate(resolve));
    throw failure;
  });
  let rejected: unknown;
  const url = await serve(t, (req, res) => {
    (listener.call(undefined, req, res) as unknown as Promise<void>).catch((error: unknown) => {
      rejected = error;
      res.writeHead(503).end();
    });
  });
  assert.equal((await fetch(`${url}/x`)).status, 503);
  const record = await oneRecord(apitoolkit, transport);
  assert.equal(rejected, failure);
  assert.deepEqual(
    record.errors.map((e) => [e.error_type, e.message]),
    [['RangeError', 'async failure']],
  );
});

test('reportError works after the handler read the body itself; the body is recorded and redacted', async (t) => {
  const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'] });
  let reported: boolean | undefined;
  const url = await serve(
    t,
    httpHandler(apitoolkit, async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { user: string };
      reported = apitoolkit.reportError(new Error('weak password'));
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ user: body.user }));
    }),
  );
  const res = await fetch(`${url}/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"user":"ada","password":"hunter2"}',
  });
  assert.deepEqual(await res.json(), { user: 'ada' });
  const record = await oneRecord(apitoolkit, transport);
  assert.equal(reported, true);
  assert.deepEqual(
    record.errors.map((e) => e.message),
    ['weak password'],
  );
  assert.deepEqual(unb64json(record.request_body), { user: 'ada', password: '[CLIENT_REDACTED]' });
});

test('a body node drops (HEAD, 204) is not recorded; a piped stream is', async (t) => {
  const { transport, apitoolkit } = client(t);
  const url = await serve(
    t,
    httpHandler(apitoolkit, (req, res) => {
      if (req.url === '/gone') {
        res.statusCode = 204;
        res.end('node drops this');
        return;
      }
      res.setHeader('content-type', 'text/plain');
      Readable.from(['a,', 'b,', 'c']).pipe(res);
    }),
  );

  const head = await fetch(`${url}/file`, { method: 'HEAD' });
  assert.equal(await head.text(), '');
  let record = await oneRecord(apitoolkit, transport);
  assert.equal(record.method, 'HEAD');
  assert.equal(record.response_body, '');

  transport.clear();
  assert.equal((await fetch(`${url}/gone`)).status, 204);
  record = await oneRecord(apitoolkit, transport);
  assert.equal(record.status_code, 204);
  assert.equal(record.response_body, '');

  transport.clear();
  assert.equal(await (await fetch(`${url}/file`)).text(), 'a,b,c');
  record = await oneRecord(apitoolkit, transport);
  assert.equal(unb64(record.response_body), 'a,b,c');
});

test('monitor disabled: the handler runs as is and nothing is recorded', async (t) => {
  const { transport, apitoolkit } = client(t, { enabled: false });
  const url = await serve(t, httpHandler(apitoolkit, hello));
  assert.equal(await (await fetch(`${url}/x`)).text(), 'hello');
  assert.equal(await apitoolkit.flush(100), true);
  assert.equal(transport.records().length, 0);
});

test('asyncContext: false records every request all the same; reportError() and currentMsgId() then find none', async (t) => {
  for (const asyncContext of [true, false]) {
    const { transport, apitoolkit } = client(t, { asyncContext });
    let reported: boolean | undefined;
    let msgId: string | undefined;
    const url = await serve(
      t,
      httpHandler(apitoolkit, async (req, res) => {
        for await (const _chunk of req);
        reported = apitoolkit.reportError(new Error('card declined'));
        msgId = apitoolkit.currentMsgId();
        hello(req, res);
      }),
    );
    assert.equal(await (await fetch(`${url}/pay`, { method: 'POST', body: 'x' })).text(), 'hello');
    const record = await oneRecord(apitoolkit, transport);
    assert.equal(record.status_code, 200);
    assert.equal(unb64(record.request_body), 'x');
    assert.equal(reported, asyncContext, `reportError() with asyncContext ${asyncContext}`);
    assert.equal(msgId, asyncContext ? record.msg_id : undefined);
    assert.equal(record.errors.length, asyncContext ? 1 : 0);
  }
});
