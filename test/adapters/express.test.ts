import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { ServerResponse, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import compression from 'compression';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { APIToolkit, MemoryTransport, type ApiRecord, type Transport } from '../../src/index.js';
import { expressErrorHandler, expressMiddleware } from '../../src/adapters/express/index.js';
import { expressVersions } from '../helpers/express.js';
import { serve, unb64, unb64json } from '../helpers/http.js';
import { until } from '../helpers/wait.js';
import { memoryClient, oneRecord } from '../helpers/client.js';

type Express = (typeof expressVersions)[number]['express'];

const WIRE_FIELDS = [
  'timestamp',
  'duration',
  'project_id',
  'sdk_type',
  'method',
  'host',
  'url_path',
  'raw_url',
  'path_params',
  'query_params',
  'request_headers',
  'response_headers',
  'request_body',
  'response_body',
  'status_code',
  'proto_major',
  'proto_minor',
  'referer',
  'errors',
  'service_version',
  'tags',
  'msg_id',
  'parent_id',
].sort();

const client = memoryClient;

/**
 * The app most tests use: parser before or after the SDK, nested routers, errors, streams.
 * Without a client it is the same app with no SDK at all, the baseline for "unchanged".
 */
function buildApp(express: Express, apitoolkit: APIToolkit | undefined, parserFirst = true) {
  const app = express();
  if (parserFirst) app.use(express.json(), express.urlencoded({ extended: false }));
  if (apitoolkit) app.use(expressMiddleware(apitoolkit));
  if (!parserFirst) app.use(express.json(), express.urlencoded({ extended: false }));
  app.get('/users/:id', (req, res) => {
    res.setHeader('Set-Cookie', 'session=abc');
    res.json({ id: req.params.id, token: 'secret-token' });
  });
  app.post('/users/:id', (req, res) => res.status(201).json({ id: req.params.id, token: 'tok-123', echo: req.body }));
  const orgs = express.Router();
  const projects = express.Router({ mergeParams: true });
  projects.get('/:projectId', (req, res) => res.json({ params: req.params }));
  orgs.use('/:orgId/projects', projects);
  app.use('/orgs', orgs);
  app.get('/boom', () => {
    throw new Error('outer failure', { cause: new TypeError('inner cause') });
  });
  app.get('/report', async (_req, res) => {
    await sleep(5);
    apitoolkit?.reportError(new RangeError('handled but worth knowing'));
    res.status(202).send('accepted');
  });
  app.get('/stream', (_req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.write('part one, ');
    setTimeout(() => {
      res.write(Buffer.from('part two, '));
      res.end('end');
    }, 10);
  });
  app.get('/piped', (_req, res) => {
    res.type('text/plain');
    Readable.from(['alpha ', 'beta ', 'gamma']).pipe(res);
  });
  app.get('/big', (_req, res) => res.type('text/plain').send('x'.repeat(300_000)));
  app.get('/hang', () => {
    /* never answers: the client gives up */
  });
  app.get('/empty', (_req, res) => res.status(204).end());
  if (apitoolkit) app.use(expressErrorHandler(apitoolkit));
  app.use((err: Error, _req: unknown, res: { status(n: number): { json(v: unknown): void } }, _next: unknown) => {
    res.status(500).json({ error: err.message });
  });
  return app;
}

for (const { name, version, express } of expressVersions) {
  describe(`${name} (${version})`, () => {
    test('a body the parser (mounted before the SDK) refuses is still recorded, from the error handler on', async (t) => {
      const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'] });
      const url = await serve(t, buildApp(express, apitoolkit));
      for (const body of ['{"password":hunter2-never}', JSON.stringify({ password: 'x'.repeat(200_000) })]) {
        transport.clear();
        const res = await fetch(`${url}/users/5`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(res.status, 500); // this app's own error handler answers every error with 500
        const [r] = await transport.waitForRecords(1);
        assert.ok(r);
        assert.equal(r.method, 'POST');
        assert.equal(r.raw_url, '/users/5');
        assert.equal(r.status_code, 500);
        assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
        assert.match(r.errors[0]!.error_type, /SyntaxError|PayloadTooLargeError/);
        // The malformed body is withheld (it cannot be parsed, so the rules cannot be applied).
        assert.ok(r.request_body === '' || unb64(r.request_body) === '"[CLIENT_REDACTED]"', unb64(r.request_body));
        assert.ok(!JSON.stringify(r).includes('hunter2'));
      }
      assert.equal(apitoolkit.stats().captured, 2);
    });

    test('every wire field, exactly typed, for the README example', async (t) => {
      const { transport, apitoolkit } = client(t, { serviceVersion: '1.4.0', tags: ['prod'] });
      const url = await serve(t, buildApp(express, apitoolkit));
      const res = await fetch(`${url}/users/42?x=1&x=2&y=3`, { headers: { referer: 'https://example.com/', 'x-trace': 'abc' } });
      assert.equal(res.status, 200);
      const [r] = await transport.waitForRecords(1);
      assert.ok(r);
      assert.deepEqual(Object.keys(r).sort(), WIRE_FIELDS);
      assert.match(r.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Number.isInteger(r.duration) && r.duration > 0);
      assert.equal(r.project_id, '11111111-2222-4333-8444-555555555555');
      assert.equal(r.sdk_type, 'JsExpress');
      assert.equal(r.method, 'GET');
      assert.equal(r.host, new URL(url).host);
      assert.equal(r.url_path, '/users/:id');
      assert.equal(r.raw_url, '/users/42?x=1&x=2&y=3');
      assert.deepEqual(r.path_params, { id: '42' });
      assert.deepEqual(r.query_params, { x: ['1', '2'], y: ['3'] });
      assert.deepEqual(r.request_headers['x-trace'], ['abc']);
      assert.deepEqual(r.response_headers['content-type'], ['application/json; charset=utf-8']);
      assert.deepEqual(r.response_headers['set-cookie'], ['[CLIENT_REDACTED]']);
      assert.equal(r.request_body, '');
      assert.deepEqual(unb64json(r.response_body), { id: '42', token: 'secret-token' });
      assert.equal(r.status_code, 200);
      assert.equal(r.proto_major, 1);
      assert.equal(r.proto_minor, 1);
      assert.equal(r.referer, 'https://example.com/');
      assert.deepEqual(r.errors, []);
      assert.equal(r.service_version, '1.4.0');
      assert.deepEqual(r.tags, ['prod']);
      assert.match(r.msg_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(r.parent_id, null);
    });

    for (const parserFirst of [true, false]) {
      test(`redaction of headers and bodies, parser ${parserFirst ? 'before' : 'after'} the middleware`, async (t) => {
        const { transport, apitoolkit } = client(t, {
          redactHeaders: ['X-Api-Key'],
          redactRequestBody: ['$.password', '$.credit-card.cvv', 'user.books[*].author'],
          redactResponseBody: ['$.token', '$.echo.password'],
        });
        const url = await serve(t, buildApp(express, apitoolkit, parserFirst));
        const body = {
          name: 'ada',
          password: 'hunter2',
          'credit-card': { number: '4111', cvv: 'cvv-secret-987' },
          user: {
            books: [
              { title: 'A', author: 'secret-author-x' },
              { title: 'B', author: 'secret-author-y' },
            ],
          },
        };
        const res = await fetch(`${url}/users/7`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'X-API-KEY': 'key-secret-1',
            authorization: 'Bearer s3cr3t',
            cookie: 'sid=cookie-secret',
          },
          body: JSON.stringify(body),
        });
        // The app saw the real body: redaction happens only on the copy we send.
        assert.deepEqual(await res.json(), { id: '7', token: 'tok-123', echo: body });
        const [r] = await transport.waitForRecords(1);
        assert.ok(r);
        assert.deepEqual(unb64json(r.request_body), {
          name: 'ada',
          password: '[CLIENT_REDACTED]',
          'credit-card': { number: '4111', cvv: '[CLIENT_REDACTED]' },
          user: {
            books: [
              { title: 'A', author: '[CLIENT_REDACTED]' },
              { title: 'B', author: '[CLIENT_REDACTED]' },
            ],
          },
        });
        const response = unb64json(r.response_body) as Record<string, unknown>;
        assert.equal(response.token, '[CLIENT_REDACTED]');
        assert.equal((response.echo as Record<string, unknown>).password, '[CLIENT_REDACTED]');
        // Request rules never touch the response and vice versa.
        assert.deepEqual((response.echo as Record<string, unknown>)['credit-card'], { number: '4111', cvv: 'cvv-secret-987' });
        assert.deepEqual(r.request_headers['x-api-key'], ['[CLIENT_REDACTED]']);
        assert.deepEqual(r.request_headers.authorization, ['[CLIENT_REDACTED]']);
        assert.deepEqual(r.request_headers.cookie, ['[CLIENT_REDACTED]']);
        const sentAboutRequest = unb64(r.request_body) + JSON.stringify(r.request_headers);
        for (const secret of ['hunter2', 'cvv-secret', 'secret-author', 'key-secret-1', 's3cr3t', 'cookie-secret']) {
          assert.ok(!sentAboutRequest.includes(secret), `leaked ${secret}`);
        }
        assert.ok(!(JSON.stringify(r) + unb64(r.response_body)).includes('tok-123'), 'leaked the response token');
        assert.ok(apitoolkit.stats().redactions >= 8);
      });
    }

    test('form bodies are redacted by the same JSONPath rules', async (t) => {
      const { transport, apitoolkit } = client(t, { redactRequestBody: ['$.password'] });
      const url = await serve(t, buildApp(express, apitoolkit, false));
      await fetch(`${url}/users/1`, { method: 'POST', body: new URLSearchParams({ user: 'ada', password: 'hunter2' }) });
      const [r] = await transport.waitForRecords(1);
      assert.deepEqual(unb64json(r!.request_body), { user: 'ada', password: '[CLIENT_REDACTED]' });
    });

    test('nested routers give the full template; 404 gives ""', async (t) => {
      const { transport, apitoolkit } = client(t);
      const url = await serve(t, buildApp(express, apitoolkit));
      await fetch(`${url}/orgs/acme/projects/p9`);
      await fetch(`${url}/nowhere/at/all`);
      const records = await transport.waitForRecords(2);
      const nested = records.find((r) => r.raw_url.startsWith('/orgs'))!;
      assert.equal(nested.url_path, '/orgs/:orgId/projects/:projectId');
      assert.deepEqual(nested.path_params, { orgId: 'acme', projectId: 'p9' });
      const missing = records.find((r) => r.raw_url === '/nowhere/at/all')!;
      assert.equal(missing.url_path, '');
      assert.equal(missing.status_code, 404);
    });

    test('errors: thrown with a cause, and reportError inside a request', async (t) => {
      const { transport, apitoolkit } = client(t);
      const url = await serve(t, buildApp(express, apitoolkit));
      assert.equal((await fetch(`${url}/boom`)).status, 500);
      assert.equal((await fetch(`${url}/report`)).status, 202);
      const records = await transport.waitForRecords(2);
      const boom = records.find((r) => r.raw_url === '/boom')!;
      assert.equal(boom.status_code, 500);
      assert.equal(boom.errors.length, 1);
      assert.equal(boom.errors[0]!.error_type, 'Error');
      assert.equal(boom.errors[0]!.message, 'outer failure');
      assert.equal(boom.errors[0]!.root_error_type, 'TypeError');
      assert.equal(boom.errors[0]!.root_error_message, 'inner cause');
      assert.match(boom.errors[0]!.stack_trace, /outer failure/);
      assert.ok(!Number.isNaN(Date.parse(boom.errors[0]!.when)));
      const report = records.find((r) => r.raw_url === '/report')!;
      assert.equal(report.errors[0]!.error_type, 'RangeError');
      assert.equal(report.errors[0]!.root_error_message, 'handled but worth knowing');
      assert.equal(apitoolkit.reportError(new Error('outside')), false);
    });

    test('currentMsgId() inside a request, across await, is the msg_id of its record; outside, undefined', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      const logged: (string | undefined)[] = [];
      app.get('/log/:n', async (_req, res) => {
        logged.push(apitoolkit.currentMsgId());
        await sleep(2);
        logged.push(apitoolkit.currentMsgId());
        res.send('ok');
      });
      const url = await serve(t, app);
      await Promise.all([1, 2, 3].map(async (n) => (await fetch(`${url}/log/${n}`)).text()));
      const records = await transport.waitForRecords(3);
      assert.deepEqual(new Set(logged), new Set(records.map((r) => r.msg_id)));
      assert.equal(logged.length, 6);
      assert.equal(apitoolkit.currentMsgId(), undefined);
    });

    test('streamed, piped and empty responses are captured whole and delivered unchanged', async (t) => {
      const { transport, apitoolkit } = client(t);
      const url = await serve(t, buildApp(express, apitoolkit));
      assert.equal(await (await fetch(`${url}/stream`)).text(), 'part one, part two, end');
      assert.equal(await (await fetch(`${url}/piped`)).text(), 'alpha beta gamma');
      assert.equal((await fetch(`${url}/empty`)).status, 204);
      const head = await fetch(`${url}/users/5`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      const records = await transport.waitForRecords(4);
      const by = (u: string, m = 'GET') => records.find((r) => r.raw_url === u && r.method === m)!;
      assert.equal(unb64(by('/stream').response_body), 'part one, part two, end');
      assert.equal(unb64(by('/piped').response_body), 'alpha beta gamma');
      assert.equal(by('/empty').response_body, '');
      assert.equal(by('/empty').status_code, 204);
      assert.equal(by('/users/5', 'HEAD').response_body, '');
      assert.equal(by('/users/5', 'HEAD').url_path, '/users/:id');
    });

    test('bodies above maxBodyBytes are cut, the client still gets every byte', async (t) => {
      const { transport, apitoolkit } = client(t, { maxBodyBytes: 1024 });
      const url = await serve(t, buildApp(express, apitoolkit));
      const text = await (await fetch(`${url}/big`)).text();
      assert.equal(text.length, 300_000);
      const [r] = await transport.waitForRecords(1);
      assert.equal(Buffer.from(r!.response_body, 'base64').length, 1024);
      assert.equal(apitoolkit.stats().truncatedBodies, 1);
    });

    test('a request body cut by the tee but whole from the parser is recorded whole, not counted as cut', async (t) => {
      const { transport, apitoolkit } = client(t, { maxBodyBytes: 64 });
      const url = await serve(t, buildApp(express, apitoolkit, false));
      const padded = `{"name":"ada",${' '.repeat(200)}"n":1}`;
      await fetch(`${url}/users/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded });
      const [r] = await transport.waitForRecords(1);
      assert.equal(unb64(r!.request_body), '{"name":"ada","n":1}');
      assert.equal(apitoolkit.stats().truncatedBodies, 0);
    });

    test('a JSON body cut by maxBodyBytes while rules apply is replaced, never sent raw', async (t) => {
      const { transport, apitoolkit } = client(t, { maxBodyBytes: 64, redactResponseBody: ['$.token'] });
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/t', (_req, res) => res.json({ padding: 'p'.repeat(100), token: 'must-not-leak' }));
      const url = await serve(t, app);
      await fetch(`${url}/t`);
      const [r] = await transport.waitForRecords(1);
      assert.equal(unb64(r!.response_body), '"[CLIENT_REDACTED]"');
      assert.equal(apitoolkit.stats().unparsableBodies, 1);
    });

    test('an aborted request is still recorded', async (t) => {
      const { transport, apitoolkit } = client(t);
      const url = await serve(t, buildApp(express, apitoolkit));
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${url}/hang`);
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      const [r] = await transport.waitForRecords(1);
      assert.equal(r!.url_path, '/hang');
      assert.equal(r!.status_code, 499);
      assert.equal(r!.errors[0]!.error_type, 'RequestAborted');
    });

    test('the response is byte-for-byte the same with and without the SDK', async (t) => {
      const { apitoolkit } = client(t, { redactResponseBody: ['$.token'], redactHeaders: ['set-cookie'] });
      const instrumented = buildApp(express, apitoolkit);
      const plain = buildApp(express, undefined);
      const [a, b] = [await serve(t, instrumented), await serve(t, plain)];
      for (const path of ['/users/42', '/stream', '/piped', '/big', '/orgs/a/projects/b', '/boom', '/missing']) {
        const [ra, rb] = await Promise.all([fetch(a + path), fetch(b + path)]);
        assert.equal(ra.status, rb.status, path);
        const strip = (h: Headers) => [...h].filter(([k]) => k !== 'date' && k !== 'keep-alive');
        assert.deepEqual(strip(ra.headers), strip(rb.headers), path);
        assert.deepEqual(Buffer.from(await ra.arrayBuffer()), Buffer.from(await rb.arrayBuffer()), path);
      }
    });

    for (const compressionFirst of [true, false]) {
      test(`gzip responses (compression ${compressionFirst ? 'before' : 'after'} the SDK): the record holds the plain body, the client the gzip bytes`, async (t) => {
        const { transport, apitoolkit } = client(t, { redactResponseBody: ['$.token'] });
        const app = express();
        if (compressionFirst) app.use(compression({ threshold: 0 }));
        app.use(expressMiddleware(apitoolkit));
        if (!compressionFirst) app.use(compression({ threshold: 0 }));
        const payload = { token: 'zipped-secret', items: Array.from({ length: 50 }, (_, i) => ({ i })) };
        app.get('/z', (_req, res) => res.json(payload));
        const url = await serve(t, app);
        const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
          httpRequest(`${url}/z`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
          })
            .on('error', reject)
            .end();
        });
        assert.equal(raw.headers['content-encoding'], 'gzip');
        assert.deepEqual(JSON.parse(gunzipSync(raw.body).toString()), payload);
        const [r] = await transport.waitForRecords(1);
        assert.deepEqual(unb64json(r!.response_body), { ...payload, token: '[CLIENT_REDACTED]' });
        assert.deepEqual(r!.response_headers['content-encoding'], ['gzip']);
      });
    }

    test('res.sendFile: every byte reaches the client, the record keeps maxBodyBytes of it', async (t) => {
      const { transport, apitoolkit } = client(t, { maxBodyBytes: 4096 });
      const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-'));
      const file = join(dir, 'blob.bin');
      const bytes = Buffer.alloc(2 * 1024 * 1024, 7);
      writeFileSync(file, bytes);
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/file', (_req, res) => res.sendFile(file));
      const url = await serve(t, app);
      const got = Buffer.from(await (await fetch(`${url}/file`)).arrayBuffer());
      assert.ok(got.equals(bytes));
      const [r] = await transport.waitForRecords(1);
      assert.ok(Buffer.from(r!.response_body, 'base64').equals(bytes.subarray(0, 4096)));
      assert.equal(r!.url_path, '/file');
      assert.equal(apitoolkit.stats().truncatedBodies, 1);
    });

    test('ignorePaths and ignoreMethods skip requests; enabled: false is a pass-through', async (t) => {
      const { transport, apitoolkit } = client(t, { ignorePaths: ['/users/:id', /^\/orgs\//], ignoreMethods: ['head'] });
      const url = await serve(t, buildApp(express, apitoolkit));
      await fetch(`${url}/users/1`);
      await fetch(`${url}/orgs/a/projects/b`);
      await fetch(`${url}/stream`, { method: 'HEAD' });
      await fetch(`${url}/piped`);
      const records = await transport.waitForRecords(1);
      await sleep(50);
      assert.deepEqual(
        transport.records().map((r) => r.raw_url),
        ['/piped'],
      );
      assert.equal(records.length, 1);
      const off = new APIToolkit({ enabled: false });
      assert.equal(off.stats().state, 'disabled');
      const offUrl = await serve(t, buildApp(express, off));
      assert.equal(await (await fetch(`${offUrl}/stream`)).text(), 'part one, part two, end');
      assert.equal((await fetch(`${offUrl}/boom`)).status, 500);
      assert.equal(off.stats().captured, 0);
    });
  });
}

for (const { name, express } of expressVersions) {
  describe(`${name}: the response hooks sit on Express's own response prototype`, () => {
    // Express sets a prototype of its own on every response, which gives each a map of its own in
    // V8: a property added per request is a map transition made at run time. The write/end hooks
    // go once on express.response instead (src/core/capture.ts, onPrototype).
    const base = express.response as object;

    test('no hook property on a response; on express.response while the client runs, gone after shutdown', async (t) => {
      assert.equal(Object.hasOwn(base, 'write'), false, 'a client of an earlier test left its hooks');
      const { transport, apitoolkit } = client(t);
      const own: string[][] = [];
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/users/:id', (req, res) => {
        own.push(['write', 'end'].filter((k) => Object.hasOwn(res, k)));
        res.json({ id: Number(req.params.id), token: 'x' });
      });
      const url = await serve(t, app);
      const body = await (await fetch(`${url}/users/1`)).text();
      assert.equal(body, '{"id":1,"token":"x"}');
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(unb64(record.response_body), body);
      assert.deepEqual(own, [[]]);
      assert.equal(typeof Object.getOwnPropertyDescriptor(base, 'write')?.value, 'function');
      assert.equal(typeof Object.getOwnPropertyDescriptor(base, 'end')?.value, 'function');
      await apitoolkit.shutdown(1_000);
      assert.equal(Object.hasOwn(base, 'write'), false);
      assert.equal(Object.hasOwn(base, 'end'), false);
      // The app still answers, unobserved, byte for byte.
      assert.equal(await (await fetch(`${url}/users/2`)).text(), '{"id":2,"token":"x"}');
      // A request after shutdown puts nothing back.
      assert.equal(Object.hasOwn(base, 'write') || Object.hasOwn(base, 'end'), false);
    });

    test("node's end() patched after the hooks went on (as another tool would) is still called", async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/users/:id', (req, res) => res.json({ id: Number(req.params.id) }));
      const url = await serve(t, app);
      assert.equal(await (await fetch(`${url}/users/1`)).text(), '{"id":1}');
      await oneRecord(apitoolkit, transport);
      const original = ServerResponse.prototype.end;
      let calls = 0;
      ServerResponse.prototype.end = function (this: ServerResponse, ...args: unknown[]) {
        calls += 1;
        return original.apply(this, args as Parameters<typeof original>);
      } as typeof original;
      t.after(() => {
        ServerResponse.prototype.end = original;
      });
      assert.equal(await (await fetch(`${url}/users/2`)).text(), '{"id":2}');
      assert.equal(calls, 1);
    });

    test('a sub-app with the SDK: what the parent writes after the sub-app is done is recorded too', async (t) => {
      const { transport, apitoolkit } = client(t);
      const sub = express();
      sub.use(expressMiddleware(apitoolkit));
      sub.get('/fail', (_req, res, next) => {
        res.setHeader('content-type', 'text/plain');
        res.write('from the sub-app; ');
        next(new Error('handled by the parent'));
      });
      const app = express();
      app.use('/sub', sub);
      app.use((err: Error, _req: unknown, res: { end(s: string): void }, _next: unknown) => res.end(`from the parent: ${err.message}`));
      const url = await serve(t, app);
      const body = await (await fetch(`${url}/sub/fail`)).text();
      assert.equal(body, 'from the sub-app; from the parent: handled by the parent');
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(unb64(record.response_body), body);
    });

    test('an ignored path and another app without the SDK go through the hooks unchanged, recording nothing', async (t) => {
      const { transport, apitoolkit } = client(t, { ignorePaths: ['/skip'] });
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/skip', (_req, res) => {
        res.write('a,');
        res.end('b');
      });
      app.get('/keep', (_req, res) => res.send('kept'));
      const plain = express();
      plain.get('/x', (_req, res) => res.json({ plain: true }));
      const url = await serve(t, app);
      const plainUrl = await serve(t, plain);
      assert.equal(await (await fetch(`${url}/skip`)).text(), 'a,b');
      assert.equal(await (await fetch(`${plainUrl}/x`)).text(), '{"plain":true}');
      assert.equal(await (await fetch(`${url}/keep`)).text(), 'kept');
      const record = await oneRecord(apitoolkit, transport);
      assert.equal(record.raw_url, '/keep');
      assert.equal(unb64(record.response_body), 'kept');
    });

    test('compression mounted before the SDK keeps the prototype hook as its original: no loop, the plain body recorded', async (t) => {
      const { transport, apitoolkit } = client(t);
      const app = express();
      app.use('/pre', compression({ threshold: 0 }));
      app.use(expressMiddleware(apitoolkit));
      app.get('/first', (_req, res) => res.send('hooks the prototype'));
      app.get('/pre/text', (_req, res) => {
        res.type('text/plain');
        res.write('x'.repeat(2_000));
        res.end('tail');
      });
      const url = await serve(t, app);
      await fetch(`${url}/first`);
      const response = await fetch(`${url}/pre/text`, { headers: { 'accept-encoding': 'gzip' }, signal: AbortSignal.timeout(5_000) });
      assert.equal(response.headers.get('content-encoding'), 'gzip');
      assert.equal(await response.text(), `${'x'.repeat(2_000)}tail`);
      const records = await transport.waitForRecords(2);
      assert.deepEqual(
        records.map((r) => r.raw_url),
        ['/first', '/pre/text'],
      );
      assert.equal(unb64(records[1]!.response_body), `${'x'.repeat(2_000)}tail`);
    });

    test('two clients on one app each record the whole body, also after the first is shut down', async (t) => {
      const one = client(t);
      const two = client(t);
      const app = express();
      app.use(expressMiddleware(one.apitoolkit), expressMiddleware(two.apitoolkit));
      app.get('/stream', (_req, res) => {
        res.write('part one, ');
        setTimeout(() => res.end('part two'), 5);
      });
      const url = await serve(t, app);
      assert.equal(await (await fetch(`${url}/stream`)).text(), 'part one, part two');
      for (const { apitoolkit, transport } of [one, two]) {
        assert.equal(unb64((await oneRecord(apitoolkit, transport)).response_body), 'part one, part two');
      }
      await one.apitoolkit.shutdown(1_000);
      assert.equal(await (await fetch(`${url}/stream`)).text(), 'part one, part two');
      const records = await two.transport.waitForRecords(2);
      assert.equal(unb64(records[1]!.response_body), 'part one, part two');
    });
  });
}

