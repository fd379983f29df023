/**
 * The Next.js entry of the benchmark: an App Router route handler (`POST(request, { params })`,
 * Web Request in, Web Response out) served through @hono/node-server's node:http-to-fetch bridge,
 * not `next start` (which needs a build). `bare`, or `sdk` with the handler wrapped by
 * `nextRouteHandler(client, handler)` from `apitoolkit-node/next`. So this measures the adapter's
 * cost on a Web handler, not Next's own server. Same bodies and rules as every app (see common.ts).
 */
import { getRequestListener } from '@hono/node-server';
import { createServer } from 'node:http';
import { benchClient, closing, loadAdapter, responseBody, sdkControl, serveHarness, startApp, usage, type Control } from './common.js';

const MODES = ['bare', 'sdk'] as const;
const USER = /^\/users\/([^/?]+)/;

type RouteContext = { params: Promise<Record<string, string>> };
type RouteHandler = (request: Request, context: RouteContext) => Promise<Response>;

/** app/users/[id]/route.ts */
async function POST(request: Request, context: RouteContext): Promise<Response> {
  const { id } = await context.params;
  const body = (await request.json()) as { name?: unknown };
  return Response.json(responseBody(id ?? '', body.name));
}

startApp(async (mode, env) => {
  if (!(MODES as readonly string[]).includes(mode)) throw usage('next.ts', MODES, mode);
  let route: RouteHandler = POST;
  let control: Control = {};
  if (mode === 'sdk') {
    const nextRouteHandler = await loadAdapter<(client: unknown, handler: RouteHandler) => RouteHandler>('next', 'nextRouteHandler');
    const client = await benchClient(env);
    route = nextRouteHandler(client, POST);
    control = sdkControl(client);
  }
  // What Next's router does before it calls the handler: match the file-system route.
  const listener = getRequestListener((request: Request) => {
    const match = USER.exec(new URL(request.url).pathname);
    if (request.method !== 'POST' || match === null) return new Response(null, { status: 404 });
    return route(request, { params: Promise.resolve({ id: decodeURIComponent(match[1]!) }) });
  });
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  serveHarness(
    (server.address() as { port: number }).port,
    closing(control, () => server.close()),
  );
});
