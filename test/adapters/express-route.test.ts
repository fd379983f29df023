import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorRequestHandler, Express, Request, RequestHandler } from 'express';
// @ts-expect-error -- npm alias of express@4, typed below via @types/express
import express4Untyped from 'express4';
// Express 5 is the `express` devDependency itself.
import express5 from 'express';
import { expressRoute, type ExpressRoute } from '../../src/adapters/express/route.js';

type ExpressModule = typeof import('express');
const express4 = express4Untyped as ExpressModule;

const ok: RequestHandler = (_req, res) => {
  res.json({ ok: true });
};
const echoParams: RequestHandler = (req, res) => {
  res.json(req.params);
};

/** Every route of the table, written in each major's own path syntax where they differ. */
function buildApp(express: ExpressModule, major: 4 | 5) {
  const app = express();
  const seen = new Map<string, Promise<ExpressRoute>>();

  // How the SDK uses it: an app-level middleware reads the route once the response finished.
  app.use((req, res, next) => {
    const id = req.get('x-case');
    if (id) seen.set(id, new Promise((resolve) => res.on('finish', () => resolve(expressRoute(req)))));
    next();
  });
  app.use(express.json());

  app.get('/', ok);
  app.get('/users/:id', ok);
  app.route('/books/:bookId').get(ok).post(ok);
  app.get(['/alias-a/:id', '/alias-b/:id'], ok);
  app.get(/^\/re\/(\d+)$/, ok);
  app.get(/^\/named\/(?<num>\d+)$/, ok);
  app.get('/async/:id', async (_req, res) => {
    await sleep(20);
    res.json({ ok: true });
  });
  const lang = express.Router();
  lang.get('/greet', ok);
  if (major === 4) {
    app.get('/files/*', ok);
    app.get('/opt/:id?', ok);
    app.use('/lang/:lang?', lang);
  } else {
    app.get('/files/*splat', ok);
    app.get('/opt{/:id}', ok);
    app.use('/lang{/:lang}', lang);
  }

  // Nested routers, with and without mergeParams.
  const projects = express.Router({ mergeParams: true });
  const tasks = express.Router({ mergeParams: true });
  tasks.get('/tasks/:taskId', echoParams);
  tasks.get('/fail/:x', () => {
    throw new Error('boom');
  });
  projects.use('/projects/:projectId', tasks);
  app.use('/orgs/:orgId', projects);

  const teams = express.Router();
  const squads = express.Router();
  squads.get('/members/:memberId', echoParams);
  teams.use('/squads/:squadId', squads);
  app.use('/teams/:teamId', teams);

  // One router mounted at several paths, and at an array of paths.
  const items = express.Router();
  items.get('/items/:itemId', ok);
  app.use('/v1', items);
  app.use('/v2', items);
  app.use(['/arr1', '/arr2/:tag'], items);

  // Routes on '/' of a mounted router, a router mounted at the root, a middleware answering by itself.
  const api = express.Router();
  api.get('/', ok);
  api.use('/blocked', (_req, res) => {
    res.status(403).end();
  });
  app.use('/api', api);
  const rootRouter = express.Router();
  rootRouter.get('/rootr/:z', ok);
  app.use(rootRouter);
  app.use('/mw', (_req, res) => {
    res.status(204).end();
  });

  // A router mounted at a RegExp: its matched text (an id) must never leak.
  const byRegexp = express.Router();
  byRegexp.get('/leaf', ok);
  app.use(/^\/rmount\/\d+/, byRegexp);

  // Sub-apps, one nested in the other, plus a router inside.
  const admin = express();
  admin.get('/users/:uid', ok);
  const crash: RequestHandler = (req, res) => {
    if (req.query.fail) throw new Error('boom');
    res.json({ ok: true });
  };
  admin.get('/crash/:c', crash);
  admin.get('/crash2/:c', crash);
  const reports = express.Router();
  reports.get('/:rid', ok);
  admin.use('/reports', reports);
  const deep = express();
  deep.get('/x/:y', ok);
  admin.use('/deep/:d', deep);
  app.use('/admin/:tenant', admin);

  const onError: ErrorRequestHandler = (_err, _req, res, _next) => {
    res.status(500).json({ error: true });
  };
  app.use(onError);

  return { app, seen, items, tasks };
}

async function listen(t: TestContext, app: Express): Promise<string> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Case {
  name: string;
  path: string;
  method?: string;
  status?: number;
  template: string;
  params?: Record<string, string>;
  /** Asserted against the handler's own req.params (echoed in the body). */
  body?: unknown;
}