describe('adapter set-up', () => {
  test('something other than an APIToolkit fails at set-up, naming the call', () => {
    for (const bad of [undefined, {}, { apiKey: 'k' }]) {
      assert.throws(() => expressMiddleware(bad as never), /expressMiddleware\(client\).*APIToolkit instance/);
      assert.throws(() => expressErrorHandler(bad as never), /expressErrorHandler\(client\)/);
    }
  });
});

describe('start-up and shutdown', () => {
  test('records captured before metadata arrives are kept and sent once it does', async (t) => {
    const memory = new MemoryTransport();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: Transport = {
      start: async () => {
        await gate;
        return memory.start();
      },
      send: (m) => memory.send(m),
      shutdown: () => memory.shutdown(),
    };
    const apitoolkit = new APIToolkit({ transport: slow, flushIntervalMs: 0 });
    t.after(() => apitoolkit.shutdown(500));
    const { express } = expressVersions[1]!;
    const url = await serve(t, buildApp(express, apitoolkit));
    for (let i = 0; i < 5; i++) await fetch(`${url}/users/${i}`);
    assert.equal(apitoolkit.stats().state, 'starting');
    assert.equal(apitoolkit.stats().pending, 5);
    assert.equal(memory.records().length, 0);
    release();
    await apitoolkit.ready();
    const records = await memory.waitForRecords(5);
    assert.deepEqual(
      records.map((r) => r.raw_url),
      ['/users/0', '/users/1', '/users/2', '/users/3', '/users/4'],
    );
    assert.ok(records.every((r) => r.project_id === '00000000-0000-4000-8000-000000000000'));
  });

  test('records held during start-up are bounded by maxQueueBytes as well as maxQueueSize', async (t) => {
    const never: Transport = { start: () => new Promise(() => {}), send: async () => ({ ok: true }), shutdown: async () => {} };
    const apitoolkit = new APIToolkit({ transport: never, maxQueueBytes: 64 * 1024 });
    t.after(() => apitoolkit.shutdown(100));
    const url = await serve(t, buildApp(expressVersions[1]!.express, apitoolkit));
    for (let i = 0; i < 10; i++) await (await fetch(`${url}/big`)).arrayBuffer(); // ~400 KB of base64 each
    const stats = apitoolkit.stats();
    assert.equal(stats.pending, 0);
    assert.equal(stats.dropped.pending_overflow, 10);
    for (let i = 0; i < 5; i++) await fetch(`${url}/users/${i}`);
    assert.equal(apitoolkit.stats().pending, 5, 'small records still fit');
  });

  test('flush() during start-up waits for it, then sends what was captured meanwhile', async (t) => {
    const memory = new MemoryTransport();
    const slow: Transport = {
      start: async () => {
        await sleep(200);
        return memory.start();
      },
      send: (m) => memory.send(m),
      shutdown: () => memory.shutdown(),
    };
    const apitoolkit = new APIToolkit({ transport: slow, flushIntervalMs: 60_000 });
    t.after(() => apitoolkit.shutdown(500));
    const url = await serve(t, buildApp(expressVersions[0]!.express, apitoolkit));
    await fetch(`${url}/users/1`);
    assert.equal(apitoolkit.stats().pending, 1);
    assert.equal(await apitoolkit.flush(5_000), true);
    assert.equal(memory.records().length, 1);
  });

  test('a custom transport whose start() rejects: state failed, records dropped and counted, the app serves', async (t) => {
    const broken: Transport = {
      start: async () => {
        throw new Error('no route to collector');
      },
      send: async () => ({ ok: true }),
      shutdown: async () => {},
    };
    const errors: string[] = [];
    const apitoolkit = new APIToolkit({ transport: broken, onError: (e, { reason }) => errors.push(`${reason}: ${e.message}`) });
    t.after(() => apitoolkit.shutdown(500));
    await assert.rejects(apitoolkit.ready(), /no route to collector/);
    const url = await serve(t, buildApp(expressVersions[1]!.express, apitoolkit));
    assert.equal((await fetch(`${url}/users/1`)).status, 200);
    assert.equal(apitoolkit.stats().state, 'failed');
    assert.equal(apitoolkit.stats().captured, 0, 'capture stops once delivery is impossible');
    assert.ok(
      errors.some((e) => e.startsWith('start: no route to collector')),
      errors.join('\n'),
    );
  });

  test('shutdown flushes several hundred queued records and is safe to call twice', async (t) => {
    const transport = new MemoryTransport();
    const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 60_000, maxBatchSize: 1_000 });
    const { express } = expressVersions[0]!;
    const url = await serve(t, buildApp(express, apitoolkit));
    await Promise.all(Array.from({ length: 400 }, (_, i) => fetch(`${url}/users/${i}`).then((r) => r.arrayBuffer())));
    await until(() => apitoolkit.stats().captured === 400, '400 captured records');
    assert.equal(apitoolkit.stats().queued, 400);
    const [first, second] = await Promise.all([apitoolkit.shutdown(), apitoolkit.shutdown()]);
    assert.deepEqual(first, { flushed: true, dropped: 0 });
    assert.equal(first, second);
    assert.equal(transport.records().length, 400);
    assert.equal(apitoolkit.stats().published, 400);
    assert.equal(apitoolkit.stats().state, 'shut_down');
  });

  test('beforeSend can drop or edit a record; a throwing hook never reaches the app', async (t) => {
    const transport = new MemoryTransport();
    const apitoolkit = new APIToolkit({
      transport,
      flushIntervalMs: 0,
      beforeSend: (r: ApiRecord) => {
        if (r.raw_url.includes('drop')) return null;
        if (r.raw_url.includes('throw')) throw new Error('hook bug');
        return { ...r, tags: ['edited'] };
      },
    });
    t.after(() => apitoolkit.shutdown(500));
    const { express } = expressVersions[1]!;
    const url = await serve(t, buildApp(express, apitoolkit));
    assert.equal((await fetch(`${url}/users/drop`)).status, 200);
    assert.equal((await fetch(`${url}/users/throw`)).status, 200);
    assert.equal((await fetch(`${url}/users/keep`)).status, 200);
    const [r] = await transport.waitForRecords(1);
    assert.deepEqual(r!.tags, ['edited']);
    assert.equal(apitoolkit.stats().dropped.before_send, 1);
    assert.equal(apitoolkit.stats().dropped.hook_error, 1);
  });
});
