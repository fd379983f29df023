/**
 * Hono adapter beyond the conformance table: @hono/node-server with its default (overridden)
 * Request/Response globals, route templates through basePath/route()/middleware that answers
 * first, errors answered by app.onError or a sub-app's own, streaming helpers, and the Web
 * fallback used by app.request() and non-Node runtimes.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { stream } from 'hono/streaming';
import { getRequestListener } from '@hono/node-server';
import { type APIToolkit, OptionsInvalidError } from '../../src/index.js';
import { honoMiddleware } from '../../src/adapters/hono/index.js';
import { serve, unb64, unb64json } from '../helpers/http.js';
import { until } from '../helpers/wait.js';
import { memoryClient as client, onlyRecord as oneRecord } from '../helpers/client.js';

/** Serves a Hono app the way `serve()` from @hono/node-server does, on 127.0.0.1:0. */
const serveHono = (t: TestContext, app: Hono) => serve(t, getRequestListener(app.fetch));

test('honoMiddleware refuses anything but an APIToolkit, at setup', () => {
  assert.throws(
    () => honoMiddleware(undefined as unknown as APIToolkit),
    (error: unknown) =>
      error instanceof OptionsInvalidError &&
      error.code === 'APITOOLKIT_ERR_OPTIONS_INVALID' &&
      /honoMiddleware\(client\)/.test(error.message),
  );
  assert.throws(() => honoMiddleware({} as APIToolkit), OptionsInvalidError);
});

test('the returned middleware has a name for stack traces', (t) => {
  const { apitoolkit } = client(t);
  assert.equal(honoMiddleware(apitoolkit).name, 'apitoolkitHono');
});

test('node-server with its default globals: JSON in and out, redacted, headers from writeHead', async (t) => {
  const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'], redactResponseBody: ['$.token'] });
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  app.post('/login/:tenant', async (c) => {
    const body = await c.req.json<{ user: string }>();
    c.header('Set-Cookie', 'sid=1');
    return c.json({ user: body.user, tenant: c.req.param('tenant'), token: 'jwt' });
  });
  const url = await serveHono(t, app);
  const res = await fetch(`${url}/login/acme?next=%2Fhome`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"user":"ada","password":"hunter2"}',
  });
  assert.deepEqual(await res.json(), { user: 'ada', tenant: 'acme', token: 'jwt' });
  const record = await oneRecord(transport);
  assert.equal(record.sdk_type, 'JsHono');
  assert.equal(record.url_path, '/login/:tenant');
  assert.deepEqual(record.path_params, { tenant: 'acme' });
  assert.deepEqual(record.query_params, { next: ['/home'] });
  assert.deepEqual(unb64json(record.request_body), { user: 'ada', password: '[CLIENT_REDACTED]' });
  assert.deepEqual(unb64json(record.response_body), { user: 'ada', tenant: 'acme', token: '[CLIENT_REDACTED]' });
  assert.match(record.response_headers['content-type']?.[0] ?? '', /^application\/json/);
  assert.deepEqual(record.response_headers['set-cookie'], ['[CLIENT_REDACTED]']);
  assert.equal(record.status_code, 200);
});

test('templates: basePath and nested route() prefixes, app.all, the first of two matching routes', async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = new Hono().basePath('/api');
  app.use('*', honoMiddleware(apitoolkit));
  const members = new Hono();
  members.get('/:memberId', (c) => c.json(c.req.param()));
  const teams = new Hono();
  teams.route('/:teamId/members', members);
  app.route('/v1/teams', teams);
  app.all('/webhook', (c) => c.text('ok'));
  app.get('/users/new', (c) => c.text('form'));
  app.get('/users/:id', (c) => c.text('user'));
  const url = await serveHono(t, app);

  const cases: [string, string, string, Record<string, string>][] = [
    ['GET', '/api/v1/teams/t1/members/m%202', '/api/v1/teams/:teamId/members/:memberId', { teamId: 't1', memberId: 'm 2' }],
    ['PUT', '/api/webhook', '/api/webhook', {}],
    ['GET', '/api/users/new', '/api/users/new', {}],
    ['GET', '/api/users/7', '/api/users/:id', { id: '7' }],
    ['GET', '/api/v1/teams/t1', '', {}],
  ];
  for (const [method, path, template, params] of cases) {
    transport.clear();
    await (await fetch(`${url}${path}`, { method })).text();
    const record = await oneRecord(transport);
    assert.equal(record.url_path, template, path);
    assert.deepEqual(record.path_params, params, path);
  }
});

