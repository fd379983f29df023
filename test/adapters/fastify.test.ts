/**
 * Fastify adapter beyond the conformance table: plugin encapsulation, `register({ prefix })`
 * nesting, `app.inject()`, `reply.hijack()` and buffers, errors through hooks and custom error
 * handlers, async context across Fastify's body parsing, misuse.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { OptionsInvalidError } from '../../src/index.js';
import apitoolkitFastify, { fastifyPlugin } from '../../src/adapters/fastify/index.js';
import { fastifyVersions, listenFastify } from '../conformance/targets/fastify.js';
import { unb64, unb64json } from '../helpers/http.js';
import { memoryClient, oneRecord } from '../helpers/client.js';

const client = memoryClient;

async function serveApp(t: TestContext, app: FastifyInstance): Promise<string> {
  const server = await listenFastify(app);
  t.after(() => server.close());
  return server.url;
}

test('fastifyPlugin is a fastify-plugin (no encapsulation) with names for stack traces', () => {
  const meta = fastifyPlugin as unknown as Record<symbol, unknown>;
  assert.equal(meta[Symbol.for('skip-override')], true);
  assert.equal(meta[Symbol.for('fastify.display-name')], 'apitoolkit-node');
  assert.equal(fastifyPlugin.name, 'apitoolkitFastify');
});

for (const { name, version, Fastify } of fastifyVersions) {
  describe(`${name} (${version})`, () => {
    test('the default export is the plugin, as Fastify plugins are imported', async (t) => {
      assert.equal(apitoolkitFastify, fastifyPlugin);
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(apitoolkitFastify, { client: apitoolkit });
      app.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
      const url = await serveApp(t, app);
      assert.deepEqual(await (await fetch(`${url}/items/3`)).json(), { id: '3' });
      assert.equal((await oneRecord(apitoolkit, transport)).url_path, '/items/:id');
    });

    test('register() without a client rejects with a coded error, at setup', async () => {
      for (const options of [{}, { client: {} }]) {
        const app = Fastify();
        await assert.rejects(
          async () => {
            await app.register(fastifyPlugin, options as never);
            await app.ready();
          },
          (error: unknown) =>
            error instanceof OptionsInvalidError &&
            error.code === 'APITOOLKIT_ERR_OPTIONS_INVALID' &&
            /fastifyPlugin\(client\)/.test(error.message),
        );
        await app.close().catch(() => {});
      }
    });

    test('registered on the root, it sees every route: declared before it, and nested register({ prefix }) levels', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      app.get('/early/:id', async (request) => ({ id: (request.params as { id: string }).id }));
      await app.register(fastifyPlugin, { client: apitoolkit });
      await app.register(
        async (api) => {
          await api.register(
            async (v1) => {
              v1.get('/files/*', async (request) => ({ file: (request.params as Record<string, string>)['*'] }));
              v1.get('/teams/:teamId/members/:memberId', async () => ({ ok: true }));
            },
            { prefix: '/v1' },
          );
        },
        { prefix: '/api' },
      );
      const url = await serveApp(t, app);

      assert.equal((await fetch(`${url}/early/7`)).status, 200);
      let record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/early/:id');
      assert.deepEqual(record.path_params, { id: '7' });

      transport.clear();
      assert.equal((await fetch(`${url}/api/v1/teams/t1/members/m2?x=1`)).status, 200);
      record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/api/v1/teams/:teamId/members/:memberId');
      assert.deepEqual(record.path_params, { teamId: 't1', memberId: 'm2' });

      transport.clear();
      assert.deepEqual(await (await fetch(`${url}/api/v1/files/a/b.txt`)).json(), { file: 'a/b.txt' });
      record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/api/v1/files/*');
      assert.deepEqual(record.path_params, { '*': 'a/b.txt' });
    });

    test('registered inside an encapsulated plugin, it observes that plugin only (Fastify encapsulation)', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      app.get('/outside', async () => ({ outside: true }));
      await app.register(
        async (child) => {
          await child.register(fastifyPlugin, { client: apitoolkit });
          child.get('/inside', async () => ({ inside: true }));
        },
        { prefix: '/child' },
      );
      const url = await serveApp(t, app);
      assert.equal((await fetch(`${url}/outside`)).status, 200);
      assert.equal((await fetch(`${url}/child/inside`)).status, 200);
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/child/inside');
    });

    test('app.inject(): one record, the body once, no abort', async (t) => {
      const { transport, apitoolkit } = client(t, { redactResponseBody: ['$.token'] });
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.post('/login', async (request) => ({ user: (request.body as { user: string }).user, token: 't0k' }));
      t.after(() => app.close());
      const res = await app.inject({ method: 'POST', url: '/login?next=1', payload: { user: 'ada' } });
      assert.deepEqual(res.json(), { user: 'ada', token: 't0k' });
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/login');
      assert.deepEqual(record.query_params, { next: ['1'] });
      assert.deepEqual(unb64json(record.request_body), { user: 'ada' });
      assert.deepEqual(unb64json(record.response_body), { user: 'ada', token: '[CLIENT_REDACTED]' });
      assert.deepEqual(record.errors, []);
      assert.equal(record.status_code, 200);
    });

    test('reply.hijack() with raw writes, and reply.send(buffer): recorded as sent', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.get('/raw', (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/plain', 'x-raw': '1' });
        reply.raw.write('one,');
        reply.raw.end('two');
      });
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      app.get('/bytes', (_request, reply) => {
        reply.type('application/octet-stream').send(bytes);
      });
      const url = await serveApp(t, app);

      const raw = await fetch(`${url}/raw`);
      assert.equal(await raw.text(), 'one,two');
      let record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/raw');
      assert.equal(unb64(record.response_body), 'one,two');
      assert.deepEqual(record.response_headers['x-raw'], ['1']);

      transport.clear();
      assert.deepEqual(Buffer.from(await (await fetch(`${url}/bytes`)).arrayBuffer()), bytes);
      record = await oneRecord(apitoolkit, transport);
      assert.deepEqual(Buffer.from(record.response_body, 'base64'), bytes);
    });

    test('reportError works after Fastify parsed the body; the raw request bytes are recorded', async (t) => {
      const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'] });
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      let reported: boolean | undefined;
      app.post('/users', async (request, reply) => {
        await new Promise((resolve) => setImmediate(resolve));
        reported = apitoolkit.reportError(new RangeError('quota nearly used'));
        reply.code(201);
        return { name: (request.body as { name: string }).name };
      });
      const url = await serveApp(t, app);
      const body = '{"name":"ada",  "password":"hunter2"}';
      const res = await fetch(`${url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 201);
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(reported, true);
      assert.deepEqual(
        record.errors.map((e) => e.error_type),
        ['RangeError'],
      );
      assert.deepEqual(unb64json(record.request_body), { name: 'ada', password: '[CLIENT_REDACTED]' });
    });

    test('a body sent in several chunks is recorded byte for byte as sent, then redacted', async (t) => {
      const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'] });
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.post('/users', async (request) => ({ n: (request.body as { n: number }).n }));
      const url = await serveApp(t, app);
      const parts = ['{"name":"ada",  ', '"n":1.50,', '"password":"hunter2"}'];
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const part = parts.shift();
          if (part === undefined) return controller.close();
          await new Promise((resolve) => setTimeout(resolve, 5)); // each its own chunk on the wire
          controller.enqueue(Buffer.from(part));
        },
      });
      const res = await fetch(`${url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit);
      assert.deepEqual(await res.json(), { n: 1.5 });
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(unb64(record.request_body), '{"name":"ada",  "n":1.50,"password":"[CLIENT_REDACTED]"}');
    });

    test('a content parser of the app that reads the raw stream itself: the body is recorded once', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.addContentTypeParser('text/csv', async (_request: unknown, payload: AsyncIterable<Buffer>) => {
        let text = '';
        for await (const chunk of payload) text += chunk.toString('utf8');
        return text.split(',');
      });
      app.post('/rows', async (request) => ({ cells: (request.body as string[]).length }));
      const url = await serveApp(t, app);
      const res = await fetch(`${url}/rows`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b,c,d' });
      assert.deepEqual(await res.json(), { cells: 4 });
      assert.equal(unb64((await oneRecord(apitoolkit, transport)).request_body), 'a,b,c,d');
    });

    test("a body over Fastify's bodyLimit: the same 413 as without the SDK, and no byte that was not sent", async (t) => {
      const sent = `{"data":"${'x'.repeat(5_000)}"}`;
      const answers: string[] = [];
      let recorded = '';
      for (const withSdk of [false, true]) {
        const app = Fastify({ bodyLimit: 1_000 });
        const { transport, apitoolkit } = client(t);
        if (withSdk) await app.register(fastifyPlugin, { client: apitoolkit });
        app.post('/upload', async () => ({ ok: true }));
        const url = await serveApp(t, app);
        const res = await fetch(`${url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sent });
        answers.push(`${res.status} ${await res.text()}`);
        if (withSdk) recorded = unb64((await oneRecord(apitoolkit, transport)).request_body);
      }
      assert.match(answers[0]!, /^413 /);
      assert.equal(answers[1], answers[0]);
      // Fastify refuses it without reading it: the bytes are seen as they arrive all the same.
      assert.ok(recorded.length > 0, 'the bytes that arrived are recorded');
      assert.ok(sent.startsWith(recorded), 'what is recorded is a prefix of what was sent');
    });

    test('errors: a custom error handler still answers, the error is recorded once with its cause', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.setErrorHandler((error, _request, reply) => {
        reply.code(418).send({ handled: (error as Error).message });
      });
      app.get('/teapot/:id', async () => {
        throw new Error('kettle broke', { cause: new TypeError('no water') });
      });
      const url = await serveApp(t, app);
      const res = await fetch(`${url}/teapot/1`);
      assert.equal(res.status, 418);
      assert.deepEqual(await res.json(), { handled: 'kettle broke' });
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/teapot/:id');
      assert.equal(record.status_code, 418);
      assert.equal(record.errors.length, 1, JSON.stringify(record.errors));
      assert.equal(record.errors[0]!.message, 'kettle broke');
      assert.equal(record.errors[0]!.root_error_type, 'TypeError');
      assert.equal(record.errors[0]!.root_error_message, 'no water');
    });

    test('errors: thrown in a preHandler hook, and sent with reply.send(err): recorded with the route template', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      await app.register(
        async (admin) => {
          admin.addHook('preHandler', async () => {
            throw Object.assign(new Error('not an admin'), { statusCode: 403 });
          });
          admin.get('/stats/:day', async () => ({ never: true }));
        },
        { prefix: '/admin' },
      );
      app.get('/sent', (_request, reply) => {
        reply.code(409).send(new Error('conflict'));
      });
      const url = await serveApp(t, app);

      assert.equal((await fetch(`${url}/admin/stats/monday`)).status, 403);
      let record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '/admin/stats/:day');
      assert.deepEqual(record.path_params, { day: 'monday' });
      assert.deepEqual(
        record.errors.map((e) => e.message),
        ['not an admin'],
      );

      transport.clear();
      assert.equal((await fetch(`${url}/sent`)).status, 409);
      record = await oneRecord(apitoolkit, transport);
      assert.deepEqual(
        record.errors.map((e) => e.message),
        ['conflict'],
      );
    });

    test('a custom not-found handler inside a prefix: empty template, no error', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      await app.register(
        async (api) => {
          api.setNotFoundHandler((_request, reply) => {
            reply.code(404).send({ nope: true });
          });
          api.get('/here', async () => ({ here: true }));
        },
        { prefix: '/api' },
      );
      const url = await serveApp(t, app);
      const res = await fetch(`${url}/api/elsewhere/42`);
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { nope: true });
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.url_path, '');
      assert.deepEqual(record.path_params, {});
      assert.deepEqual(record.errors, []);
    });

    test('no Fastify deprecation warning is triggered (routerPath is read only when routeOptions is missing)', async (t) => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      t.after(() => process.off('warning', onWarning));
      const { transport, apitoolkit } = client(t);
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.get('/ok', async () => 'ok');
      const url = await serveApp(t, app);
      await (await fetch(`${url}/ok`)).text();
      await (await fetch(`${url}/missing`)).text();
      await transport.waitForRecords(2);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.filter((w) => /^FSTDEP/.test(String((w as { code?: unknown }).code))),
        [],
      );
    });

    test('monitor disabled: no record and the same response', async (t) => {
      const { transport, apitoolkit } = client(t, { enabled: false });
      const app = Fastify();
      await app.register(fastifyPlugin, { client: apitoolkit });
      app.get('/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
      const url = await serveApp(t, app);
      assert.deepEqual(await (await fetch(`${url}/users/3`)).json(), { id: '3' });
      assert.equal(await apitoolkit.flush(100), true);
      assert.equal(transport.records().length, 0);
    });
  });
}
