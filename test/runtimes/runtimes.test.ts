/**
 * The conformance suite on the real runtimes beside Node: Bun (Bun.serve with `fetchHandler` and
 * Hono; Express and Fastify with the Node adapters), Deno (Deno.serve, the package as
 * `npm:apitoolkit-node`, resolved to the Web build by the `deno` condition) and workerd, the
 * Cloudflare Workers runtime (the Worker bundled as wrangler does, with the `workerd` condition;
 * with `nodejs_compat` and without it, where the Web build brings its own Buffer and has no async
 * context). Each app sends to a local collector over loopback; the records are read there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { conformance } from '../conformance/run.js';
import { remoteApp } from '../conformance/targets/serve.js';
import { CONFORMANCE_OPTIONS, type Expectation, type Target } from '../conformance/spec.js';
import { bundleWorker, ensureBuilt, makeAppDir, startBun, startDeno, startWorkerd, type RuntimeServer } from '../helpers/runtimes.js';

/** One runtime target's suite may take this long (two processes, 18 scenarios). */
const SUITE_TIMEOUT_MS = 120_000;

let appDir: { dir: string; remove(): void } | undefined;
let bundled: Promise<void> | undefined;
before(async () => {
  await ensureBuilt();
  appDir = makeAppDir();
});
after(() => appDir?.remove());

const dir = (): string => appDir!.dir;

/**
 * A target served by a runtime process of its own: `launch(settings)` starts the app with a client
 * sending to `settings`' collector, or bare (no SDK at all) without settings.
 */
function runtimeTarget(
  name: string,
  sdkType: Target['sdkType'],
  launch: (settings: string | undefined) => Promise<RuntimeServer>,
  exceptions?: Target['exceptions'],
): Target {
  return {
    name,
    sdkType,
    template: (pattern) => pattern,
    exceptions,
    async start(apitoolkit) {
      if (apitoolkit === undefined) return launch(undefined);
      const collector: Collector = await startCollector({ inspector: false });
      let server: RuntimeServer;
      try {
        server = await launch(
          JSON.stringify({ ...CONFORMANCE_OPTIONS, rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint }),
        );
      } catch (error) {
        await collector.close();
        throw error;
      }
      return remoteApp(server, collector, server.controlUrl);
    },
  };
}

const env = (app: string, settings: string | undefined): Record<string, string> => ({
  APP: app,
  ...(settings === undefined ? {} : { APITOOLKIT_TEST: settings }),
});

const worker = (app: string, flags: string[]) => async (settings: string | undefined) => {
  bundled ??= bundleWorker(dir(), 'worker.mjs', 'worker.bundle.js');
  await bundled;
  return startWorkerd(
    dir(),
    { bundle: 'worker.bundle.js', bindings: env(app, settings), flags },
    `${app}-${flags.join('-')}-${settings === undefined ? 'bare' : 'sdk'}`,
  );
};

/** Workers without `nodejs_compat` have no async context: reportError() sees the request only before its first await. */
const noAsyncContext: Partial<Expectation> & { why: string } = {
  check: () => {},
  why: 'Workers without nodejs_compat (or nodejs_als) have no AsyncLocalStorage: reportError() after an await finds no request',
};

/** Deno and workerd: the SDK reads a clone of the response (see capture-web.ts) and cannot tell that the client left. */
const goneUnseen: Partial<Expectation> & { why: string } = {
  recorded: false,
  why: 'Deno and workerd tell no handler that its client left: a response body that never ends leaves no record',
};

const targets: Target[] = [
  runtimeTarget('Bun.serve + fetchHandler', 'JsFetch', (s) => startBun(dir(), 'bun-server.mjs', env('fetch', s))),
  runtimeTarget('Bun.serve + Hono', 'JsHono', (s) => startBun(dir(), 'bun-server.mjs', env('hono', s))),
  runtimeTarget('Bun + express 5 (Node adapter)', 'JsExpress', (s) =>
    startBun(dir(), new URL('../fixtures/runtimes/bun-node.ts', import.meta.url).pathname, {
      TARGET: 'express 5',
      ...(s === undefined ? {} : { APITOOLKIT_TEST: s }),
    }),
  ),
  runtimeTarget('Bun + fastify 5 (Node adapter)', 'JsFastify', (s) =>
    startBun(dir(), new URL('../fixtures/runtimes/bun-node.ts', import.meta.url).pathname, {
      TARGET: 'fastify 5',
      ...(s === undefined ? {} : { APITOOLKIT_TEST: s }),
    }),
  ),
  runtimeTarget('Deno.serve + fetchHandler', 'JsFetch', (s) => startDeno(dir(), 'deno-server.mjs', env('fetch', s)), {
    'aborted by the client mid-response': goneUnseen,
  }),
  runtimeTarget('Deno.serve + Hono', 'JsHono', (s) => startDeno(dir(), 'deno-server.mjs', env('hono', s)), {
    'aborted by the client mid-response': goneUnseen,
  }),
  runtimeTarget('workerd (nodejs_compat) + fetchHandler', 'JsFetch', worker('fetch', ['nodejs_compat']), {
    'aborted by the client mid-response': goneUnseen,
  }),
  runtimeTarget('workerd (nodejs_compat) + Hono', 'JsHono', worker('hono', ['nodejs_compat']), {
    'aborted by the client mid-response': goneUnseen,
  }),
  runtimeTarget('workerd (no compatibility flags) + fetchHandler', 'JsFetch', worker('fetch', []), {
    'reportError inside a request': noAsyncContext,
    'aborted by the client mid-response': goneUnseen,
  }),
];

for (const target of targets) conformance(target, { timeout: SUITE_TIMEOUT_MS });

test("Deno + Express: the Node adapter hands the Web build's client node:http capture", { timeout: 60_000 }, async () => {
  const collector = await startCollector({ inspector: false });
  const server = await startDeno(dir(), 'deno-express.mjs', {
    APITOOLKIT_TEST: JSON.stringify({ ...CONFORMANCE_OPTIONS, rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint }),
  });
  try {
    const got = await fetch(`${server.url}/users/42?x=1`, { headers: { 'x-api-key': 'key-secret' } });
    assert.deepEqual(await got.json(), { id: '42', token: 'secret-token' });
    const posted = await fetch(`${server.url}/users/7`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ada', password: 'hunter2' }),
    });
    assert.equal(posted.status, 201);
    const records = (await collector.waitForRecords(2, 10_000)).sort((a, b) => a.method.localeCompare(b.method));
    const decode = (b64: string): unknown => JSON.parse(Buffer.from(b64, 'base64').toString());
    assert.deepEqual(
      records.map((r) => [r.sdk_type, r.method, r.url_path]),
      [
        ['JsExpress', 'GET', '/users/:id'],
        ['JsExpress', 'POST', '/users/:id'],
      ],
    );
    assert.deepEqual(records[0]!.request_headers['x-api-key'], ['[CLIENT_REDACTED]']);
    assert.deepEqual(records[0]!.response_headers['set-cookie'], ['[CLIENT_REDACTED]']);
    assert.deepEqual(decode(records[0]!.response_body), { id: '42', token: '[CLIENT_REDACTED]' });
    assert.deepEqual(decode(records[1]!.request_body), { name: 'ada', password: '[CLIENT_REDACTED]' });
  } finally {
    await server.close();
    await collector.close();
  }
});
