/**
 * The client of the Node build (Node and Bun): the runtime-neutral pipeline of client.ts with
 * Node's parts: delivery over node:https with its own pool, AsyncLocalStorage, node:http capture
 * for the framework adapters, and outgoing-call capture.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { NODE_CAPTURE } from './adapters/node-client.js';
import { decompress } from './core/capture.js';
import type { APIToolkitOptions } from './core/options.js';
import type { Platform } from './core/platform.js';
import { APIToolkit as Client } from './client.js';
import { compileOutgoingRules, installOutgoing } from './outgoing/index.js';
import { nodeHttpClient } from './transport/http-node.js';

export type { APIToolkitStats, ShutdownResult } from './client.js';

const NODE: Platform = Object.freeze({
  name: 'Node build',
  http: nodeHttpClient,
  context: <T>() => new AsyncLocalStorage<T>(),
  decompress,
  lazyStart: false,
  node: NODE_CAPTURE,
  outgoing: { compile: compileOutgoingRules, install: installOutgoing },
});

/**
 * Observes your API's traffic and reports it to APIToolkit. Create one per process and hand it
 * to a framework adapter. The constructor validates options and returns at once: client metadata
 * is fetched in the background and records captured meanwhile are kept (bounded).
 *
 * @example
 * import express from 'express';
 * import { APIToolkit } from 'apitoolkit-node';
 * import { expressMiddleware, expressErrorHandler } from 'apitoolkit-node/express';
 *
 * const apitoolkit = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY, redactRequestBody: ['$.password'] });
 * const app = express();
 * app.use(express.json());
 * app.use(expressMiddleware(apitoolkit));
 * app.post('/login', (req, res) => res.json({ ok: true }));
 * app.use(expressErrorHandler(apitoolkit));
 */
export class APIToolkit extends Client {
  constructor(options?: APIToolkitOptions) {
    super(options, NODE);
  }
}
