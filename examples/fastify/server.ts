/**
 * The quick-start example on Fastify: the same API as examples/express, instrumented by
 * apitoolkit-node, sending to the embedded local collector, which prints every record it receives.
 *
 *   npm start -- fastify     # then, in another terminal, run the curl commands it prints
 */
import Fastify from 'fastify';
import { APIToolkit } from '../../src/index.js';
import { fastifyPlugin } from '../../src/adapters/fastify/index.js';
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

// 3. An ordinary Fastify app. The SDK plugin is registered first, on the root instance.
const app = Fastify();
await app.register(fastifyPlugin, { client: apitoolkit });

type Body = { username?: string; amount?: number } | undefined;

app.get<{ Params: { id: string } }>('/users/:id', async (request) => ({ id: request.params.id, name: 'Ada Lovelace' }));

app.post('/login', async (request) => ({ user: (request.body as Body)?.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' }));

app.post('/payments', async (request, reply) => {
  reply.code(201);
  return { amount: (request.body as Body)?.amount ?? 0, status: 'accepted' };
});

await app.register(async (orgs) => {
  orgs.get<{ Params: { orgId: string; projectId: string } }>('/:orgId/projects/:projectId', async (request) => ({
    org: request.params.orgId,
    project: request.params.projectId,
  }));
}, { prefix: '/orgs' });

app.get('/fail', async () => {
  throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
});

// The SDK records the error before this runs; the answer is the app's own.
app.setErrorHandler((error, _request, reply) => {
  reply.code(500).send({ error: (error as Error).message });
});

await app.listen({ port, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
console.log(`
Example API (Fastify) listening on ${base} (records print below and go to ${collector.jsonlPath ?? 'memory'})
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

async function stop(): Promise<void> {
  await app.close();
  const result = await apitoolkit.shutdown(3_000);
  await collector.close();
  console.log(`\nstopped: ${apitoolkit.stats().published} record(s) delivered, ${result.dropped} dropped`);
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
