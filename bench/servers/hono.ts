/**
 * The Hono app of the benchmark, on @hono/node-server: `bare`, or `sdk` with
 * `honoMiddleware(client)` from `apitoolkit-node/hono` mounted first. The same route, bodies and
 * rules as every app (see common.ts).
 */
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import {
  ROUTE_PATH,
  benchClient,
  closing,
  loadAdapter,
  responseBody,
  sdkControl,
  serveHarness,
  startApp,
  usage,
  type Control,
} from './common.js';

const MODES = ['bare', 'sdk'] as const;

startApp(async (mode, env) => {
  if (!(MODES as readonly string[]).includes(mode)) throw usage('hono.ts', MODES, mode);
  const app = new Hono();
  let control: Control = {};
  if (mode === 'sdk') {
    const honoMiddleware = await loadAdapter<(client: unknown) => MiddlewareHandler>('hono', 'honoMiddleware');
    const client = await benchClient(env);
    app.use(honoMiddleware(client));
    control = sdkControl(client);
  }
  app.post(ROUTE_PATH, async (c) => {
    const body = (await c.req.json()) as { name?: unknown };
    return c.json(responseBody(c.req.param('id') ?? '', body.name));
  });
  const port = await new Promise<number>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
    server.once('error', reject);
    control = closing(control, () => server.close());
  });
  serveHarness(port, control);
});
