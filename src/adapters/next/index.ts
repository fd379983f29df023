/**
 * Next.js adapter (App Router route handlers and Pages Router API routes): wrappers for handlers,
 * since Next gives a route's handler, not the app, to user code. Imports no Next code at run time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter, RouteMatch } from '../../core/capture.js';
import type { WebCaptureAdapter } from '../../core/capture-web.js';
import { kObserve, kObserveWeb, kRecordError } from '../../core/symbols.js';
import { findWaitUntil } from '../../core/wait-until.js';
import { assertClient } from '../assert-client.js';
import { nextTemplate, type NextParams } from './route.js';

export type { NextParams } from './route.js';

/** Options of `nextRouteHandler()` and `nextApiHandler()`. */
export interface NextHandlerOptions {
  /**
   * The route template in Next's file-system form, e.g. `'/api/users/[id]'` (route groups left
   * out). Default: rebuilt from the URL path and the route's params, which needs this option only
   * for an optional catch-all (read as `[...name]`, left out when empty) and for a param whose value
   * equals a static segment before it (`/users/users`).
   * @example
   * export const GET = nextRouteHandler(apitoolkit, handler, { route: '/docs/[[...slug]]' });
   */
  route?: string | undefined;
}

/**
 * What Next hands an App Router route handler besides the request (params: a plain object before Next 15).
 * @example
 * nextRouteHandler(apitoolkit, async (request, { params }: { params: Promise<{ id: string }> }) => Response.json(await params));
 */
export interface NextRouteContext {
  params: Promise<NextParams> | NextParams;
}

// Next's own answers to redirect(), notFound(), forbidden() and unauthorized() thrown in a route
// handler: control flow, not failures (next/dist/client/components/redirect-error and
// http-access-fallback). Read from the error's digest, as Next itself does.
function controlFlowStatus(error: unknown): number | undefined {
  const digest = (error as { digest?: unknown } | null)?.digest;
  if (typeof digest !== 'string') return undefined;
  const parts = digest.split(';');
  if (parts[0] === 'NEXT_REDIRECT') return Number(parts.at(-2)) || 307;
  if (parts[0] === 'NEXT_HTTP_ERROR_FALLBACK') return Number(parts[1]) || 404;
  return undefined;
}

/**
 * Wraps an App Router route handler (`app/.../route.ts`): records each request it serves, its
 * template (`/users/[id]`), params, bodies (streamed responses and server-sent events pass through
 * unchanged) and thrown errors with their cause chain, which are rethrown for Next to answer.
 * `redirect()` and `notFound()` are recorded with the status Next answers, as no error.
 *
 * @example
 * // app/users/[id]/route.ts
 * import { nextRouteHandler } from 'apitoolkit-node/next';
 * import { apitoolkit } from '@/lib/apitoolkit';
 *
 * export const GET = nextRouteHandler(apitoolkit, async (request, { params }: { params: Promise<{ id: string }> }) => {
 *   const { id } = await params;
 *   return Response.json({ id });
 * });
 */
export function nextRouteHandler<R extends Request, C extends NextRouteContext>(
  client: APIToolkit,
  handler: (request: R, context: C) => Response | Promise<Response>,
  options: NextHandlerOptions = {},
): (request: R, context: C) => Promise<Response> {
  assertClient(client, 'nextRouteHandler');
  const explicit = options.route;
  return function apitoolkitNextRoute(request, context) {
    const adapter: WebCaptureAdapter = {
      sdkType: 'JsNext',
      route: async (_request, url) => {
        let params: NextParams = {};
        try {
          params = (await context?.params) ?? {};
        } catch {
          // A rejected params promise: Next reports that itself.
        }
        return nextTemplate(url.pathname, params, explicit);
      },
      thrown: controlFlowStatus,
    };
    return client[kObserveWeb](
      request,
      adapter,
      async () => {
        const response = await handler(request, context);
        // Next answers HEAD with the GET handler and drops the body unread: drop it here, so that
        // the exchange ends now rather than wait for a body nobody will read.
        return request.method === 'HEAD' && response?.body != null ? new Response(null, response) : response;
      },
      findWaitUntil([]),
    );
  };
}

interface PagesState {
  route: string | undefined;
}

const pagesAdapter: CaptureAdapter<PagesState> = {
  sdkType: 'JsNext',
  route: (req, state) => pagesRoute(req, state.route),
  // Next's body parser has read the body before the handler runs (unless `bodyParser: false`).
  parsedBody: (req) => (req as { body?: unknown }).body,
};

/**
 * Pages Router: the params are in `req.query`, merged with the query string. A key absent from the
 * query string (or with other values there, since a path param wins) is a path param.
 */
function pagesRoute(req: IncomingMessage, explicit: string | undefined): RouteMatch {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const query = (req as { query?: Record<string, string | string[] | undefined> }).query ?? {};
  const params: NextParams = {};
  for (const [name, value] of Object.entries(query)) {
    const inUrl = url.searchParams.getAll(name);
    const same = Array.isArray(value)
      ? value.length === inUrl.length && value.every((v, i) => v === inUrl[i])
      : inUrl.length === 1 && inUrl[0] === value;
    if (!same) params[name] = value;
  }
  return nextTemplate(url.pathname, params, explicit);
}

/**
 * Wraps a Pages Router API route (`pages/api/...`): records each request it serves, with its
 * template (`/api/users/[id]`), params, bodies (the parsed body when Next's body parser read it)
 * and thrown errors with their cause chain, which are rethrown for Next to answer with a 500.
 *
 * @example
 * // pages/api/users/[id].ts
 * import type { NextApiRequest, NextApiResponse } from 'next';
 * import { nextApiHandler } from 'apitoolkit-node/next';
 * import { apitoolkit } from '@/lib/apitoolkit';
 *
 * export default nextApiHandler(apitoolkit, (req: NextApiRequest, res: NextApiResponse) => {
 *   res.status(200).json({ id: req.query.id });
 * });
 */
export function nextApiHandler<Req extends IncomingMessage, Res extends ServerResponse, T>(
  client: APIToolkit,
  handler: (req: Req, res: Res) => T,
  options: NextHandlerOptions = {},
): (req: Req, res: Res) => T {
  assertClient(client, 'nextApiHandler');
  const state: PagesState = { route: options.route };
  return function apitoolkitNextApi(req, res) {
    return client[kObserve](
      req,
      res,
      pagesAdapter,
      () => {
        let result: T;
        try {
          result = handler(req, res);
        } catch (error) {
          client[kRecordError](req, error);
          throw error;
        }
        if (typeof (result as { then?: unknown } | null)?.then === 'function') {
          return Promise.resolve(result).catch((error: unknown) => {
            client[kRecordError](req, error);
            throw error;
          }) as T;
        }
        return result;
      },
      state,
    );
  };
}
