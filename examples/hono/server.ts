/**
 * The quick-start example on Hono: the same API as examples/express, served by @hono/node-server,
 * instrumented by apitoolkit-node, sending to the embedded local collector, which prints every
 * record it receives.
 *
 *   npm start -- hono    # then, in another terminal, run the curl commands it prints
 */
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { APIToolkit } from '../../src/index.js';
import { honoMiddleware } from '../../src/adapters/hono/index.js';
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

// 3. An ordinary Hono app. The SDK goes first.
const app = new Hono();
app.use('*', honoMiddleware(apitoolkit));

app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), name: 'Ada Lovelace' }));

app.post('/login', async (c) => {
  const body = await c.req.json<{ username?: string }>().catch(() => ({} as { username?: string }));
  return c.json({ user: body.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' });
});

app.post('/payments', async (c) => {
  const body = await c.req.json<{ amount?: number }>().catch(() => ({} as { amount?: number }));
  return c.json({ amount: body.amount ?? 0, status: 'accepted' }, 201);
});

const orgs = new Hono();
orgs.get('/:orgId/projects/:projectId', (c) => c.json({ org: c.req.param('orgId'), project: c.req.param('projectId') }));
app.route('/orgs', orgs);

app.get('/fail', () => {
  throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
});

app.onError((err, c) => c.json({ error: err.message }, 500));

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  const base = `http://127.0.0.1:${info.port}`;
  console.log(`
Example API (Hono) listening on ${base} (records print below and go to ${collector.jsonlPath ?? 'memory'})
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
