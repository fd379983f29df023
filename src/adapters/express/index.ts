/**
 * Express adapter (Express 4 and 5): a middleware that observes each request and an error
 * handler that attaches errors to the request's record. Imports no Express code at run time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIToolkit } from '../../apitoolkit.js';
import type { CaptureAdapter } from '../../core/capture.js';
import { kObserve, kRecordError } from '../../core/symbols.js';
import { assertClient } from '../assert-client.js';
import { expressRoute } from './route.js';

type Next = (error?: unknown) => void;

const adapter: CaptureAdapter = {
  sdkType: 'JsExpress',
  route: expressRoute,
  // Mounted after a body parser, the raw bytes are gone: take what the parser made of them.
  parsedBody: (req) => (req as IncomingMessage & { body?: unknown }).body,
};

/**
 * For a request an earlier middleware failed before ours ran (a body parser refusing malformed
 * JSON, mounted before the SDK as the README shows): observed from the error handler on. The
 * parser consumed the body; body-parser keeps its text on the error (`err.body`), which goes through
 * the same rules (malformed JSON is withheld).
 */
const lateAdapter: CaptureAdapter<{ body?: unknown }> = {
  sdkType: 'JsExpress',
  route: expressRoute,
  parsedBody(req, state) {
    if (typeof state.body === 'string') return state.body;
    const body = (req as IncomingMessage & { body?: unknown }).body;
    // body-parser 1 sets `req.body = {}` before it reads: an empty object says nothing was parsed.
    return body !== null && typeof body === 'object' && Object.keys(body).length === 0 ? undefined : body;
  },
};

/**
 * Observes every request that reaches it. Mount it early (before your routes); it works before
 * or after body parsers and never changes the response.
 *
 * @example
 * const app = express();
 * app.use(express.json());
 * app.use(expressMiddleware(apitoolkit));
 * app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
 * app.use(expressErrorHandler(apitoolkit));
 */
export function expressMiddleware(client: APIToolkit) {
  assertClient(client, 'expressMiddleware');
  return function apitoolkitExpress(req: IncomingMessage, res: ServerResponse, next: Next): void {
    client[kObserve](req, res, adapter, next);
  };
}

/**
 * Records an error passed to `next(err)` or thrown by a handler on the request's record, then
 * passes it on unchanged to your own error handlers. Mount it after your routes.
 *
 * @example
 * app.get('/boom', () => { throw new Error('boom', { cause: new TypeError('inner') }) });
 * app.use(expressErrorHandler(apitoolkit));
 * app.use((err, req, res, next) => res.status(500).json({ error: err.message }));
 */
export function expressErrorHandler(client: APIToolkit) {
  assertClient(client, 'expressErrorHandler');
  return function apitoolkitExpressError(error: unknown, req: IncomingMessage, res: ServerResponse, next: Next): void {
    // Observing a request twice is a no-op that runs `record` in its context.
    const record = (): void => client[kRecordError](req, error);
    if (res.headersSent) record();
    else client[kObserve](req, res, lateAdapter, record, { body: (error as { body?: unknown } | null)?.body });
    next(error);
  };
}
