/**
 * Plain node:http adapter: wraps a request listener (`http.createServer(listener)`, or the
 * listener of any server built on node:http) so that every request it serves is observed.
 * There is no router to ask for a route template: the `route` option supplies it.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter, RouteMatch } from '../../core/capture.js';
import { OptionsInvalidError } from '../../core/errors.js';
import { kObserve, kRecordError } from '../../core/symbols.js';
import { assertNodeClient } from '../node-client.js';

/** What `route` returns for a request that matched a route of yours. */
export interface HttpRoute {
  /** The route template, e.g. `/users/:id`: APIToolkit groups endpoints by it. */
  template: string;
  /** Path params, e.g. `{ id: '42' }`. Default `{}`. */
  params?: Record<string, string>;
}

/** Options of `httpHandler`. */
export interface HttpHandlerOptions {
  /**
   * The route template and path params of a request, asked once its response is done; `null` or
   * `undefined` when no route of yours matched (`url_path` is then `""`). A throwing `route` gives
   * `""` too, and never reaches your request. Without this option `url_path` is the request's
   * path (without the query string), so every distinct URL counts as an endpoint of its own.
   */
  route?: (req: IncomingMessage) => HttpRoute | null | undefined;
}

/** A request listener, sync or async. */
export type HttpRequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The path part of `req.url`, which may be absolute-form (`http://host/p?q`). */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (path[0] === '/' || path === '*') return path;
  try {
    return new URL(path).pathname;
  } catch {
    return path;
  }
}

function makeAdapter(route: HttpHandlerOptions['route']): CaptureAdapter<string | undefined> {
  return {
    sdkType: 'JsNode',
    route: (req, url): RouteMatch => {
      if (route === undefined) return { template: pathOf(url), params: {} };
      const match = route(req);
      if (match === null || match === undefined) return { template: '', params: {} };
      return { template: String(match.template), params: { ...match.params } };
    },
  };
}

/**
 * Wraps a node:http request listener so that every request it serves is observed, and returns
 * the listener to hand to `http.createServer()`. Inside `handler` (and everything it awaits)
 * `apitoolkit.reportError(err)` attaches errors to the request's record. An error the handler
 * throws, or a promise it returns that rejects, is recorded with its cause chain and then thrown
 * or rejected again unchanged: the SDK never turns a crash into a handled error, nor the reverse.
 *
 * @param options.route - route template and params of a request (default: the request path).
 * @example
 * import { createServer } from 'node:http';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { httpHandler } from 'apitoolkit-node/http';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * const USER = /^\/users\/([^/]+)$/;
 * const route = (req) => {
 *   const m = USER.exec(new URL(req.url, 'http://x').pathname);
 *   return m ? { template: '/users/:id', params: { id: m[1] } } : null;
 * };
 * const server = createServer(httpHandler(apitoolkit, (req, res) => {
 *   const m = USER.exec(new URL(req.url, 'http://x').pathname);
 *   if (!m) return void res.writeHead(404).end();
 *   res.setHeader('content-type', 'application/json');
 *   res.end(JSON.stringify({ id: m[1] }));
 * }, { route }));
 * server.listen(3000);
 */
export function httpHandler(client: APIToolkit, handler: HttpRequestHandler, options: HttpHandlerOptions = {}): RequestListener {
  assertNodeClient(client, 'httpHandler');
  if (typeof handler !== 'function')
    throw new OptionsInvalidError('httpHandler(client, handler)', `expected a request listener function, got ${typeof handler}`);
  if (options.route !== undefined && typeof options.route !== 'function') {
    throw new OptionsInvalidError(
      'httpHandler route',
      `expected a function (req) => ({ template, params }) | null, got ${typeof options.route}`,
    );
  }
  const adapter = makeAdapter(options.route);
  return function apitoolkitHttp(this: unknown, req: IncomingMessage, res: ServerResponse): unknown {
    return client[kObserve](
      req,
      res,
      adapter,
      () => {
        let result: unknown;
        try {
          result = handler.call(this, req, res);
        } catch (error) {
          client[kRecordError](req, error);
          throw error;
        }
        if (result instanceof Promise) {
          // The same rejection goes on, to the caller or to 'unhandledRejection' as without the SDK.
          return result.catch((error: unknown) => {
            client[kRecordError](req, error);
            throw error;
          });
        }
        return result;
      },
      req.url,
    );
  };
}
