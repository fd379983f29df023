/**
 * Koa adapter beyond the conformance table: `ctx.body` as a stream (and Koa 3's Web bodies),
 * errors through Koa's own error handling and through the app's, route templates from
 * @koa/router prefixes and router middleware, parsers mounted before us, misuse.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type Koa from 'koa';
import Router from '@koa/router';
import { type APIToolkit, OptionsInvalidError } from '../../src/index.js';
import { koaMiddleware } from '../../src/adapters/koa/index.js';
import { koaVersions } from '../conformance/targets/koa.js';
import { serve, unb64, unb64json } from '../helpers/http.js';
import { until } from '../helpers/wait.js';
import { memoryClient as client, onlyRecord as oneRecord } from '../helpers/client.js';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

test('koaMiddleware refuses anything but an APIToolkit, at setup', () => {
  assert.throws(
    () => koaMiddleware(undefined as unknown as APIToolkit),
    (error: unknown) =>
      error instanceof OptionsInvalidError &&
      error.code === 'APITOOLKIT_ERR_OPTIONS_INVALID' &&
      /koaMiddleware\(client\)/.test(error.message),
  );
  assert.throws(() => koaMiddleware({} as APIToolkit), OptionsInvalidError);
});

test('the returned middleware has a name for stack traces', (t) => {
  const { apitoolkit } = client(t);
  assert.equal(koaMiddleware(apitoolkit).name, 'apitoolkitKoa');
});

for (const { name, version, Koa } of koaVersions) {
  const newApp = (apitoolkit?: APIToolkit): Koa => {
    const app = new Koa();
    app.silent = true;
    if (apitoolkit) app.use(koaMiddleware(apitoolkit));
    return app;
  };

  describe(`${name} (${version})`, () => {
    test('ctx.body = a Node stream: sent whole, recorded through the tee', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      const router = new Router();
      router.get('/download/:name', (ctx) => {
        ctx.type = 'application/json';
        ctx.body = Readable.from(['{"file":', JSON.stringify(ctx.params.name), ',"token":"t0k"}']);
      });
      app.use(router.routes());
      const url = await serve(t, app.callback());
      const res = await fetch(`${url}/download/report.pdf`);
      assert.equal(await res.text(), '{"file":"report.pdf","token":"t0k"}');
      const record = await oneRecord(transport);
      assert.equal(record.url_path, '/download/:name');
      assert.deepEqual(record.path_params, { name: 'report.pdf' });
      assert.deepEqual(unb64json(record.response_body), { file: 'report.pdf', token: 't0k' });
      assert.deepEqual(record.errors, []);
    });

    test('a ctx.body stream that fails mid-way: the error Koa reports is recorded once, with its cause', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      app.use((ctx) => {
        const body = new Readable({ read() {} });
        body.push('one,');
        setTimeout(() => body.destroy(new Error('disk gone', { cause: new Error('EIO') })), 10);
        ctx.type = 'text/plain';
        ctx.body = body;
      });
      const url = await serve(t, app.callback());
      // Koa 3 cuts the connection; Koa 2 leaves the response open until the client gives up.
      await fetch(`${url}/file`, { signal: AbortSignal.timeout(300) })
        .then((r) => r.text())
        .catch(() => undefined);
      const record = await oneRecord(transport);
      const failures = record.errors.filter((e) => e.error_type === 'Error');
      assert.equal(failures.length, 1, JSON.stringify(record.errors));
      assert.equal(failures[0]!.message, 'disk gone');
      assert.equal(failures[0]!.root_error_message, 'EIO');
      assert.equal(unb64(record.response_body), 'one,');
    });

    test('an app error middleware mounted before ours: the error is recorded once and the app answers', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = new Koa();
      app.silent = true;
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          ctx.status = 503;
          ctx.body = { error: (error as Error).message };
          ctx.app.emit('error', error, ctx); // as Koa's docs advise
        }
      });
      app.use(koaMiddleware(apitoolkit));
      app.use(() => {
        throw new Error('upstream down', { cause: new RangeError('pool exhausted') });
      });
      const url = await serve(t, app.callback());
      const res = await fetch(`${url}/pay`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { error: 'upstream down' });
      const record = await oneRecord(transport);
      assert.equal(record.status_code, 503);
      assert.equal(record.errors.length, 1, JSON.stringify(record.errors));
      assert.equal(record.errors[0]!.root_error_type, 'RangeError');
    });

    test('an error handled after ours is recorded when the app emits it, and not otherwise', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          ctx.status = 400;
          ctx.body = 'bad';
          if (ctx.path === '/emitted') ctx.app.emit('error', error, ctx);
        }
      });
      app.use(() => {
        throw new TypeError('bad input');
      });
      const url = await serve(t, app.callback());
      assert.equal((await fetch(`${url}/emitted`)).status, 400);
      const emitted = await oneRecord(transport);
      assert.deepEqual(
        emitted.errors.map((e) => e.message),
        ['bad input'],
      );
      transport.clear();
      assert.equal((await fetch(`${url}/swallowed`)).status, 400);
      const swallowed = await oneRecord(transport);
      assert.deepEqual(swallowed.errors, []);
    });

    test("Koa's default error logging stays: our 'error' listener is added beside it", async (t) => {
      const { apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const url = await serve(t, app.callback()); // callback() installs Koa's logger
      assert.equal(app.listenerCount('error'), 1);
      await (await fetch(`${url}/`)).text();
      await (await fetch(`${url}/`)).text();
      assert.equal(app.listenerCount('error'), 2, 'one listener of ours, added once');
    });

    test('a thrown non-Error and ctx.throw() are recorded once each; the status is what Koa sent', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      const router = new Router();
      router.get('/string', () => {
        throw 'plain string'; // a thrown non-Error, on purpose
      });
      router.get('/missing/:id', (ctx) => ctx.throw(404, 'no such thing'));
      app.use(router.routes());
      const url = await serve(t, app.callback());
      assert.equal((await fetch(`${url}/string`)).status, 500);
      const thrown = await oneRecord(transport);
      assert.equal(thrown.errors.length, 1, JSON.stringify(thrown.errors));
      assert.equal(thrown.errors[0]!.message, 'plain string');
      transport.clear();
      const res = await fetch(`${url}/missing/9`);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), 'no such thing');
      const missing = await oneRecord(transport);
      assert.equal(missing.url_path, '/missing/:id');
      assert.deepEqual(missing.path_params, { id: '9' });
      assert.equal(missing.status_code, 404);
      assert.deepEqual(
        missing.errors.map((e) => e.message),
        ['no such thing'],
      );
    });

    test('templates: router prefix, nested prefixes, wildcards; 405 from allowedMethods is unmatched', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      const api = new Router({ prefix: '/api/v1' });
      const teams = new Router({ prefix: '/teams' });
      teams.get('/:teamId/members/:memberId', (ctx) => {
        ctx.body = ctx.params;
      });
      api.use(teams.routes());
      api.get('/files/{*path}', (ctx) => {
        ctx.body = ctx.params.path;
      });
      app.use(api.routes()).use(api.allowedMethods());
      const url = await serve(t, app.callback());

      await (await fetch(`${url}/api/v1/teams/t1/members/m%202`)).text();
      let record = await oneRecord(transport);
      assert.equal(record.url_path, '/api/v1/teams/:teamId/members/:memberId');
      assert.deepEqual(record.path_params, { teamId: 't1', memberId: 'm 2' });

      transport.clear();
      await (await fetch(`${url}/api/v1/files/a/b.txt`)).text();
      record = await oneRecord(transport);
      assert.equal(record.url_path, '/api/v1/files/{*path}');
      assert.deepEqual(record.path_params, { path: 'a/b.txt' });

      transport.clear();
      assert.equal((await fetch(`${url}/api/v1/files/x`, { method: 'DELETE' })).status, 405);
      record = await oneRecord(transport);
      assert.equal(record.url_path, '');
      assert.deepEqual(record.path_params, {});
    });

    test('a router middleware that throws before the route still gives the route template', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      const router = new Router();
      router.use(async (ctx, next) => {
        if (ctx.get('authorization') === '') ctx.throw(401, 'login first');
        await next();
      });
      router.get('/accounts/:accountId', (ctx) => {
        ctx.body = { id: ctx.params.accountId };
      });
      app.use(router.routes());
      const url = await serve(t, app.callback());
      assert.equal((await fetch(`${url}/accounts/a7`)).status, 401);
      const record = await oneRecord(transport);
      assert.equal(record.url_path, '/accounts/:accountId');
      assert.deepEqual(record.path_params, { accountId: 'a7' });
      assert.deepEqual(
        record.errors.map((e) => e.message),
        ['login first'],
      );
    });

    test('a body parser mounted before ours: the body it kept is recorded and redacted', async (t) => {
      const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'] });
      const app = new Koa();
      app.silent = true;
      // What @koa/bodyparser does: the parsed body and the raw text on ctx.request.
      app.use(async (ctx, next) => {
        const raw = await readBody(ctx.req);
        const request = ctx.request as typeof ctx.request & { body?: unknown; rawBody?: string };
        request.rawBody = raw;
        request.body = JSON.parse(raw);
        await next();
      });
      app.use(koaMiddleware(apitoolkit));
      app.use((ctx) => {
        ctx.body = { user: (ctx.request as typeof ctx.request & { body: { user: string } }).body.user };
      });
      const url = await serve(t, app.callback());
      const res = await fetch(`${url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"user":"ada","password":"hunter2"}',
      });
      assert.deepEqual(await res.json(), { user: 'ada' });
      const record = await oneRecord(transport);
      assert.deepEqual(unb64json(record.request_body), { user: 'ada', password: '[CLIENT_REDACTED]' });
    });

    test('reportError works across awaits in downstream middleware', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = newApp(apitoolkit);
      app.use(async (ctx, next) => {
        await new Promise((resolve) => setImmediate(resolve));
        await next();
        ctx.set('x-after', 'yes');
      });
      app.use(async (ctx) => {
        await Promise.resolve();
        assert.equal(apitoolkit.reportError(new Error('soft failure')), true);
        ctx.body = 'ok';
      });
      const url = await serve(t, app.callback());
      await (await fetch(`${url}/`)).text();
      const record = await oneRecord(transport);
      assert.deepEqual(
        record.errors.map((e) => e.message),
        ['soft failure'],
      );
      assert.deepEqual(record.response_headers['x-after'], ['yes']);
    });

    test('enabled: false is a pass-through', async (t) => {
      const { transport, apitoolkit } = client(t, { enabled: false });
      const app = newApp(apitoolkit);
      app.use((ctx) => {
        ctx.body = 'plain';
      });
      const url = await serve(t, app.callback());
      assert.equal(await (await fetch(`${url}/`)).text(), 'plain');
      await apitoolkit.flush(100);
      assert.equal(transport.records().length, 0);
      assert.equal(apitoolkit.stats().captured, 0);
    });

    test('ignorePaths matches @koa/router templates', async (t) => {
      const { transport, apitoolkit } = client(t, { ignorePaths: ['/health/:probe'] });
      const app = newApp(apitoolkit);
      const router = new Router();
      router.get('/health/:probe', (ctx) => {
        ctx.body = 'up';
      });
      router.get('/ping', (ctx) => {
        ctx.body = 'pong';
      });
      app.use(router.routes());
      const url = await serve(t, app.callback());
      await (await fetch(`${url}/health/live`)).text();
      await (await fetch(`${url}/ping`)).text();
      await until(() => transport.records().length >= 1, 'the /ping record');
      await apitoolkit.flush(1_000);
      assert.deepEqual(
        transport.records().map((r) => r.url_path),
        ['/ping'],
      );
    });
  });
}

test('koa 3: Web ReadableStream and Response bodies are recorded', async (t) => {
  const Koa3 = koaVersions.find((v) => v.name === 'koa 3')!.Koa;
  const { transport, apitoolkit } = client(t);
  const app = new Koa3();
  app.use(koaMiddleware(apitoolkit));
  app.use((ctx) => {
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('web '));
        controller.enqueue(encoder.encode('stream'));
        controller.close();
      },
    });
    ctx.type = 'text/plain';
    ctx.body = ctx.path === '/response' ? new Response('a web response') : stream;
  });
  const url = await serve(t, app.callback());
  assert.equal(await (await fetch(`${url}/stream`)).text(), 'web stream');
  assert.equal(unb64((await oneRecord(transport)).response_body), 'web stream');
  transport.clear();
  assert.equal(await (await fetch(`${url}/response`)).text(), 'a web response');
  assert.equal(unb64((await oneRecord(transport)).response_body), 'a web response');
});
