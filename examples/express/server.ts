/**
 * The quick-start example: an Express API instrumented by apitoolkit-node, sending to the
 * embedded local collector, which prints every record it receives. No account, no network.
 *
 *   npm start            # then, in another terminal, run the curl commands it prints
 */
import express from 'express';
import { APIToolkit } from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
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

// 3. An ordinary Express app.
const app = express();
app.use(express.json());
app.use(expressMiddleware(apitoolkit));

app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, name: 'Ada Lovelace' });
});

app.post('/login', (req, res) => {
  res.json({ user: req.body?.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' });
});

app.post('/payments', (req, res) => {
  res.status(201).json({ amount: req.body?.amount ?? 0, status: 'accepted' });
});

const orgs = express.Router();
orgs.get('/:orgId/projects/:projectId', (req, res) => {
  res.json({ org: req.params.orgId, project: req.params.projectId });
});
app.use('/orgs', orgs);

app.get('/fail', () => {
  throw new Error('payment provider unavailable', { cause: new Error('connect ECONNREFUSED') });
});

app.use(expressErrorHandler(apitoolkit));
app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  res.status(500).json({ error: err.message });
});

const server = app.listen(port, '127.0.0.1', () => {
  printBanner(collector, server.address());
});

stopOnSignals({ collector, client: apitoolkit, close: () => server.close() });
