/**
 * The quick-start example on Fastify: the same API as examples/express, instrumented by
 * apitoolkit-node, sending to the embedded local collector, which prints every record it receives.
 *
 *   npm start -- fastify     # then, in another terminal, run the curl commands it prints
 */
import Fastify from 'fastify';
import { APIToolkit } from '../../src/index.js';
import apitoolkitFastify from '../../src/adapters/fastify/index.js';
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

// 3. An ordinary Fastify app. The SDK plugin is registered first, on the root instance.
const app = Fastify();
await app.register(apitoolkitFastify, { client: apitoolkit });

type Body = { username?: string; amount?: number } | undefined;

app.get<{ Params: { id: string } }>('/users/:id', async (request) => ({ id: request.params.id, name: 'Ada Lovelace' }));

app.post('/login', async (request) => ({ user: (request.body as Body)?.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' }));

app.post('/payments', async (request, reply) => {
  reply.code(201);
  return { amount: (request.body as Body)?.amount ?? 0, status: 'accepted' };
});

await app.register(
  async (orgs) => {
    orgs.get<{ Params: { orgId: string; projectId: string } }>('/:orgId/projects/:projectId', async (request) => ({
      org: request.params.orgId,
      project: request.params.projectId,
    }));
  },
  { prefix: '/orgs' },
);

app.get('/fail', async () => {
  throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
});

// The SDK records the error before this runs; the answer is the app's own.
app.setErrorHandler((error, _request, reply) => {
  reply.code(500).send({ error: (error as Error).message });
});

await app.listen({ port, host: '127.0.0.1' });
// Before the banner: a Ctrl-C sent as soon as it appears must find the handler.
stopOnSignals({ collector, client: apitoolkit, close: () => app.close() });
printBanner(collector, app.server.address(), { framework: 'Fastify' });
