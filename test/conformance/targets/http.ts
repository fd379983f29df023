/**
 * The standard app (spec.ts) on plain node:http: a tiny hand-written router (with prefixes for the
 * nested route), whose `match()` also answers the adapter's `route` option. The app's own error
 * handling sits outside the instrumented listener and answers 500.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { APIToolkit } from '../../../src/index.js';
import { httpHandler, type HttpRoute } from '../../../src/adapters/http/index.js';
import type { Target } from '../spec.js';
import { listen, pause } from './serve.js';

type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => void | Promise<void>;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** `/users/:id`-style routes; HEAD is served by the GET route (node drops the body). */
export class TinyRouter {
  readonly #routes: Route[] = [];

  /** Routes mounted under `prefix`: e.g. `mount('/orgs').get('/:orgId', ...)` serves `/orgs/:orgId`. */
  mount(prefix: string): Pick<TinyRouter, 'get' | 'post'> {
    return {
      get: (template, handler) => this.get(prefix + template, handler),
      post: (template, handler) => this.post(prefix + template, handler),
    };
  }

  add(method: string, template: string, handler: Handler): void {
    const keys: string[] = [];
    const source = template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    this.#routes.push({ method, template, pattern: new RegExp(`^${source}/?$`), keys, handler });
  }

  get(template: string, handler: Handler): void {
    this.add('GET', template, handler);
  }

  post(template: string, handler: Handler): void {
    this.add('POST', template, handler);
  }

  /** The route serving `req` and its params, or null. */
  match(req: IncomingMessage): (HttpRoute & { handler: Handler }) | null {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m === null) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(m[i + 1]!)));
      return { template: route.template, params, handler: route.handler };
    }
    return null;
  }

  /** The request listener: 404 when nothing matched. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void | Promise<void> => {
    const route = this.match(req);
    if (route === null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    return route.handler(req, res, route.params ?? {});
  };
}

/** The app's own error handling: whatever the listener throws or rejects with answers 500. */
export function answering500(listener: (req: IncomingMessage, res: ServerResponse) => unknown): RequestListener {
  return async (req, res) => {
    try {
      await listener(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (error as Error).message }));
    }
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function app(apitoolkit: APIToolkit | undefined): RequestListener {
  const router = new TinyRouter();
  router.get('/users/:id', (_req, res, params) =>
    json(res, 200, { id: params.id, token: 'secret-token' }, { 'set-cookie': 'session=abc' }),
  );
  router.post('/users/:id', async (req, res, params) => {
    const raw = await readBody(req);
    let name: unknown = null;
    if (req.headers['content-type']?.startsWith('application/json')) name = (JSON.parse(raw.toString()) as { name?: unknown }).name ?? null;
    json(res, 201, { id: params.id, token: 'tok-123', name });
  });
  router.post('/upload', async (req, res) => {
    await readBody(req);
    json(res, 200, { ok: true });
  });
  const orgs = router.mount('/orgs');
  orgs.get('/:orgId/projects/:projectId', (_req, res, params) => json(res, 200, { orgId: params.orgId, projectId: params.projectId }));
  router.get('/boom', () => {
    throw new Error('outer failure', { cause: new TypeError('inner cause') });
  });
  router.get('/report', async (_req, res) => {
    await pause(1);
    apitoolkit?.reportError(new RangeError('handled but worth knowing'));
    res.writeHead(202, { 'content-type': 'text/plain' }).end('accepted');
  });
  router.get('/stream', async (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.write('part one, ');
    await pause(10);
    res.write('part two, ');
    await pause(10);
    res.end('end');
  });
  router.get('/sse', async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const n of [1, 2, 3]) {
      res.write(`data: ${n}\n\n`);
      await pause(10);
    }
    res.end();
  });
  router.get('/gzip', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify({ compressed: true, token: 'secret-token' })));
  });
  router.get('/big', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(2_000_000));
  });
  router.get('/empty', (_req, res) => {
    res.writeHead(204).end();
  });
  router.get('/slow', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first,');
  });
  if (!apitoolkit) return answering500(router.listener);
  return answering500(httpHandler(apitoolkit, router.listener, { route: (req) => router.match(req) }));
}

export const httpTargets: Target[] = [
  {
    name: `node:http ${process.versions.node}`,
    sdkType: 'JsNode',
    template: (pattern) => pattern,
    start: (apitoolkit) => listen(app(apitoolkit)),
  },
];
