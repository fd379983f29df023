/**
 * The Next.js adapter beyond the conformance table: templates of catch-all, optional catch-all and
 * grouped routes, the `route` option, redirect()/notFound(), a response that really streams,
 * Pages Router API routes (params from req.query, parsed and raw bodies, errors, reportError),
 * and misuse. The app is test/fixtures/next-app, built and served by Next (`next build`,
 * `next start`); its client sends to a local collector in this process.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { APIToolkit, MemoryTransport, OptionsInvalidError, type ApiRecord } from '../../src/index.js';
import { nextApiHandler, nextRouteHandler } from '../../src/adapters/next/index.js';
import { nextTemplate } from '../../src/adapters/next/route.js';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { buildNextApp, startNextApp, type NextApp } from '../fixtures/next-app/harness.js';

const R = '[CLIENT_REDACTED]';
const decode = (b64: string) => Buffer.from(b64, 'base64').toString();

describe('nextTemplate: the route template from the URL path and params', () => {
  const cases: [string, Record<string, string | string[] | undefined>, string, Record<string, string>][] = [
    ['/users/42', { id: '42' }, '/users/[id]', { id: '42' }],
    [
      '/orgs/acme/projects/p9',
      { orgId: 'acme', projectId: 'p9' },
      '/orgs/[orgId]/projects/[projectId]',
      { orgId: 'acme', projectId: 'p9' },
    ],
    ['/files/a/b%20c', { path: ['a', 'b c'] }, '/files/[...path]', { path: 'a/b c' }],
    ['/shop/7/files/x/y', { shop: '7', path: ['x', 'y'] }, '/shop/[shop]/files/[...path]', { shop: '7', path: 'x/y' }],
    ['/docs', {}, '/docs', {}],
    ['/', {}, '/', {}],
    ['/static/page/', {}, '/static/page', {}],
    ['/users/caf%C3%A9', { id: 'café' }, '/users/[id]', { id: 'café' }],
    ['/caf%C3%A9/menu', {}, '/café/menu', {}],
    // Equal values: each param takes the first segment after the previous param's.
    ['/a/1/b/1', { x: '1', y: '1' }, '/a/[x]/b/[y]', { x: '1', y: '1' }],
    ['/users/42', { id: '99' }, '/users/42', { id: '99' }],
  ];
  for (const [path, params, template, flat] of cases) {
    test(`${path} ${JSON.stringify(params)} -> ${template}`, () => {
      assert.deepEqual(nextTemplate(path, params), { template, params: flat });
    });
  }
  test('an explicit route wins', () => {
    assert.deepEqual(nextTemplate('/collide/collide', { name: 'collide' }, '/collide/[name]'), {
      template: '/collide/[name]',
      params: { name: 'collide' },
    });
    assert.equal(nextTemplate('/collide/collide', { name: 'collide' }).template, '/[name]/collide', 'the ambiguity the option is for');
  });
});

// The shapes `next build` checks a route file's exports against (.next/types/validator.ts, Next 16),
// NextRequest reduced to a Request: importing Next's types would bring its globals into this project.
type NextRequestLike = Request & { nextUrl: URL };
interface RouteHandlerConfig<Params> {
  GET?: (request: NextRequestLike, context: { params: Promise<Params> }) => Promise<Response | undefined> | Response | undefined;
}

describe('the wrappers as Next calls them', () => {
  test('they fit the exports Next type-checks, with or without annotations', () => {
    const client = new APIToolkit({ enabled: false });
    const annotated = {
      GET: nextRouteHandler(client, async (_request: Request, { params }: { params: Promise<{ id: string }> }) =>
        Response.json(await params),
      ),
    } satisfies RouteHandlerConfig<{ id: string }>;
    const inferred = {
      GET: nextRouteHandler(client, async (_request, { params }) => Response.json((await params).slug ?? null)),
    } satisfies RouteHandlerConfig<{ slug?: string[] }>;
    assert.equal(annotated.GET.name, 'apitoolkitNextRoute');
    assert.equal(inferred.GET.name, 'apitoolkitNextRoute');
    assert.equal(nextApiHandler(client, () => {}).name, 'apitoolkitNextApi');
  });

  test('params as a plain object (Next 14) work as the promise of Next 15+ does', async (t) => {
    const transport = new MemoryTransport();
    const client = new APIToolkit({ transport, flushIntervalMs: 0 });
    t.after(() => client.shutdown(1_000));
    const GET = nextRouteHandler(client, (_request, { params }) => Response.json(params));
    const response = await GET(new Request('http://localhost/users/42?x=1'), { params: { id: '42' } });
    assert.deepEqual(await response.json(), { id: '42' });
    const [record] = await transport.waitForRecords(1);
    assert.equal(record!.url_path, '/users/[id]');
    assert.deepEqual(record!.path_params, { id: '42' });
    assert.deepEqual(record!.query_params, { x: ['1'] });
  });
});

describe('misuse', () => {
  test('a wrapper without a client fails at once, naming itself', () => {
    assert.throws(
      () => nextRouteHandler({} as never, () => new Response()),
      (error: unknown) => error instanceof OptionsInvalidError && /nextRouteHandler\(client\)/.test(error.message),
    );
    assert.throws(
      () => nextApiHandler(undefined as never, () => {}),
      (error: unknown) => error instanceof OptionsInvalidError && /nextApiHandler\(client\)/.test(error.message),
    );
  });
});

describe('a Next app: App Router route handlers and Pages API routes', () => {
  let collector: Collector;
  let app: NextApp;
  before(async () => {
    const distDir = await buildNextApp();
    collector = await startCollector({ inspector: false });
    app = await startNextApp(distDir, { APITOOLKIT_ROOT_URL: collector.rootURL, APITOOLKIT_PUBSUB_ENDPOINT: collector.pubsubEndpoint });
  });
  after(async () => {
    await app?.close();
    await collector?.close();
  });

  /** One request and the one record it left. */
  async function exchange(
    path: string,
    init: RequestInit = {},
    rawUrl = path,
  ): Promise<{ response: Response; body: string; record: ApiRecord }> {
    collector.clear();
    const response = await fetch(`${app.url}${path}`, { redirect: 'manual', ...init });
    const body = await response.text();
    const [record] = await collector.waitForRecords(1, 10_000);
    const flushed = await fetch(`${app.url}/apitoolkit-flush`);
    assert.equal(((await flushed.json()) as { flushed: boolean }).flushed, true);
    assert.equal(collector.records().length, 1, 'one record');
    assert.equal(record!.raw_url, rawUrl);
    assert.equal(record!.sdk_type, 'JsNext');
    return { response, body, record: record! };
  }

  test('catch-all: [...name], the segments joined as the param', async () => {
    const { body, record } = await exchange('/files/a/b%20c?v=1');
    assert.deepEqual(JSON.parse(body), { path: ['a', 'b c'] });
    assert.equal(record.url_path, '/files/[...path]');
    assert.deepEqual(record.path_params, { path: 'a/b c' });
    assert.deepEqual(record.query_params, { v: ['1'] });
  });

  test('optional catch-all: with segments it reads as [...name], empty it is left out', async () => {
    const empty = await exchange('/docs');
    assert.equal(empty.record.url_path, '/docs');
    assert.deepEqual(empty.record.path_params, {});
    const full = await exchange('/docs/intro/setup');
    assert.equal(full.record.url_path, '/docs/[...slug]');
    assert.deepEqual(full.record.path_params, { slug: 'intro/setup' });
  });

  test('route groups stay out of the template', async () => {
    const { body, record } = await exchange('/grouped');
    assert.equal(body, 'grouped');
    assert.equal(record.url_path, '/grouped');
  });

  test('the route option wins where the URL is ambiguous', async () => {
    const { record } = await exchange('/collide/collide');
    assert.equal(record.url_path, '/collide/[name]');
    assert.deepEqual(record.path_params, { name: 'collide' });
  });

  test('redirect() and notFound() are recorded with the status Next answers, as no error', async () => {
    const redirected = await exchange('/redirect');
    assert.equal(redirected.response.status, 307);
    assert.equal(redirected.response.headers.get('location'), '/users/1');
    assert.equal(redirected.record.status_code, 307);
    assert.deepEqual(redirected.record.errors, []);
    const missing = await exchange('/missing');
    assert.equal(missing.response.status, 404);
    assert.equal(missing.record.status_code, 404);
    assert.equal(missing.record.url_path, '/missing');
    assert.deepEqual(missing.record.errors, []);
  });

  test('a streamed response reaches the client chunk by chunk', async () => {
    collector.clear();
    const id = `gate-${process.pid}`;
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${app.url}/gate/open?id=${id}`, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // The handler writes `second` only after this request: `first,` came through on its own.
          if (text === '') void fetch(`${app.url}/gate/release?id=${id}`).then((r) => r.text());
          text += chunk;
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(received, 'first,second');
    const [record] = await collector.waitForRecords(1, 10_000);
    assert.equal(record!.url_path, '/gate/open');
    assert.equal(decode(record!.response_body), 'first,second');
  });

  test('Pages API route: params from req.query, the query string apart, redaction', async () => {
    const { response, body, record } = await exchange('/api/pages/users/42?x=1&x=2', { headers: { 'x-api-key': 'k-1' } });
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(body).token, 'secret-token', 'the client gets the real response');
    assert.equal(record.url_path, '/api/pages/users/[id]');
    assert.deepEqual(record.path_params, { id: '42' });
    assert.deepEqual(record.query_params, { x: ['1', '2'] });
    assert.deepEqual(JSON.parse(decode(record.response_body)), { id: '42', token: R, body: null });
    assert.deepEqual(record.request_headers['x-api-key'], [R]);
    assert.deepEqual(record.response_headers['set-cookie'], [R]);
  });

  test('Pages API route: a path param wins over a query param of the same name', async () => {
    // Next removes the query param from req.url before the handler runs: the record never sees it.
    const { body, record } = await exchange('/api/pages/users/42?id=9&x=1', {}, '/api/pages/users/42?x=1');
    assert.equal(JSON.parse(body).id, '42');
    assert.equal(record.url_path, '/api/pages/users/[id]');
    assert.deepEqual(record.path_params, { id: '42' });
    assert.deepEqual(record.query_params, { x: ['1'] });
  });

  test('Pages API route: the body Next parsed is recorded, redacted', async () => {
    const { response, body, record } = await exchange('/api/pages/users/7', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', password: 'hunter2' }),
    });
    assert.equal(response.status, 201);
    assert.deepEqual(JSON.parse(body).body, { name: 'ada', password: 'hunter2' }, 'the app read the real body');
    assert.deepEqual(JSON.parse(decode(record.request_body)), { name: 'ada', password: R });
    assert.equal(record.status_code, 201);
  });

  test('Pages API route with bodyParser: false: the raw bytes as the app read them', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const { body, record } = await exchange('/api/pages/raw', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.deepEqual(JSON.parse(body), { size: 256 });
    assert.equal(record.url_path, '/api/pages/raw');
    assert.deepEqual(Buffer.from(record.request_body, 'base64'), Buffer.from(bytes));
  });

  test('Pages API catch-all route', async () => {
    const { record } = await exchange('/api/pages/files/a/b');
    assert.equal(record.url_path, '/api/pages/files/[...path]');
    assert.deepEqual(record.path_params, { path: 'a/b' });
  });

  test('Pages API route: a thrown error is recorded with its cause and Next answers 500', async () => {
    const { response, record } = await exchange('/api/pages/users/1?fail=1');
    assert.equal(response.status, 500);
    assert.equal(record.status_code, 500);
    assert.equal(record.errors.length, 1);
    assert.equal(record.errors[0]!.message, 'pages failure');
    assert.equal(record.errors[0]!.root_error_type, 'TypeError');
    assert.equal(record.errors[0]!.root_error_message, 'pages cause');
  });

  test('Pages API route: reportError inside the request', async () => {
    const { record } = await exchange('/api/pages/users/1?report=1');
    assert.equal(record.status_code, 200);
    assert.deepEqual(
      record.errors.map((e) => [e.error_type, e.message]),
      [['RangeError', 'reported from pages']],
    );
  });
});
