/** The standard app (spec.ts) on Koa 2 and 3, routed by @koa/router. */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type Koa from 'koa';
import Router from '@koa/router';
import type { APIToolkit } from '../../../src/index.js';
import { koaMiddleware } from '../../../src/adapters/koa/index.js';
import type { Target } from '../spec.js';
import { listen, pause } from './serve.js';

const require = createRequire(import.meta.url);
const version = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

/** The Koa majors we support: 2 from its npm alias `koa2`, 3 as `koa` itself; both with @koa/router. */
export const koaVersions = [
  { name: 'koa 2', version: version('koa2'), Koa: require('koa2') as typeof Koa },
  { name: 'koa 3', version: version('koa'), Koa: require('koa') as typeof Koa },
];
export const koaRouterVersion = version('@koa/router');

/** What a body parser would do, in a few lines (@koa/bodyparser is not a dependency). */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A streamed `ctx.body`: the chunks are written `gap` ms apart, then it ends (unless `end` is false). */
function chunked(parts: string[], gap: number, end = true): PassThrough {
  const stream = new PassThrough();
  void (async () => {
    for (const [i, part] of parts.entries()) {
      if (i > 0) await pause(gap);
      stream.write(part);
    }
    if (end) stream.end();
  })();
  return stream;
}

function app(KoaApp: typeof Koa, apitoolkit: APIToolkit | undefined) {
  const app = new KoaApp();
  app.silent = true; // the thrown-error scenario must not print Koa's default log
  if (apitoolkit) app.use(koaMiddleware(apitoolkit));
  const router = new Router();
  router.get('/users/:id', (ctx) => {
    ctx.set('Set-Cookie', 'session=abc');
    ctx.body = { id: ctx.params.id, token: 'secret-token' };
  });
  router.post('/users/:id', async (ctx) => {
    const raw = await readBody(ctx.req);
    let name: unknown = null;
    if (ctx.is('application/json')) name = (JSON.parse(raw.toString()) as { name?: unknown }).name ?? null;
    ctx.status = 201;
    ctx.body = { id: ctx.params.id, token: 'tok-123', name };
  });
  router.post('/upload', async (ctx) => {
    await readBody(ctx.req);
    ctx.body = { ok: true };
  });
  const projects = new Router();
  projects.get('/:projectId', (ctx) => {
    ctx.body = { orgId: ctx.params.orgId, projectId: ctx.params.projectId };
  });
  const orgs = new Router();
  orgs.use('/:orgId/projects', projects.routes());
  router.use('/orgs', orgs.routes());
  router.get('/boom', () => {
    throw new Error('outer failure', { cause: new TypeError('inner cause') });
  });
  router.get('/report', async (ctx) => {
    await pause(1);
    apitoolkit?.reportError(new RangeError('handled but worth knowing'));
    ctx.status = 202;
    ctx.body = 'accepted';
  });
  router.get('/stream', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = chunked(['part one, ', 'part two, ', 'end'], 10);
  });
  router.get('/sse', (ctx) => {
    ctx.type = 'text/event-stream';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = chunked(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'], 10);
  });
  router.get('/gzip', (ctx) => {
    ctx.type = 'application/json';
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = gzipSync(JSON.stringify({ compressed: true, token: 'secret-token' }));
  });
  router.get('/big', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = 'x'.repeat(2_000_000);
  });
  router.get('/empty', (ctx) => {
    ctx.status = 204;
  });
  router.get('/slow', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = chunked(['first,'], 0, false);
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

export const koaTargets: Target[] = koaVersions.map(({ version, Koa }) => ({
  name: `koa ${version} + @koa/router ${koaRouterVersion}`,
  sdkType: 'JsKoa',
  template: (pattern) => pattern,
  start: (apitoolkit) => listen(app(Koa, apitoolkit).callback()),
}));
