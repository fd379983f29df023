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
import { startCollector } from '../../src/collector/index.js';

const port = Number(process.env.PORT ?? 3000);

// 1. The local collector stands in for APIToolkit: it serves client metadata and a Pub/Sub endpoint.
const collector = await startCollector({ print: true, jsonlPath: process.env.APITOOLKIT_JSONL ?? 'apitoolkit-records.jsonl' });

// 2. The SDK, configured as a user would, plus the two settings that point it at the collector.
const apitoolkit = new APIToolkit({
  apiKey: process.env.APITOOLKIT_KEY ?? 'local-development-key',
  rootURL: collector.rootURL,
  pubsubEndpoint: collector.pubsubEndpoint,
  redactHeaders: ['X-Api-Key'],
  redactRequestBody: ['$.password', '$.credit-card.cvv'],
  redactResponseBody: ['$.token'],
  serviceVersion: '1.4.0',
  tags: ['example'],
  flushIntervalMs: 100,
  debug: process.env.APITOOLKIT_DEBUG === '1',
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
const body = (ctx: Koa.Context) => ((ctx.request as { body?: Record<string, unknown> }).body ?? {});

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
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  console.log(`
Example API (Koa) listening on ${base} (records print below and go to ${collector.jsonlPath ?? 'memory'})
Try:
  curl ${base}/users/42?expand=teams
  curl -X POST ${base}/login -H 'content-type: application/json' -H 'X-Api-Key: abc123' \\
       -d '{"username":"ada","password":"hunter2"}'
  curl -X POST ${base}/payments -H 'content-type: application/json' \\
       -d '{"amount":42,"credit-card":{"number":"4111111111111111","cvv":"123"}}'
  curl ${base}/orgs/acme/projects/apollo
  curl ${base}/fail
Press Ctrl+C to stop.
`);
});

async function stop(): Promise<void> {
  server.close();
  const result = await apitoolkit.shutdown(3_000);
  await collector.close();
  console.log(`\nstopped: ${apitoolkit.stats().published} record(s) delivered, ${result.dropped} dropped`);
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
