/**
 * Fetch-API adapter: wraps any handler that takes a Web `Request` and returns a `Response`, the
 * one shape `Bun.serve`, `Deno.serve`, a Cloudflare Worker's `export default { fetch }`, Vercel
 * and Next.js edge route handlers share. There is no router to ask for a route template: the
 * `route` option supplies it. Runtime-neutral: no `node:` import.
 */
import type { APIToolkit } from '../../apitoolkit.js';
import type { RouteMatch } from '../../core/capture-core.js';
import type { WebCaptureAdapter } from '../../core/capture-web.js';
import { OptionsInvalidError } from '../../core/errors.js';
import { kObserveWeb } from '../../core/symbols.js';
import { findWaitUntil, type WaitUntil } from '../../core/wait-until.js';
import { assertClient } from '../assert-client.js';

/** What `route` returns for a request that matched a route of yours. */
export interface FetchRoute {
  /** The route template, e.g. `/users/:id`: APIToolkit groups endpoints by it. */
  template: string;
  /** Path params, e.g. `{ id: '42' }`. Default `{}`. */
  params?: Record<string, string>;
}

/** Options of `fetchHandler`. */
export interface FetchHandlerOptions {
  /**
   * The route template and path params of a request, asked once its response is done; `null` or
   * `undefined` when no route of yours matched (`url_path` is then `""`). A throwing `route` gives
   * `""` too, and never reaches your request. Without this option `url_path` is the request's
   * path (without the query string), so every distinct URL counts as an endpoint of its own.
   */
  route?: ((request: Request) => FetchRoute | null | undefined) | undefined;
  /**
   * Where delivery of each request's record goes once the response is sent, on a platform that
   * freezes or ends the isolate then. Default: found by itself, from a handler argument with a
   * `waitUntil` method (a Worker's `ctx`, an edge function's `context`) or Vercel's request
   * context; pass Next.js's `after` on a Next.js app not hosted on Vercel that needs it, or `false`
   * to never hand work over (a long-lived server: Bun, Deno, Node).
   */
  waitUntil?: WaitUntil | false | undefined;
}

/** A Fetch-API handler, sync or async, with whatever arguments the platform adds after the request. */
export type FetchRequestHandler<Rest extends unknown[]> = (request: Request, ...rest: Rest) => Response | Promise<Response>;

/** The path of a URL: the default template. */
const pathRoute = (_request: Request, url: URL): RouteMatch => ({ template: url.pathname, params: {} });

/**
 * Wraps a Fetch-API handler so that every request it serves is observed (sdk_type `JsFetch`), and
 * returns a handler of the same shape (async). Inside `handler` (and everything it awaits, where
 * the runtime has async context) `apitoolkit.reportError(err)` attaches errors to the request's
 * record. An error the handler throws is recorded with its cause chain and thrown again unchanged.
 * The response goes out as the handler made it (status, headers, body bytes, streaming); the
 * record is queued once its body has been sent, and where the platform offers `waitUntil` its
 * delivery is handed to it.
 *
 * @param options.route - route template and params of a request (default: the request path).
 * @example
 * // Bun (Deno.serve and a Worker's `export default { fetch }` take the same handler)
 * import { APIToolkit } from 'apitoolkit-node';
 * import { fetchHandler } from 'apitoolkit-node/fetch';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * const USER = new URLPattern({ pathname: '/users/:id' });
 * const route = (request: Request) => {
 *   const match = USER.exec(request.url);
 *   return match ? { template: '/users/:id', params: { id: match.pathname.groups.id! } } : null;
 * };
 * Bun.serve({
 *   fetch: fetchHandler(apitoolkit, (request) => {
 *     const match = USER.exec(request.url);
 *     return match ? Response.json({ id: match.pathname.groups.id }) : new Response('not found', { status: 404 });
 *   }, { route }),
 * });
 */
export function fetchHandler<Rest extends unknown[]>(
  client: APIToolkit,
  handler: FetchRequestHandler<Rest>,
  options: FetchHandlerOptions = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  assertClient(client, 'fetchHandler');
  if (typeof handler !== 'function')
    throw new OptionsInvalidError('fetchHandler(client, handler)', `expected a function (request) => Response, got ${typeof handler}`);
  const { route, waitUntil } = options;
  if (route !== undefined && typeof route !== 'function') {
    throw new OptionsInvalidError(
      'fetchHandler route',
      `expected a function (request) => ({ template, params }) | null, got ${typeof route}`,
    );
  }
  if (waitUntil !== undefined && waitUntil !== false && typeof waitUntil !== 'function') {
    throw new OptionsInvalidError('fetchHandler waitUntil', `expected a function (promise) => void or false, got ${typeof waitUntil}`);
  }
  const adapter: WebCaptureAdapter = {
    sdkType: 'JsFetch',
    route:
      route === undefined
        ? pathRoute
        : (request) => {
            const match = route(request);
            if (match === null || match === undefined) return { template: '', params: {} };
            return { template: String(match.template), params: { ...match.params } };
          },
  };
  return function apitoolkitFetch(this: unknown, request: Request, ...rest: Rest): Promise<Response> {
    const keepAlive = waitUntil === false ? undefined : (waitUntil ?? findWaitUntil(rest));
    return client[kObserveWeb](request, adapter, () => handler.call(this, request, ...rest), keepAlive);
  };
}