test('a middleware that answers or throws before the route: the template is the route behind it', async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  app.use('/accounts/*', async (c, next) => {
    if (c.req.header('x-mode') === 'throw') throw new HTTPException(401, { message: 'login first' });
    if (c.req.header('authorization') === undefined) return c.text('no', 403);
    await next();
  });
  app.get('/accounts/:accountId', (c) => c.json({ id: c.req.param('accountId') }));
  const url = await serveHono(t, app);

  assert.equal((await fetch(`${url}/accounts/a7`)).status, 403);
  let record = await oneRecord(transport);
  assert.equal(record.url_path, '/accounts/:accountId');
  assert.deepEqual(record.path_params, { accountId: 'a7' });
  assert.deepEqual(record.errors, []);

  transport.clear();
  const res = await fetch(`${url}/accounts/a8`, { headers: { 'x-mode': 'throw' } });
  assert.equal(res.status, 401);
  assert.equal(await res.text(), 'login first');
  record = await oneRecord(transport);
  assert.equal(record.url_path, '/accounts/:accountId');
  assert.deepEqual(record.path_params, { accountId: 'a8' });
  assert.deepEqual(
    record.errors.map((e) => [e.error_type, e.message]),
    [['HTTPException', 'login first']],
  );
});

test('method middleware (a validator) stopping the request keeps the route template', async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  const validate = async (c: import('hono').Context, next: () => Promise<void>) => {
    const body = await c.req.json<{ qty?: number }>();
    if (typeof body.qty !== 'number') return c.json({ error: 'qty' }, 400);
    await next();
  };
  app.post('/carts/:cartId/items', validate, (c) => c.json({ ok: true }, 201));
  const url = await serveHono(t, app);
  const res = await fetch(`${url}/carts/c1/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"qty":"x"}',
  });
  assert.equal(res.status, 400);
  const record = await oneRecord(transport);
  assert.equal(record.url_path, '/carts/:cartId/items');
  assert.deepEqual(record.path_params, { cartId: 'c1' });
  assert.deepEqual(unb64json(record.request_body), { qty: 'x' });
});

test("errors: app.onError, a sub-app's own onError, notFound and a thrown non-Error, each recorded once", async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  const billing = new Hono();
  billing.get('/charge/:id', () => {
    throw new Error('card declined', { cause: new RangeError('limit') });
  });
  billing.onError((error, c) => c.json({ billing: error.message }, 402));
  app.route('/billing', billing);
  app.get('/boom', () => {
    throw new TypeError('bad state');
  });
  app.get('/string', () => {
    throw 'plain string'; // a thrown non-Error, on purpose
  });
  app.onError((error, c) => c.json({ app: error.message }, 500));
  app.notFound((c) => c.json({ missing: c.req.path }, 404));
  const url = await serveHono(t, app);

  let res = await fetch(`${url}/billing/charge/9`);
  assert.equal(res.status, 402);
  assert.deepEqual(await res.json(), { billing: 'card declined' });
  let record = await oneRecord(transport);
  assert.equal(record.url_path, '/billing/charge/:id');
  assert.deepEqual(
    record.errors.map((e) => [e.message, e.root_error_type, e.root_error_message]),
    [['card declined', 'RangeError', 'limit']],
  );

  transport.clear();
  res = await fetch(`${url}/boom`);
  assert.deepEqual([res.status, await res.json()], [500, { app: 'bad state' }]);
  record = await oneRecord(transport);
  assert.deepEqual(
    record.errors.map((e) => e.error_type),
    ['TypeError'],
  );

  transport.clear();
  res = await fetch(`${url}/nowhere`);
  assert.deepEqual([res.status, await res.json()], [404, { missing: '/nowhere' }]);
  record = await oneRecord(transport);
  assert.equal(record.url_path, '');
  assert.deepEqual(record.errors, []);

  transport.clear();
  res = await fetch(`${url}/string`);
  assert.equal(res.status, 500, 'node-server answers what Hono rethrew');
  await res.arrayBuffer();
  record = await oneRecord(transport);
  assert.equal(record.url_path, '/string');
  assert.deepEqual(
    record.errors.map((e) => e.message),
    ['plain string'],
  );
});

test('stream() helper: chunks recorded as written, reportError inside the callback', async (t) => {
  const { transport, apitoolkit } = client(t);
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  app.get('/export', (c) => {
    c.header('Content-Type', 'text/csv');
    return stream(c, async (s) => {
      await s.write('id,name\n');
      await s.sleep(5);
      apitoolkit.reportError(new Error('row 2 skipped'));
      await s.write('1,ada\n');
    });
  });
  const url = await serveHono(t, app);
  assert.equal(await (await fetch(`${url}/export`)).text(), 'id,name\n1,ada\n');
  const record = await oneRecord(transport);
  assert.equal(unb64(record.response_body), 'id,name\n1,ada\n');
  assert.deepEqual(record.response_headers['content-type'], ['text/csv']);
  assert.deepEqual(
    record.errors.map((e) => e.message),
    ['row 2 skipped'],
  );
});

test('Web fallback (app.request, no node-server): same record shape, body teed, c.error recorded', async (t) => {
  const { transport, apitoolkit } = client(t, { redactResponseBody: ['$.token'] });
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), token: 'jwt' }));
  app.post('/echo', async (c) => c.text(await c.req.text()));
  app.get('/boom', () => {
    throw new Error('outer', { cause: new TypeError('inner') });
  });
  app.onError((error, c) => c.text(error.message, 500));

  let res = await app.request('/users/3?x=1');
  assert.deepEqual(await res.json(), { id: '3', token: 'jwt' });
  let record = await oneRecord(transport);
  assert.equal(record.sdk_type, 'JsHono');
  assert.equal(record.url_path, '/users/:id');
  assert.deepEqual(record.path_params, { id: '3' });
  assert.deepEqual(record.query_params, { x: ['1'] });
  assert.deepEqual(unb64json(record.response_body), { id: '3', token: '[CLIENT_REDACTED]' });

  transport.clear();
  res = await app.request('/echo', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
  assert.equal(await res.text(), 'hello');
  record = await oneRecord(transport);
  assert.equal(unb64(record.request_body), 'hello');

  transport.clear();
  res = await app.request('/users/4', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.body, null);
  record = await oneRecord(transport);
  assert.equal(record.method, 'HEAD');
  assert.equal(record.url_path, '/users/:id');

  transport.clear();
  res = await app.request('/boom');
  assert.equal(await res.text(), 'outer');
  record = await oneRecord(transport);
  assert.equal(record.status_code, 500);
  assert.deepEqual(
    record.errors.map((e) => [e.message, e.root_error_message]),
    [['outer', 'inner']],
  );
});

test('enabled: false is a pass-through', async (t) => {
  const { transport, apitoolkit } = client(t, { enabled: false });
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  app.get('/', (c) => c.text('plain'));
  const url = await serveHono(t, app);
  assert.equal(await (await fetch(`${url}/`)).text(), 'plain');
  assert.equal(await (await app.request('/')).text(), 'plain');
  await apitoolkit.flush(100);
  assert.equal(transport.records().length, 0);
});

test('ignorePaths matches Hono templates', async (t) => {
  const { transport, apitoolkit } = client(t, { ignorePaths: ['/health/:probe'] });
  const app = new Hono();
  app.use('*', honoMiddleware(apitoolkit));
  app.get('/health/:probe', (c) => c.text('up'));
  app.get('/ping', (c) => c.text('pong'));
  const url = await serveHono(t, app);
  await (await fetch(`${url}/health/live`)).text();
  await (await fetch(`${url}/ping`)).text();
  await until(() => transport.records().length >= 1, 'the /ping record');
  await apitoolkit.flush(1_000);
  assert.deepEqual(
    transport.records().map((r) => r.url_path),
    ['/ping'],
  );
});
