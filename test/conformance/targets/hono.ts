/** The standard app (spec.ts) on Hono 4, served by @hono/node-server. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { createAdaptorServer } from '@hono/node-server';
import type { APIToolkit } from '../../../src/index.js';
import { honoMiddleware } from '../../../src/adapters/hono/index.js';
import type { Target } from '../spec.js';
import { listen, pause } from './serve.js';

const version = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
export const honoVersion = version('hono');
export const honoNodeServerVersion = version('@hono/node-server');

/** A Web stream of `parts`, `gap` ms apart; it ends unless `end` is false. */
export function chunks(parts: string[], gap: number, end = true): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i === parts.length) {
        if (end) controller.close();
        else await new Promise(() => {}); // the client aborts
        return;
      }
      if (i > 0) await pause(gap);
      controller.enqueue(encoder.encode(parts[i++]));
    },
  });
}

export function honoApp(apitoolkit: APIToolkit | undefined) {
  const app = new Hono();
  if (apitoolkit) app.use('*', honoMiddleware(apitoolkit));
  app.get('/users/:id', (c) => {
    c.header('Set-Cookie', 'session=abc');
    return c.json({ id: c.req.param('id'), token: 'secret-token' });
  });
  app.post('/users/:id', async (c) => {
    const type = c.req.header('content-type') ?? '';
    let name: unknown = null;
    if (type.startsWith('application/json')) name = (await c.req.json<{ name?: unknown }>()).name ?? null;
    else if (type.startsWith('application/x-www-form-urlencoded')) await c.req.parseBody();
    else await c.req.text();
    return c.json({ id: c.req.param('id'), token: 'tok-123', name }, 201);
  });
  app.post('/upload', async (c) => {
    await c.req.arrayBuffer();
    return c.json({ ok: true });
  });
  const projects = new Hono();
  projects.get('/:projectId', (c) => c.json({ orgId: c.req.param('orgId'), projectId: c.req.param('projectId') }));
  const orgs = new Hono();
  orgs.route('/:orgId/projects', projects);
  app.route('/orgs', orgs);
  app.get('/boom', () => {
    throw new Error('outer failure', { cause: new TypeError('inner cause') });
  });
  app.get('/report', async (c) => {
    await pause(1);
    apitoolkit?.reportError(new RangeError('handled but worth knowing'));
    return c.text('accepted', 202);
  });
  app.get('/stream', (c) => c.body(chunks(['part one, ', 'part two, ', 'end'], 10), 200, { 'Content-Type': 'text/plain' }));
  app.get('/sse', (c) => streamSSE(c, async (stream) => {
    for (const n of [1, 2, 3]) {
      await stream.writeSSE({ data: String(n) });
      await stream.sleep(10);
    }
  }));
  app.get('/gzip', (c) => c.body(gzipSync(JSON.stringify({ compressed: true, token: 'secret-token' })), 200, {
    'Content-Type': 'application/json',
    'Content-Encoding': 'gzip',
  }));
  app.get('/big', (c) => c.text('x'.repeat(2_000_000)));
  app.get('/empty', (c) => c.body(null, 204));
  app.get('/slow', (c) => c.body(chunks(['first,'], 0, false), 200, { 'Content-Type': 'text/plain' }));
  // The app's own error handling (Hono's default one also logs the error to the console).
  app.onError((_error, c) => c.text('Internal Server Error', 500));
  return app;
}

export const honoTargets: Target[] = [{
  name: `hono ${honoVersion} on @hono/node-server ${honoNodeServerVersion}`,
  sdkType: 'JsHono',
  template: (pattern) => pattern,
  // overrideGlobalObjects: false keeps the process's own Request/Response for the other targets
  // of this suite; test/adapters/hono.test.ts runs with the default (overridden) globals.
  start: (apitoolkit) => listen(createAdaptorServer({ fetch: honoApp(apitoolkit).fetch, overrideGlobalObjects: false }) as import('node:http').Server),
}];
