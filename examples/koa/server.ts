/**
 * The quick-start example on Koa: the same API as examples/express, instrumented by
 * apitoolkit-node, sending to the embedded local collector, which prints every record it receives.
 *
 *   npm start -- koa     # then, in another terminal, run the curl commands it prints
 */
import Koa from 'koa';
import Router from '@koa/router';
import { APIToolkit } from '../../src/index.js';
import { koaMiddleware } from '../../src/adapters/koa/index.js';
import { collectorSettings, port, printBanner, startLocalCollector, stopOnSignals } from '../local.js';

// 1. The local collector stands in for APIToolkit: it serves client metadata and a Pub/Sub endpoint.
const collector = await startLocalCollector();

// 2. The SDK, configured as a user would, plus the settings that point it at the collector.
const apitoolkit = new APIToolkit({
  apiKey: process.env.APITOOLKIT_KEY ?? 'local-development-key',
  redactHeaders: ['X-Api-Key'],
  redactRequestBody: ['$.password', '$.credit-card.number', '$.credit-card.cvv'],
  redactResponseBody: ['$.token'],
  serviceVersion: '1.4.0',
  tags: ['example'],
  ...collectorSettings(collector),
});

// 3. An ordinary Koa app with @koa/router. The SDK goes first.
const app = new Koa();
app.use(koaMiddleware(apitoolkit));

// A JSON body parser in a few lines (use @koa/bodyparser in a real app).
app.use(async (ctx, next) => {
  if (ctx.is('application/json')) {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
    try {
      (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString() || 'null');
    } catch {
      ctx.throw(400, 'invalid JSON');
    }
  }
  await next();
});
const body = (ctx: Koa.Context) => (ctx.request as { body?: Record<string, unknown> }).body ?? {};

const router = new Router();
router.get('/users/:id', (ctx) => {
  ctx.body = { id: ctx.params.id, name: 'Ada Lovelace' };
});
router.post('/login', (ctx) => {
  ctx.body = { user: body(ctx).username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' };
});
router.post('/payments', (ctx) => {
  ctx.status = 201;
  ctx.body = { amount: body(ctx).amount ?? 0, status: 'accepted' };
});

const orgs = new Router();
orgs.get('/:orgId/projects/:projectId', (ctx) => {
  ctx.body = { org: ctx.params.orgId, project: ctx.params.projectId };
});
router.use('/orgs', orgs.routes());

router.get('/fail', () => {
  throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
});

app.use(router.routes()).use(router.allowedMethods());
app.silent = true; // the record shows the error; no stack trace in the terminal

const server = app.listen(port, '127.0.0.1', () => {
  printBanner(collector, server.address(), { framework: 'Koa' });
});

stopOnSignals({ collector, client: apitoolkit, close: () => server.close() });
