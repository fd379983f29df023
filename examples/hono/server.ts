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

// 3. An ordinary Hono app. The SDK goes first.
const app = new Hono();
app.use('*', honoMiddleware(apitoolkit));

app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), name: 'Ada Lovelace' }));

app.post('/login', async (c) => {
  const body = await c.req.json<{ username?: string }>().catch(() => ({}) as { username?: string });
  return c.json({ user: body.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' });
});

app.post('/payments', async (c) => {
  const body = await c.req.json<{ amount?: number }>().catch(() => ({}) as { amount?: number });
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
  printBanner(collector, info, { framework: 'Hono' });
});

stopOnSignals({ collector, client: apitoolkit, close: () => server.close() });
