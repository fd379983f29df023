/** The standard app (spec.ts) on Express 4 and 5. */
import { gzipSync } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import type { APIToolkit } from '../../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../../src/adapters/express/index.js';
import { expressVersions } from '../../helpers/express.js';
import type { Target } from '../spec.js';
import { listen, pause } from './serve.js';

type Express = (typeof expressVersions)[number]['express'];

function app(express: Express, apitoolkit: APIToolkit | undefined) {
  const app = express();
  if (apitoolkit) app.use(expressMiddleware(apitoolkit));
  app.use(express.json(), express.urlencoded({ extended: false }), express.text(), express.raw({ type: () => true }));
  app.get('/users/:id', (req, res) => {
    res.setHeader('Set-Cookie', 'session=abc');
    res.json({ id: req.params.id, token: 'secret-token' });
  });
  app.post('/users/:id', (req, res) => {
    const name = req.is('application/json') ? ((req.body as { name?: unknown }).name ?? null) : null;
    res.status(201).json({ id: req.params.id, token: 'tok-123', name });
  });
  app.post('/upload', (_req, res) => res.json({ ok: true }));
  const orgs = express.Router();
  const projects = express.Router({ mergeParams: true });
  projects.get('/:projectId', (req, res) =>
    res.json({ orgId: (req.params as Record<string, string>).orgId, projectId: req.params.projectId }),
  );
  orgs.use('/:orgId/projects', projects);
  app.use('/orgs', orgs);
  app.get('/boom', () => {
    throw new Error('outer failure', { cause: new TypeError('inner cause') });
  });
  app.get('/report', async (_req, res) => {
    await pause(1);
    apitoolkit?.reportError(new RangeError('handled but worth knowing'));
    res.status(202).send('accepted');
  });
  app.get('/stream', async (_req, res) => {
    res.type('text/plain');
    res.write('part one, ');
    await pause(10);
    res.write('part two, ');
    await pause(10);
    res.end('end');
  });
  app.get('/sse', async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const n of [1, 2, 3]) {
      res.write(`data: ${n}\n\n`);
      await pause(10);
    }
    res.end();
  });
  app.get('/gzip', (_req, res) => {
    res.set({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify({ compressed: true, token: 'secret-token' })));
  });
  app.get('/big', (_req, res) => res.type('text/plain').send('x'.repeat(2_000_000)));
  app.get('/empty', (_req, res) => res.status(204).end());
  app.get('/slow', (_req, res) => {
    res.type('text/plain');
    res.write('first,');
  });
  if (apitoolkit) app.use(expressErrorHandler(apitoolkit));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: err.message });
  });
  return app;
}

export const expressTargets: Target[] = expressVersions.map(({ version, express }) => ({
  name: `express ${version}`,
  sdkType: 'JsExpress',
  template: (pattern) => pattern,
  start: (apitoolkit) => listen(app(express, apitoolkit)),
}));