function cases(major: 4 | 5): Case[] {
  const rmount = String(/^\/rmount\/\d+/);
  return [
    { name: 'plain param', path: '/users/42', template: '/users/:id', params: { id: '42' } },
    { name: 'param decoded as Express does', path: '/users/a%20b', template: '/users/:id', params: { id: 'a b' } },
    { name: 'root route', path: '/', template: '/' },
    {
      name: 'nested routers with mergeParams',
      path: '/orgs/42/projects/7/tasks/9',
      template: '/orgs/:orgId/projects/:projectId/tasks/:taskId',
      params: { orgId: '42', projectId: '7', taskId: '9' },
      body: { orgId: '42', projectId: '7', taskId: '9' },
    },
    {
      name: 'nested routers without mergeParams',
      path: '/teams/1/squads/2/members/3',
      template: '/teams/:teamId/squads/:squadId/members/:memberId',
      params: { teamId: '1', squadId: '2', memberId: '3' },
      body: { memberId: '3' },
    },
    {
      name: 'literal segments equal to param values',
      path: '/orgs/orgs/projects/orgs/tasks/orgs',
      template: '/orgs/:orgId/projects/:projectId/tasks/:taskId',
      params: { orgId: 'orgs', projectId: 'orgs', taskId: 'orgs' },
    },
    {
      name: 'param values equal to the following literal',
      path: '/orgs/projects/projects/tasks/tasks/tasks',
      template: '/orgs/:orgId/projects/:projectId/tasks/:taskId',
      params: { orgId: 'projects', projectId: 'tasks', taskId: 'tasks' },
    },
    {
      name: 'error thrown in a nested route, handled at app level',
      path: '/orgs/42/projects/7/fail/x1',
      status: 500,
      template: '/orgs/:orgId/projects/:projectId/fail/:x',
      params: { orgId: '42', projectId: '7', x: 'x1' },
    },
    { name: 'router mounted twice (1st)', path: '/v1/items/5', template: '/v1/items/:itemId', params: { itemId: '5' } },
    { name: 'router mounted twice (2nd)', path: '/v2/items/6', template: '/v2/items/:itemId', params: { itemId: '6' } },
    { name: 'router mounted at an array (literal)', path: '/arr1/items/7', template: '/arr1/items/:itemId', params: { itemId: '7' } },
    {
      name: 'router mounted at an array (param)',
      path: '/arr2/blue/items/8',
      template: '/arr2/:tag/items/:itemId',
      params: { tag: 'blue', itemId: '8' },
    },
    { name: 'route at an array of paths', path: '/alias-b/3', template: '/alias-b/:id', params: { id: '3' } },
    { name: 'route at an array of paths, other case', path: '/ALIAS-B/4', template: '/alias-b/:id', params: { id: '4' } },
    { name: 'app.route() GET', path: '/books/b1', template: '/books/:bookId', params: { bookId: 'b1' } },
    { name: 'app.route() POST', path: '/books/b2', method: 'POST', template: '/books/:bookId', params: { bookId: 'b2' } },
    { name: "router '/' route", path: '/api', template: '/api' },
    { name: "router '/' route with trailing slash", path: '/api/', template: '/api' },
    { name: 'router mounted at the root', path: '/rootr/zz', template: '/rootr/:z', params: { z: 'zz' } },
    { name: 'sub-app', path: '/admin/acme/users/u1', template: '/admin/:tenant/users/:uid', params: { tenant: 'acme', uid: 'u1' } },
    {
      name: 'router inside a sub-app',
      path: '/admin/acme/reports/r9',
      template: '/admin/:tenant/reports/:rid',
      params: { tenant: 'acme', rid: 'r9' },
    },
    {
      name: 'sub-app inside a sub-app',
      path: '/admin/acme/deep/d1/x/y1',
      template: '/admin/:tenant/deep/:d/x/:y',
      params: { tenant: 'acme', d: 'd1', y: 'y1' },
    },
    { name: 'regexp route', path: '/re/123', template: String(/^\/re\/(\d+)$/), params: { 0: '123' } },
    { name: 'regexp route, named group', path: '/named/77', template: String(/^\/named\/(?<num>\d+)$/), params: { num: '77' } },
    { name: 'router mounted at a regexp', path: '/rmount/555/leaf', template: `${rmount}/leaf` },
    major === 4
      ? { name: 'wildcard *', path: '/files/a/b.txt', template: '/files/*', params: { 0: 'a/b.txt' } }
      : { name: 'wildcard /*splat', path: '/files/a/b.txt', template: '/files/*splat', params: { splat: 'a/b.txt' } },
    major === 4
      ? { name: 'optional param present', path: '/opt/5', template: '/opt/:id?', params: { id: '5' } }
      : { name: 'optional param present', path: '/opt/5', template: '/opt{/:id}', params: { id: '5' } },
    major === 4
      ? { name: 'optional param absent', path: '/opt', template: '/opt/:id?' }
      : { name: 'optional param absent', path: '/opt', template: '/opt{/:id}' },
    {
      name: 'router mounted at an optional param',
      path: '/lang/fr/greet',
      template: major === 4 ? '/lang/:lang?/greet' : '/lang{/:lang}/greet',
      params: { lang: 'fr' },
    },
    { name: '404', path: '/nope/1', status: 404, template: '' },
    { name: 'app middleware answering without a route', path: '/mw/1', status: 204, template: '' },
    { name: 'router middleware answering without a route', path: '/api/blocked/1', status: 403, template: '' },
    { name: 'async handler answering after an await', path: '/async/a1', template: '/async/:id', params: { id: 'a1' } },
  ];
}

