/**
 * Outgoing calls made by an Express app with fetch, node:http and axios (the default instance and a
 * created one), against a real upstream on loopback: one record per call, linked to the request
 * being served, templated and redacted; failures recorded with their error and status 0; and the
 * app sees exactly what it sees without the SDK.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import axios, { type AxiosInstance } from 'axios';
import { APIToolkit, MemoryTransport, type ApiRecord } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { closedPort } from '../helpers/emulator.js';
import { expressVersions } from '../helpers/express.js';
import { until } from '../helpers/wait.js';
import {
  SDK_TYPES,
  call,
  startUpstream,
  unb64,
  viaFetch,
  viaHttp,
  type CallSpec,
  type ClientName,
  type Outcome,
  type Upstream,
} from './helpers.js';

type Express = (typeof expressVersions)[number]['express'];

const CLIENTS: ClientName[] = ['fetch', 'http', 'axios', 'axiosInstance'];
const REDACTED = '[CLIENT_REDACTED]';

/** Every scenario: what the handler calls. `refused` needs a port nothing listens on. */
function scenarios(u: Upstream, refusedPort: number): Record<string, CallSpec> {
  return {
    ok: {
      url: `${u.url}/users/42?expand=1&expand=2`,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer app-secret',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        cookie: 'sid=app-cookie',
        'x-upstream-key': 'key-sent-upstream',
      },
      body: JSON.stringify({ user: 'ada', password: 'hunter2', secret: 'only-an-incoming-rule' }),
    },
    stream: { url: `${u.url}/stream` },
    error500: { url: `${u.url}/fail` },
    cut: { url: `${u.url}/cut` },
    timeout: { url: `${u.url}/hang`, timeoutMs: 100 },
    dns: { url: 'http://upstream.invalid/users/1' },
    refused: { url: `http://127.0.0.1:${refusedPort}/users/1` },
    redirect: { url: `${u.url}/redirect` },
    gzip: { url: `${u.url}/gzip` },
  };
}

function buildApp(express: Express, apitoolkit: APIToolkit | undefined, specs: Record<string, CallSpec>, instance: AxiosInstance) {
  const app = express();
  if (apitoolkit !== undefined) app.use(expressMiddleware(apitoolkit));
  app.get('/call/:client/:scenario', async (req, res) => {
    const outcome = await call(req.params.client as ClientName, specs[req.params.scenario]!, instance);
    res.json(outcome);
  });
  return app;
}

async function listen(app: ReturnType<Express>): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * The incoming record of `path` and the outgoing records made under it, once `count` of them
 * arrived. A call's record is queued before the app gets its answer, so after the incoming record
 * (queued once the response closed) and a flush, every record of the request is there.
 */
async function recordsOf(
  apitoolkit: APIToolkit,
  transport: MemoryTransport,
  path: string,
  count: number,
): Promise<{ incoming: ApiRecord; outgoing: ApiRecord[] }> {
  let incoming: ApiRecord | undefined;
  const under = () => transport.records().filter((r) => r.parent_id === incoming!.msg_id);
  await until(() => {
    incoming = transport.records().find((r) => r.sdk_type === 'JsExpress' && r.raw_url === path);
    return incoming !== undefined && under().length >= count;
  }, `${count} outgoing record(s) under ${path}`);
  assert.equal(await apitoolkit.flush(1_000), true);
  return { incoming: incoming!, outgoing: under() };
}

