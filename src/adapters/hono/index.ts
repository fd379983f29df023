/**
 * Hono adapter (Hono 4): one middleware, for every runtime Hono runs on. On `@hono/node-server` it
 * observes the node:http request/response pair underneath (`c.env.incoming`/`c.env.outgoing`), so
 * whatever the server writes is what is recorded; elsewhere (Bun, Deno, Cloudflare Workers, the
 * edge, AWS Lambda, `app.request()`) it observes the Web `Request`/`Response`, and hands delivery
 * to the platform's `waitUntil` (`c.executionCtx`) where there is one. Imports no Hono code and no
 * `node:` module at run time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter, RouteMatch } from '../../core/capture.js';
import type { WebCaptureAdapter } from '../../core/capture-web.js';
import { kObserve, kObserveWeb, kRecordError } from '../../core/symbols.js';
import { findWaitUntil } from '../../core/wait-until.js';
import { assertClient } from '../assert-client.js';

type Route = Context['req']['matchedRoutes'][number];

// hono/dev's own test (utils/handler.ts), for the handlers app.route() wraps.
const target = (handler: Route['handler']): Route['handler'] => {
  const inner = (handler as { __COMPOSED_HANDLER?: Route['handler'] }).__COMPOSED_HANDLER;
  return inner === undefined ? handler : target(inner);
};
/** `app.use()` middleware: registered for every method, and it takes `next`. */
const isMiddleware = (route: Route): boolean => route.method === 'ALL' && target(route.handler).length > 1;

/**
 * The route that served the request: the handler Hono ran last (`c.req.routeIndex`), or, when that
 * was a middleware that answered or threw first, the route it stood in front of. `route.path`
 * already holds `basePath()` and `app.route()` prefixes.
 */
function honoRoute(c: Context): RouteMatch {
  const routes = c.req.matchedRoutes;
  const ran = c.req.routeIndex;
  let index = ran;
  while (index < routes.length && isMiddleware(routes[index]!)) index += 1;
  const route = routes[index];
  if (route === undefined) return { template: '', params: {} };
  let params: Record<string, string>;
  try {
    // param() reads the params of the route at routeIndex.
    c.req.routeIndex = index;
    params = { ...c.req.param() };
  } catch {
    params = {};
  } finally {
    c.req.routeIndex = ran;
  }
  return { template: route.path, params };
}

const nodeAdapter: CaptureAdapter<Context> = {
  sdkType: 'JsHono',
  route: (_req, c) => honoRoute(c),
};

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

function nodePair(c: Context): NodeBindings | undefined {
  const env = c.env as NodeBindings | undefined;
  return typeof env?.incoming?.on === 'function' && typeof env.outgoing?.setHeader === 'function' ? env : undefined;
}

/** Hono's `c.executionCtx` (a Worker's `ctx`), whose getter throws where there is none. */
function executionContext(c: Context): unknown {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/**
 * Observes every request: mount it first, `app.use('*', honoMiddleware(apitoolkit))`. Hono answers
 * handler errors itself (`app.onError`); the middleware records them, with their cause chain, from
 * `c.error` and changes nothing in the response. On `@hono/node-server` bodies are captured as the
 * server writes them (streams and `streamSSE` included); on other runtimes and with `app.request()`
 * the Web `Request`/`Response` are observed instead.
 *
 * @example
 * import { Hono } from 'hono';
 * import { serve } from '@hono/node-server';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { honoMiddleware } from 'apitoolkit-node/hono';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * const app = new Hono();
 * app.use('*', honoMiddleware(apitoolkit));
 * app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
 * serve({ fetch: app.fetch, port: 3000 });
 */
export function honoMiddleware(client: APIToolkit): MiddlewareHandler {
  assertClient(client, 'honoMiddleware');
  return function apitoolkitHono(c, next) {
    const node = nodePair(c);
    if (node !== undefined) {
      const req = node.incoming!;
      return client[kObserve](
        req,
        node.outgoing!,
        nodeAdapter,
        async () => {
          try {
            await next();
          } catch (error) {
            // Only values that are not Errors get past Hono's own error handling.
            client[kRecordError](req, error);
            throw error;
          }
          if (c.error !== undefined) client[kRecordError](req, c.error);
        },
        c,
      );
    }
    const webAdapter: WebCaptureAdapter = { sdkType: 'JsHono', route: () => honoRoute(c) };
    return client[kObserveWeb](
      c.req.raw,
      webAdapter,
      async (recordError) => {
        await next();
        if (c.error !== undefined) recordError(c.error);
        // Hono answers HEAD with the GET response's headers and drops its body unread.
        return c.req.method === 'HEAD' ? new Response(null, c.res) : c.res;
      },
      findWaitUntil([executionContext(c)]),
    ).then((response) => {
      // Hono's setter rebuilds the response around its body stream: only a new one goes through it
      // (Bun, Deno and workerd get Hono's own back, framed as Hono made it).
      if (response !== c.res) c.res = response;
    });
  };
}
