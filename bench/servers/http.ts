/**
 * The plain node:http app of the benchmark (no framework: a route match, a JSON body read, a JSON
 * answer): `bare`, or `sdk` wrapped with `httpHandler(client, handler, { route })` from `apitoolkit-node/http`.
 * The same route, bodies and rules as every app (see common.ts).
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import {
  ROUTE_PATH,
  benchClient,
  closing,
  loadAdapter,
  responseBody,
  sdkControl,
  serveHarness,
  spin,
  startApp,
  usage,
  type Control,
} from './common.js';

const MODES = ['bare', 'sdk', 'sdk-noop'] as const;
const USER = /^\/users\/([^/?]+)/;

async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const match = USER.exec(req.url ?? '');
  if (req.method !== 'POST' || match === null) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name?: unknown };
  const json = JSON.stringify(responseBody(decodeURIComponent(match[1]!), body.name));
  spin('before');
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
  spin('after');
}

startApp(async (mode, env) => {
  if (!(MODES as readonly string[]).includes(mode)) throw usage('http.ts', MODES, mode);
  let listener: RequestListener = (req, res) => void handler(req, res);
  let control: Control = {};
  if (mode === 'sdk' || mode === 'sdk-noop') {
    type Route = (req: IncomingMessage) => { template: string; params: Record<string, string> } | null;
    const httpHandler = await loadAdapter<(client: unknown, handler: RequestListener, options: { route: Route }) => RequestListener>(
      'http',
      'httpHandler',
    );
    const client = await benchClient(env, { noop: mode === 'sdk-noop' });
    // The template every other framework's router gives the SDK; without it url_path is the raw path.
    const route: Route = (req) => {
      const match = USER.exec(req.url ?? '');
      return match === null ? null : { template: ROUTE_PATH, params: { id: decodeURIComponent(match[1]!) } };
    };
    listener = httpHandler(client, listener, { route });
    control = sdkControl(client);
  }
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  serveHarness(
    (server.address() as { port: number }).port,
    closing(control, () => server.close()),
  );
});