for (const { name, version, express } of expressVersions) {
  describe(`outgoing calls from ${name} (${version})`, () => {
    let upstream: Upstream;
    let specs: Record<string, CallSpec>;
    let instance: AxiosInstance;
    let transport: MemoryTransport;
    let apitoolkit: APIToolkit;
    let appUrl: string;
    let server: Server;
    const baseline = new Map<string, Outcome>();

    before(async () => {
      upstream = await startUpstream();
      specs = scenarios(upstream, await closedPort());
      instance = axios.create();
      // What the app sees with no SDK at all, taken before any client subscribes or intercepts.
      const bare = await listen(buildApp(express, undefined, specs, instance));
      for (const client of CLIENTS) {
        for (const scenario of Object.keys(specs)) {
          const res = await fetch(`${bare.url}/call/${client}/${scenario}`);
          baseline.set(`${client}/${scenario}`, (await res.json()) as Outcome);
        }
      }
      await close(bare.server);

      transport = new MemoryTransport();
      apitoolkit = new APIToolkit({
        transport,
        flushIntervalMs: 0,
        captureOutgoing: { fetch: true, http: true, axios: [axios, instance] },
        redactOutgoingHeaders: ['X-Upstream-Key'],
        redactOutgoingRequestBody: ['$.password'],
        redactOutgoingResponseBody: ['$.token'],
        // Incoming rules do not reach outgoing records, and the other way round.
        redactRequestBody: ['$.secret'],
      });
      ({ url: appUrl, server } = await listen(buildApp(express, apitoolkit, specs, instance)));
    });

    after(async () => {
      await close(server);
      await apitoolkit.shutdown(1_000);
      await upstream.close();
    });

    for (const client of CLIENTS) {
      const sdkType = SDK_TYPES[client];
      const isAxios = client === 'axios' || client === 'axiosInstance';

      test(`${client}: a JSON POST is recorded once, linked, templated and redacted`, async () => {
        const path = `/call/${client}/ok`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/ok`));
        assert.equal(outcome.status, 200);
        const { incoming, outgoing } = await recordsOf(apitoolkit, transport, path, 1);
        assert.equal(outgoing.length, 1, `exactly one record for one call, got ${outgoing.map((r) => r.sdk_type)}`);
        const [r] = outgoing as [ApiRecord];
        assert.equal(r.sdk_type, sdkType);
        assert.equal(r.parent_id, incoming.msg_id);
        assert.notEqual(r.msg_id, incoming.msg_id);
        assert.equal(r.method, 'POST');
        assert.equal(r.host, upstream.host);
        assert.equal(r.url_path, '/users/:id');
        assert.deepEqual(r.path_params, { id: '42' });
        assert.equal(r.raw_url, `${upstream.url}/users/42?expand=1&expand=2`);
        assert.deepEqual(r.query_params, { expand: ['1', '2'] });
        assert.equal(r.status_code, 200);
        assert.deepEqual(r.errors, []);
        assert.ok(Number.isInteger(r.duration) && r.duration > 0);
        for (const header of ['authorization', 'proxy-authorization', 'cookie', 'x-upstream-key']) {
          assert.deepEqual(r.request_headers[header], [REDACTED], `request header ${header}`);
        }
        assert.deepEqual(r.request_headers['content-type'], ['application/json']);
        // Read from the node:http request axios made: the record has the wire-level headers.
        if (isAxios) assert.deepEqual(r.request_headers.host, [upstream.host]);
        assert.deepEqual(r.response_headers['set-cookie'], [REDACTED]);
        assert.deepEqual(r.response_headers['x-upstream-key'], [REDACTED]);
        assert.deepEqual(r.response_headers['content-type'], ['application/json']);
        if (client === 'http') {
          // Node 20 publishes http.client.request.start only once the body has gone out.
          assert.equal(r.request_body, '');
        } else {
          assert.deepEqual(JSON.parse(unb64(r.request_body)), { user: 'ada', password: REDACTED, secret: 'only-an-incoming-rule' });
        }
        assert.deepEqual(JSON.parse(unb64(r.response_body)), {
          id: '42',
          method: 'POST',
          body: { user: 'ada', password: 'hunter2', secret: 'only-an-incoming-rule' },
          token: REDACTED,
          query: '?expand=1&expand=2',
        });
        // The upstream got the real thing: redaction is on the copy only.
        const seen = upstream.seen.filter((s) => s.url === '/users/42?expand=1&expand=2').at(-1);
        assert.equal(seen?.headers.authorization, 'Bearer app-secret');
      });

      test(`${client}: a streamed body is recorded whole, the app reads it unchanged`, async () => {
        const path = `/call/${client}/stream`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/stream`));
        assert.equal(outcome.body, 'chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;');
        const {
          outgoing: [r],
        } = await recordsOf(apitoolkit, transport, path, 1);
        assert.equal(r!.sdk_type, sdkType);
        assert.equal(r!.status_code, 200);
        assert.equal(r!.url_path, '/stream');
        assert.equal(unb64(r!.response_body), 'chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;');
      });

      test(`${client}: a 500 is recorded with its body${isAxios ? ' and the error axios throws' : ''}`, async () => {
        const path = `/call/${client}/error500`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/error500`));
        const { outgoing } = await recordsOf(apitoolkit, transport, path, 1);
        assert.equal(outgoing.length, 1);
        const [r] = outgoing as [ApiRecord];
        assert.equal(r.status_code, 500);
        assert.deepEqual(JSON.parse(unb64(r.response_body)), { error: 'upstream broke' });
        if (isAxios) {
          assert.equal(r.errors.length, 1);
          assert.equal(r.errors[0]!.error_type, 'AxiosError');
          assert.match(r.errors[0]!.message, /status code 500/);
        } else {
          assert.deepEqual(r.errors, []);
        }
      });

      test(`${client}: a socket closed mid-body is recorded with the part received and the error`, async () => {
        const path = `/call/${client}/cut`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/cut`));
        assert.ok(outcome.error !== undefined, 'the app gets an error');
        const {
          outgoing: [r],
        } = await recordsOf(apitoolkit, transport, path, 1);
        assert.equal(r!.sdk_type, sdkType);
        // The upstream did answer: its status stays; the failure is in errors.
        assert.equal(r!.status_code, 200);
        assert.ok(r!.errors.length >= 1);
        assert.equal(unb64(r!.response_body), 'partial');
      });

      test(`${client}: a client-side timeout is recorded with status 0 and the error`, async () => {
        const path = `/call/${client}/timeout`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/timeout`));
        assert.ok(outcome.error !== undefined);
        const { outgoing } = await recordsOf(apitoolkit, transport, path, 1);
        assert.equal(outgoing.length, 1);
        const [r] = outgoing as [ApiRecord];
        assert.equal(r.sdk_type, sdkType);
        assert.equal(r.status_code, 0);
        assert.equal(r.url_path, '/hang');
        assert.equal(r.response_body, '');
        assert.equal(r.errors[0]!.error_type, outcome.error!.type);
        assert.equal(r.errors[0]!.message, outcome.error!.message);
      });

      for (const [scenario, pattern] of [
        ['dns', /ENOTFOUND|EAI_AGAIN|EAI_FAIL/],
        ['refused', /ECONNREFUSED/],
      ] as const) {
        test(`${client}: ${scenario === 'dns' ? 'a DNS failure' : 'a refused connection'} is recorded with status 0 and the cause`, async () => {
          const path = `/call/${client}/${scenario}`;
          const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
          assert.deepEqual(outcome, baseline.get(`${client}/${scenario}`));
          assert.ok(outcome.error !== undefined);
          const { outgoing } = await recordsOf(apitoolkit, transport, path, 1);
          assert.equal(outgoing.length, 1);
          const [r] = outgoing as [ApiRecord];
          assert.equal(r.sdk_type, sdkType);
          assert.equal(r.status_code, 0);
          assert.equal(r.url_path, '/users/:id');
          assert.ok(r.errors.length >= 1);
          assert.match(`${r.errors[0]!.message} ${r.errors[0]!.root_error_message}`, pattern);
          if (isAxios) assert.equal(r.errors[0]!.error_type, 'AxiosError');
        });
      }

      test(`${client}: a redirect`, async () => {
        const path = `/call/${client}/redirect`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/redirect`));
        // fetch follows with a second request: one record per request on the wire. node:http does
        // not follow. axios follows, and its one record shows where it ended up.
        const expected = client === 'fetch' ? 2 : 1;
        const { incoming, outgoing } = await recordsOf(apitoolkit, transport, path, expected);
        assert.equal(outgoing.length, expected);
        const last = outgoing.at(-1)!;
        assert.ok(outgoing.every((r) => r.sdk_type === sdkType && r.parent_id === incoming.msg_id));
        if (client === 'http') {
          assert.equal(last.status_code, 302);
          assert.equal(last.url_path, '/redirect');
        } else {
          assert.equal(last.status_code, 200);
          assert.equal(last.raw_url, `${upstream.url}/users/7?via=redirect`);
          assert.equal(last.url_path, '/users/:id');
        }
        if (client === 'fetch') assert.equal(outgoing.find((r) => r.status_code === 302)?.url_path, '/redirect');
      });

      test(`${client}: a gzip body is recorded decompressed and redacted`, async () => {
        const path = `/call/${client}/gzip`;
        const outcome = (await (await fetch(appUrl + path)).json()) as Outcome;
        assert.deepEqual(outcome, baseline.get(`${client}/gzip`));
        const {
          outgoing: [r],
        } = await recordsOf(apitoolkit, transport, path, 1);
        assert.deepEqual(JSON.parse(unb64(r!.response_body)), { zipped: true, token: REDACTED });
        assert.deepEqual(r!.response_headers['content-encoding'], ['gzip']);
      });
    }

    test('20 concurrent requests, 2 calls each with random delays: every record has its own parent', async () => {
      const app = express();
      app.use(expressMiddleware(apitoolkit));
      app.get('/fan/:n', async (req, res) => {
        const n = req.params.n;
        const ms = () => Math.floor(Math.random() * 30);
        await new Promise((resolve) => setTimeout(resolve, ms()));
        const first = await viaFetch({ url: `${upstream.url}/slow/${n}?ms=${ms()}&from=${n}` });
        await new Promise((resolve) => setImmediate(resolve));
        const second =
          Number(n) % 2 === 0
            ? await viaHttp({ url: `${upstream.url}/slow/${n}?ms=${ms()}&from=${n}` })
            : await call('axiosInstance', { url: `${upstream.url}/slow/${n}?ms=${ms()}&from=${n}` }, instance);
        res.json({ first: first.status, second: second.status });
      });
      const fan = await listen(app);
      after(() => close(fan.server));
      const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => fetch(`${fan.url}/fan/${n}`).then((r) => r.json())));
      assert.ok(answers.every((a) => (a as { first: number; second: number }).first === 200 && (a as { second: number }).second === 200));

      let incoming: ApiRecord[] = [];
      let outgoing: ApiRecord[] = [];
      await until(() => {
        incoming = transport.records().filter((r) => r.sdk_type === 'JsExpress' && r.raw_url.startsWith('/fan/'));
        outgoing = transport.records().filter((r) => r.host === upstream.host && r.url_path === '/slow/:id');
        return incoming.length === 20 && outgoing.length === 40;
      }, '20 incoming and 40 outgoing records');
      const parentOf = new Map(incoming.map((r) => [r.path_params.n, r.msg_id]));
      for (const r of outgoing) {
        const n = r.query_params.from![0]!;
        assert.equal(r.parent_id, parentOf.get(n), `call from request ${n} (${r.sdk_type})`);
        assert.equal(r.path_params.id, n);
      }
      for (let n = 0; n < 20; n += 1) {
        const mine = outgoing
          .filter((r) => r.query_params.from![0] === String(n))
          .map((r) => r.sdk_type)
          .sort();
        assert.deepEqual(
          mine,
          n % 2 === 0 ? ['JsFetchOutgoing', 'JsHttpOutgoing'] : ['JsAxiosOutgoing', 'JsFetchOutgoing'],
          `request ${n}`,
        );
      }
    });

    test('a call outside any request has parent_id null', async () => {
      const before = transport.records().length;
      const fetched = await viaFetch({ url: `${upstream.url}/users/1?outside=fetch` });
      const got = await viaHttp({ url: `${upstream.url}/users/2?outside=http` });
      const viaAxios = await call('axios', { url: `${upstream.url}/users/3?outside=axios` }, instance);
      assert.deepEqual([fetched.status, got.status, viaAxios.status], [200, 200, 200]);
      let mine: ApiRecord[] = [];
      await until(() => {
        mine = transport
          .records()
          .slice(before)
          .filter((r) => r.raw_url.includes('outside='));
        return mine.length === 3;
      }, 'three records of calls made outside a request');
      assert.deepEqual(mine.map((r) => r.sdk_type).sort(), ['JsAxiosOutgoing', 'JsFetchOutgoing', 'JsHttpOutgoing']);
      assert.ok(mine.every((r) => r.parent_id === null));
    });
  });
}
