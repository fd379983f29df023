/**
 * The quick-start example on plain node:http: the same API as examples/express, instrumented by
 * apitoolkit-node, sending to the embedded local collector, which prints every record it receives.
 * A few lines of routing stand in for a framework; the same table gives the SDK its route templates.
 *
 *   npm start -- http     # then, in another terminal, run the curl commands it prints
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { APIToolkit } from '../../src/index.js';
import { httpHandler } from '../../src/adapters/http/index.js';
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

// 3. An ordinary node:http server with a small route table.
type Body = { username?: string; amount?: number };
type Handler = (params: Record<string, string>, body: Body, res: ServerResponse) => void;
const routes: [method: string, template: string, handler: Handler][] = [
  ['GET', '/users/:id', (p, _b, res) => send(res, 200, { id: p.id, name: 'Ada Lovelace' })],
  ['POST', '/login', (_p, b, res) => send(res, 200, { user: b.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' })],
  ['POST', '/payments', (_p, b, res) => send(res, 201, { amount: b.amount ?? 0, status: 'accepted' })],
  ['GET', '/orgs/:orgId/projects/:projectId', (p, _b, res) => send(res, 200, { org: p.orgId, project: p.projectId })],
  [
    'GET',
    '/fail',
    () => {
      throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
    },
  ],
];
const compiled = routes.map(([method, template, handler]) => ({
  method,
  template,
  handler,
  keys: [...template.matchAll(/:(\w+)/g)].map((m) => m[1]!),
  pattern: new RegExp(`^${template.replace(/:\w+/g, '([^/]+)')}$`),
}));

/** The route serving a request: also what the SDK records as url_path. */
function match(req: IncomingMessage) {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  for (const route of compiled) {
    const m = route.pattern.exec(path);
    if (m === null || route.method !== (req.method === 'HEAD' ? 'GET' : req.method)) continue;
    const params = Object.fromEntries(route.keys.map((key, i) => [key, decodeURIComponent(m[i + 1]!)]));
    return { template: route.template, params, handler: route.handler };
  }
  return null;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

async function app(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = match(req);
  if (route === null) return send(res, 404, { error: 'not found' });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = (
    req.headers['content-type']?.startsWith('application/json') ? JSON.parse(Buffer.concat(chunks).toString() || '{}') : {}
  ) as Body;
  route.handler(route.params, body, res);
}

// The SDK wraps the app's listener; it records what the listener throws and passes it on, so the
// app's own error handling (here: answer 500) stays outside, as it would be without the SDK.
const observed = httpHandler(apitoolkit, app, { route: match });
const server = createServer((req, res) => {
  Promise.resolve(observed(req, res)).catch((error: unknown) => {
    if (!res.headersSent) send(res, 500, { error: (error as Error).message });
  });
});

server.listen(port, '127.0.0.1', () => {
  printBanner(collector, server.address(), { framework: 'node:http' });
});

stopOnSignals({ collector, client: apitoolkit, close: () => server.close() });
