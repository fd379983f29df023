/**
 * Zero-code start: `node --import apitoolkit-node/register app.js` (or `--require` for CommonJS)
 * observes every request the process's node:http servers serve, with no change to the app. The
 * client is configured from the environment (`APITOOLKIT_KEY`, `APITOOLKIT_*`; see the README),
 * flushes on SIGTERM/SIGINT (`shutdownOnSignals`) and when the process has nothing left to do.
 *
 * It listens on node's `http.server.request.start` diagnostics channel: nothing of the app's is
 * wrapped or patched. What it cannot know without the app's code: route templates outside Express
 * (ids in the path become `:id`, `:id2`, ...), and errors (only what the response says). For those,
 * use the framework's adapter instead (not both: each would record the request).
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APIToolkit } from './apitoolkit.js';
import { expressRoute } from './adapters/express/route.js';
import type { CaptureAdapter, RouteMatch } from './core/capture.js';
import { kEnter } from './core/symbols.js';
import { defaultTemplate } from './outgoing/template.js';
import { shutdownOnSignals } from './signals.js';

const CHANNEL = 'http.server.request.start';

/** An Express request, once Express has seen it: its `app` is the Express application. */
function isExpress(req: IncomingMessage): boolean {
  const app = (req as { app?: unknown }).app;
  return typeof app === 'function' && typeof (app as { handle?: unknown }).handle === 'function';
}

/** The path part of `req.url`. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

const adapter: CaptureAdapter = {
  sdkType: 'JsNode',
  sdkTypeOf: (req) => (isExpress(req) ? 'JsExpress' : 'JsNode'),
  route: (req): RouteMatch =>
    isExpress(req) ? expressRoute(req) : defaultTemplate(pathOf((req as { originalUrl?: string }).originalUrl ?? req.url)),
  parsedBody: (req) => (req as IncomingMessage & { body?: unknown }).body,
};

/** The process's client: call `apitoolkit.reportError(err)` or read `stats()` through it. */
export const apitoolkit = new APIToolkit();

if (apitoolkit.stats().state !== 'disabled') {
  dc.subscribe(CHANNEL, (message) => {
    const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
    apitoolkit[kEnter](request, response, adapter);
  });
  shutdownOnSignals(apitoolkit);
  // A script that simply ends: deliver what it captured, once, then let it exit.
  process.once('beforeExit', () => void apitoolkit.shutdown());
}
