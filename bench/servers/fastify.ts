/**
 * The Fastify app of the benchmark: `bare`, or `sdk` with this SDK's Fastify adapter
 * (`apitoolkit-node/fastify`, registered as a plugin with `{ client }`; adjust here if the adapter's
 * shape differs). The same route, bodies and rules as every app (see common.ts).
 */
import Fastify from 'fastify';
import type { APIToolkit } from '../../src/index.js';
import {
  ROUTE_PATH,
  benchClient,
  closing,
  loadAdapter,
  responseBody,
  sdkControl,
  serveHarness,
  startApp,
  usage,
  type Control,
} from './common.js';

const MODES = ['bare', 'sdk'] as const;

startApp(async (mode, env) => {
  if (!(MODES as readonly string[]).includes(mode)) throw usage('fastify.ts', MODES, mode);
  const app = Fastify({ logger: false });
  let control: Control = {};
  if (mode === 'sdk') {
    const plugin = await loadAdapter<(instance: unknown, options: { client: APIToolkit }) => unknown>('fastify', 'fastifyPlugin');
    const client = await benchClient(env);
    await app.register(plugin as never, { client });
    control = sdkControl(client);
  }
  app.post<{ Params: { id: string }; Body: { name?: unknown } }>(ROUTE_PATH, async (req) => responseBody(req.params.id, req.body?.name));
  await app.listen({ port: 0, host: '127.0.0.1' });
  serveHarness(
    (app.server.address() as { port: number }).port,
    closing(control, () => app.close()),
  );
});
