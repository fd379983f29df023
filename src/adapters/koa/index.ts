/**
 * Koa adapter (Koa 2 and 3, routes from `@koa/router`): one middleware that observes each request
 * and records the errors that pass through it or that Koa reports on `app.on('error')`.
 * Imports no Koa code at run time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter, RouteMatch } from '../../core/capture.js';
import { kObserve, kRecordError } from '../../core/symbols.js';
import { assertNodeClient } from '../node-client.js';
import { stringParams } from '../params.js';

/** The parts of a `@koa/router` Layer we read. */
interface RouterLayer {
  path: string | RegExp;
  methods: string[];
  captures?(path: string): string[];
  params?(path: string, captures: string[], existing?: Record<string, unknown>): Record<string, unknown>;
}

/**
 * The parts of a Koa context the adapter reads. Structural, so that neither Koa nor its types are
 * needed to use the adapter; every Koa 2/3 context (with or without `@koa/router`) fits it.
 */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  app: { on(event: 'error', listener: (error: unknown, ctx?: KoaContextLike) => void): unknown };
  request: { body?: unknown; rawBody?: unknown };
  params?: Record<string, unknown>;
  /** Set by `@koa/router`. */
  _matchedRoute?: string | RegExp;
  matched?: RouterLayer[];
}

/**
 * The middleware `koaMiddleware` returns; `app.use()` accepts it in Koa 2 and 3.
 * @example
 * const observe: KoaMiddleware = koaMiddleware(apitoolkit);
 * app.use(observe);
 */
export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void>;

const NOT_MATCHED = (): RouteMatch => ({ template: '', params: {} });

/**
 * `@koa/router` leaves the running layer's path in `ctx._matchedRoute` (full, nested prefixes
 * included). When a router middleware threw before the route ran, that is the middleware's path:
 * then the route is the one the router picked for this method, as `@koa/router` itself does.
 */
function koaRoute(ctx: KoaContextLike): RouteMatch {
  const current = ctx._matchedRoute;
  if (current === undefined || current === null) return NOT_MATCHED();
  const routes = (ctx.matched ?? []).filter((layer) => layer.methods.includes(ctx.method));
  if (routes.length === 0 || routes.some((layer) => layer.path === current || String(layer.path) === String(current))) {
    return { template: String(current), params: stringParams(ctx.params) };
  }
  const layer = routes.at(-1)!;
  let params: Record<string, unknown> | undefined = ctx.params;
  try {
    params = layer.params?.(ctx.path, layer.captures?.(ctx.path) ?? [], {}) ?? params;
  } catch {
    // A malformed %-escape: keep what the router set.
  }
  return { template: String(layer.path), params: stringParams(params) };
}

const adapter: CaptureAdapter<KoaContextLike> = {
  sdkType: 'JsKoa',
  route: (_req, ctx) => koaRoute(ctx),
  // Mounted after a body parser, the raw bytes are gone: @koa/bodyparser keeps them as rawBody.
  parsedBody: (_req, ctx) => (typeof ctx.request.rawBody === 'string' ? ctx.request.rawBody : ctx.request.body),
};

/**
 * Observes every request: mount it first, before your routers and body parsers (mounted after a
 * parser it records what the parser kept). Errors thrown downstream are recorded with their cause
 * chain and rethrown unchanged, so Koa (or your error middleware) still answers them. Errors Koa
 * reports through `app.on('error')` (a failing `ctx.body` stream, an error middleware that emits
 * them) are recorded too.
 *
 * @example
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { koaMiddleware } from 'apitoolkit-node/koa';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * const app = new Koa();
 * app.use(koaMiddleware(apitoolkit));
 * const router = new Router();
 * router.get('/users/:id', (ctx) => { ctx.body = { id: ctx.params.id } });
 * app.use(router.routes()).use(router.allowedMethods());
 */
export function koaMiddleware(client: APIToolkit): KoaMiddleware {
  assertNodeClient(client, 'koaMiddleware');
  // Errors already recorded for a request, so one that is also emitted on 'error' counts once.
  const recorded = new WeakMap<IncomingMessage, unknown[]>();
  const record = (req: IncomingMessage, error: unknown): void => {
    const seen = recorded.get(req);
    if (seen === undefined) recorded.set(req, [error]);
    else if (seen.includes(error) || isWrappedCopy(error, seen)) return;
    else seen.push(error);
    client[kRecordError](req, error);
  };
  const watched = new WeakSet<object>();
  const onAppError = (error: unknown, ctx?: KoaContextLike): void => {
    if (ctx?.req !== undefined) record(ctx.req, error);
  };

  return function apitoolkitKoa(ctx, next) {
    const app = ctx.app;
    if (app !== undefined && app !== null && !watched.has(app)) {
      // Added on the first request, after app.callback() installed Koa's default error logger,
      // so that logger stays (Koa installs it only when no 'error' listener exists).
      watched.add(app);
      app.on('error', onAppError);
    }
    return client[kObserve](
      ctx.req,
      ctx.res,
      adapter,
      async () => {
        try {
          await next();
        } catch (error) {
          record(ctx.req, error);
          throw error;
        }
      },
      ctx,
    );
  };
}

/** Koa's ctx.onerror turns a thrown non-Error into `new Error('non-error thrown: …')`. */
function isWrappedCopy(error: unknown, seen: unknown[]): boolean {
  return error instanceof Error && error.message.startsWith('non-error thrown: ') && seen.some((e) => !(e instanceof Error));
}
