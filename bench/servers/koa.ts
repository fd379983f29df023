/**
 * The Koa app of the benchmark: Koa + @koa/router with a small JSON body reader (what
 * koa-bodyparser does), `bare`, or `sdk` with `koaMiddleware(client)` from `apitoolkit-node/koa`
 * mounted first. The same route, bodies and rules as every app (see common.ts).
 */
import Router from '@koa/router';
import Koa from 'koa';
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
  if (!(MODES as readonly string[]).includes(mode)) throw usage('koa.ts', MODES, mode);
  const app = new Koa();
  let control: Control = {};
  if (mode === 'sdk') {
    const koaMiddleware = await loadAdapter<(client: unknown) => Koa.Middleware>('koa', 'koaMiddleware');
    const client = await benchClient(env);
    app.use(koaMiddleware(client));
    control = sdkControl(client);
  }
  app.use(async (ctx, next) => {
    if (ctx.is('application/json')) {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    await next();
  });
  const router = new Router();
  router.post(ROUTE_PATH, (ctx) => {
    ctx.body = responseBody(ctx.params.id as string, (ctx.request as { body?: { name?: unknown } }).body?.name);
  });
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  serveHarness(
    (server.address() as { port: number }).port,
    closing(control, () => server.close()),
  );
});
