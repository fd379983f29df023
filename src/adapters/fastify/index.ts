/**
 * Fastify adapter (Fastify 4 and 5): one plugin, wrapped with `fastify-plugin` so that its hooks
 * apply to the whole app rather than to an encapsulated child. `onRequest` observes the node:http
 * pair under each request; `onError` records what Fastify hands its error handler. Imports no
 * Fastify code at run time (`fastify-plugin` only marks the function).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import type { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter, RouteMatch } from '../../core/capture.js';
import { kObserve, kRecordError } from '../../core/symbols.js';
import { assertNodeClient } from '../node-client.js';
import { stringParams } from '../params.js';

/** Options of `fastifyPlugin`. */
export interface FastifyPluginOptions {
  /** The `APIToolkit` instance that receives the records. */
  client: APIToolkit;
}

/** The parts of a Fastify 4/5 request the adapter reads. */
interface RequestLike {
  raw: IncomingMessage;
  params?: unknown;
  body?: unknown;
  is404?: boolean;
  /** Fastify >= 4.10 and 5; `url` holds every `register({ prefix })` above the route. */
  routeOptions?: { url?: string };
  /** Fastify < 4.10 (deprecated later: read only when `routeOptions` is missing). */
  routerPath?: string;
}

function fastifyRoute(request: RequestLike): RouteMatch {
  const options = request.routeOptions;
  const url = options !== undefined ? options.url : request.routerPath;
  if (typeof url !== 'string' || request.is404 === true) return { template: '', params: {} };
  return { template: url, params: stringParams(request.params) };
}

const adapter: CaptureAdapter<RequestLike> = {
  sdkType: 'JsFastify',
  route: (_req, request) => fastifyRoute(request),
  parsedBody: (_req, request) => request.body,
  // Fastify answers errors without their stack, so the push wrapper's frame never shows.
  requestTee: 'push',
};

const apitoolkitFastify: FastifyPluginCallback<FastifyPluginOptions> = function apitoolkitFastify(instance, options, done) {
  const client = options?.client;
  try {
    assertNodeClient(client, 'fastifyPlugin');
  } catch (error) {
    // Thrown here it would escape avvio as an uncaught exception; through done() it rejects
    // register()/ready() with our coded error.
    done(error as Error);
    return;
  }
  // The first onRequest hook: the request stream is still unread and nothing has been written.
  // Fastify runs the rest of the request (body parsing included) from `done`, so it stays in the
  // request's async context and apitoolkit.reportError() works in handlers.
  instance.addHook('onRequest', function apitoolkitOnRequest(request, reply, next) {
    client[kObserve](request.raw, reply.raw, adapter, next, request as unknown as RequestLike);
  });
  // Fastify runs onError hooks for every error sent, before the app's own error handler.
  instance.addHook('onError', function apitoolkitOnError(request, _reply, error, next) {
    client[kRecordError](request.raw, error);
    next();
  });
  done();
};

/**
 * Observes every request of the Fastify app it is registered on and records the errors Fastify
 * handles (thrown by handlers and hooks, or sent with `reply.send(err)`), with their cause chain,
 * without changing the response. Register it on the root instance, before your routes' plugins.
 * `url_path` is the route as Fastify knows it, every `register({ prefix })` included.
 *
 * @example
 * import Fastify from 'fastify';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { fastifyPlugin } from 'apitoolkit-node/fastify';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY });
 * const app = Fastify();
 * await app.register(fastifyPlugin, { client: apitoolkit });
 * app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
 * await app.listen({ port: 3000 });
 */
export const fastifyPlugin: FastifyPluginCallback<FastifyPluginOptions> = fp(apitoolkitFastify, {
  fastify: '4.x || 5.x',
  name: 'apitoolkit-node',
});

/**
 * The plugin as Fastify plugins are usually imported (`import apitoolkit from 'apitoolkit-node/fastify'`),
 * which also keeps clear of `fastify-plugin`'s own `fastifyPlugin` name.
 */
export default fastifyPlugin;