let seq = 0;
async function call(base: string, seen: Map<string, Promise<ExpressRoute>>, path: string, method = 'GET') {
  const id = String(++seq);
  const res = await fetch(base + path, { method, headers: { 'x-case': id } });
  const text = await res.text();
  const route = seen.get(id);
  assert.ok(route, `the request ${method} ${path} reached the app`);
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text, route: await route };
}

for (const [major, express] of [
  [4, express4],
  [5, express5],
] as const) {
  test(`expressRoute with express ${major}`, async (t) => {
    const { app, seen, items, tasks } = buildApp(express, major);
    const base = await listen(t, app);

    for (const c of cases(major)) {
      await t.test(c.name, async () => {
        const { status, body, route } = await call(base, seen, c.path, c.method);
        assert.equal(status, c.status ?? 200);
        if (c.body !== undefined) assert.deepEqual(body, c.body);
        assert.deepEqual(route, { template: c.template, params: c.template ? (c.params ?? {}) : {} });
      });
    }

    await t.test('routes and mounts added after the first requests', async () => {
      const late = express.Router();
      late.get('/late/:lateId', ok);
      app.use('/later', late);
      tasks.get('/late/:lateTaskId', ok);
      app.use('/v3', items); // already resolved via /v1 and /v2: the cached chains must be refreshed

      let r = await call(base, seen, '/later/late/L1');
      assert.deepEqual(r.route, { template: '/later/late/:lateId', params: { lateId: 'L1' } });
      r = await call(base, seen, '/orgs/1/projects/2/late/L2');
      assert.deepEqual(r.route, {
        template: '/orgs/:orgId/projects/:projectId/late/:lateTaskId',
        params: { orgId: '1', projectId: '2', lateTaskId: 'L2' },
      });
      r = await call(base, seen, '/v3/items/9');
      assert.deepEqual(r.route, { template: '/v3/items/:itemId', params: { itemId: '9' } });
      r = await call(base, seen, '/v1/items/10');
      assert.deepEqual(r.route, { template: '/v1/items/:itemId', params: { itemId: '10' } });
    });

    await t.test('error thrown in a sub-app route, handled by the parent app', async () => {
      // Once the sub-app has exited, req.app is the parent again and the sub-app is only
      // reachable through the chains cached by an earlier request to the same route.
      let r = await call(base, seen, '/admin/acme/crash/1');
      assert.deepEqual(r.route, { template: '/admin/:tenant/crash/:c', params: { tenant: 'acme', c: '1' } });
      r = await call(base, seen, '/admin/acme/crash/2?fail=1');
      assert.equal(r.status, 500);
      assert.deepEqual(r.route, { template: '/admin/:tenant/crash/:c', params: { tenant: 'acme', c: '2' } });
    });

    await t.test('a sub-app route that failed first still resolves once it succeeds', async () => {
      // Before any success the sub-app can't be found from the parent (a known limit), and
      // those misses must not stop later requests, where req.app is the sub-app, from resolving it.
      for (let i = 0; i < 5; i++) assert.equal((await call(base, seen, `/admin/acme/crash2/${i}?fail=1`)).status, 500);
      const r = await call(base, seen, '/admin/acme/crash2/ok');
      assert.deepEqual(r.route, { template: '/admin/:tenant/crash2/:c', params: { tenant: 'acme', c: 'ok' } });
    });

    await t.test('repeated requests give the same answer (cached chains)', async () => {
      for (const path of ['/orgs/a/projects/b/tasks/c', '/orgs/d/projects/e/tasks/f']) {
        const r = await call(base, seen, path);
        const [, , orgId, , projectId, , taskId] = path.split('/');
        assert.deepEqual(r.route, { template: '/orgs/:orgId/projects/:projectId/tasks/:taskId', params: { orgId, projectId, taskId } });
      }
    });
  });
}

test('expressRoute never throws', () => {
  const empty = { template: '', params: {} };
  assert.deepEqual(expressRoute(undefined), empty);
  assert.deepEqual(expressRoute({}), empty);
  assert.deepEqual(expressRoute({ route: { path: '/x' }, app: {}, url: '/x' }), empty);
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('nope');
      },
    },
  );
  assert.deepEqual(expressRoute(hostile), empty);
  assert.deepEqual(expressRoute({ route: {}, app: hostile, baseUrl: '', url: '/' }), empty);
});

test('a route Express cannot reach from req.app resolves to no template, not a guess', () => {
  const app = express5();
  const router = express5.Router();
  router.get('/hidden/:id', ok);
  const req = { route: router.stack[0]!.route, app, baseUrl: '', url: '/hidden/1' } as unknown as Request;
  assert.deepEqual(expressRoute(req), { template: '', params: {} });
});
