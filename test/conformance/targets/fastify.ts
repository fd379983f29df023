/** The standard app (spec.ts) on Fastify 4 and 5. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import type { APIToolkit } from '../../../src/index.js';
import { fastifyPlugin } from '../../../src/adapters/fastify/index.js';
import type { Target } from '../spec.js';
import { pause } from './serve.js';

const require = createRequire(import.meta.url);
const version = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

type FastifyFactory = (options?: Record<string, unknown>) => FastifyInstance;

/** The Fastify majors we support: 4 from its npm alias `fastify4`, 5 as `fastify` itself. */
export const fastifyVersions = [
  { name: 'fastify 4', version: version('fastify4'), Fastify: require('fastify4') as FastifyFactory },
  { name: 'fastify 5', version: version('fastify'), Fastify: require('fastify') as FastifyFactory },
];

/** A streamed reply: the chunks are written `gap` ms apart, then it ends (unless `end` is false). */
export function chunked(parts: string[], gap: number, end = true): PassThrough {
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

async function app(Fastify: FastifyFactory, apitoolkit: APIToolkit | undefined): Promise<FastifyInstance> {
  const app = Fastify();
  if (apitoolkit) await app.register(fastifyPlugin, { client: apitoolkit });
  // Fastify parses JSON and text itself; everything else (binary, forms, multipart) as bytes.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.get<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    reply.header('Set-Cookie', 'session=abc');
    return { id: request.params.id, token: 'secret-token' };
  });
  app.post<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const body = request.body as { name?: unknown } | null;
    const json = request.headers['content-type']?.startsWith('application/json') === true;
    reply.code(201);
    return { id: request.params.id, token: 'tok-123', name: json ? (body?.name ?? null) : null };
  });
  app.post('/upload', async () => ({ ok: true }));
  await app.register(
    async (orgs) => {
      orgs.get<{ Params: { orgId: string; projectId: string } }>('/:orgId/projects/:projectId', async (request) => ({
        orgId: request.params.orgId,
        projectId: request.params.projectId,
      }));
    },
    { prefix: '/orgs' },
  );
  app.get('/boom', async () => {
    throw new Error('outer failure', { cause: new TypeError('inner cause') });
  });
  app.get('/report', async (_request, reply) => {
    await pause(1);
    apitoolkit?.reportError(new RangeError('handled but worth knowing'));
    return reply.code(202).type('text/plain').send('accepted');
  });
  app.get('/stream', (_request, reply) => {
    reply.type('text/plain').send(chunked(['part one, ', 'part two, ', 'end'], 10));
  });
  app.get('/sse', (_request, reply) => {
    reply.header('content-type', 'text/event-stream').header('cache-control', 'no-cache');
    reply.send(chunked(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'], 10));
  });
  app.get('/gzip', (_request, reply) => {
    reply.header('content-type', 'application/json').header('content-encoding', 'gzip');
    reply.send(gzipSync(JSON.stringify({ compressed: true, token: 'secret-token' })));
  });
  app.get('/big', (_request, reply) => {
    reply.type('text/plain').send('x'.repeat(2_000_000));
  });
  app.get('/empty', (_request, reply) => {
    reply.code(204).send();
  });
  app.get('/slow', (_request, reply) => {
    reply.type('text/plain').send(chunked(['first,'], 0, false));
  });
  return app;
}

/** Listens on 127.0.0.1 (any free port); close() also drops kept-alive and hanging connections. */
export async function listenFastify(app: FastifyInstance): Promise<{ url: string; close(): Promise<void> }> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

export const fastifyTargets: Target[] = fastifyVersions.map(({ version, Fastify }) => ({
  name: `fastify ${version}`,
  sdkType: 'JsFastify',
  template: (pattern) => pattern,
  start: async (apitoolkit) => listenFastify(await app(Fastify, apitoolkit)),
}));
