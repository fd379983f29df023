/**
 * captureOutgoing and the outgoing rules: validation at construction, nothing subscribed when off,
 * everything unsubscribed on shutdown, `axios: true`, axios alone, and the bodies node:http lets
 * us see where Node publishes `http.client.request.created`.
 */
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { request as httpRequest } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import axios from 'axios';
import {
  APIToolkit,
  MemoryTransport,
  OptionsInvalidError,
  RedactPathInvalidError,
  type APIToolkitOptions,
  type ApiRecord,
} from '../../src/index.js';
import { until } from '../helpers/wait.js';
import { call, unb64, upstream, viaFetch, viaHttp } from './helpers.js';

const CHANNELS = [
  'undici:request:create',
  'undici:request:bodyChunkSent',
  'undici:request:headers',
  'undici:request:bodyChunkReceived',
  'undici:request:trailers',
  'undici:request:error',
  'http.client.request.created',
  'http.client.request.start',
  'http.client.response.finish',
];
const transport = new MemoryTransport();

function subscribed(): string[] {
  return CHANNELS.filter((name) => dc.hasSubscribers(name));
}

function interceptors(instance: { interceptors: unknown }): number[] {
  const { request, response } = instance.interceptors as { request: { handlers: unknown[] }; response: { handlers: unknown[] } };
  return [request.handlers.filter(Boolean).length, response.handlers.filter(Boolean).length];
}

function client(t: TestContext, options: APIToolkitOptions) {
  const records = new MemoryTransport();
  const apitoolkit = new APIToolkit({ transport: records, flushIntervalMs: 0, ...options });
  t.after(() => apitoolkit.shutdown(1_000));
  return { records, apitoolkit };
}

async function recordsWhere(records: MemoryTransport, predicate: (r: ApiRecord) => boolean, count: number): Promise<ApiRecord[]> {
  let found: ApiRecord[] = [];
  await until(() => (found = records.records().filter(predicate)).length >= count, `${count} matching record(s)`);
  return found;
}

describe('validation', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['captureOutgoing', { captureOutgoing: true }, /expected an object.*got boolean true/],
    ['captureOutgoing', { captureOutgoing: ['fetch'] }, /got an array/],
    ['captureOutgoing.fetch', { captureOutgoing: { fetch: 'yes' } }, /boolean.*"yes"/],
    ['captureOutgoing.http', { captureOutgoing: { http: 1 } }, /boolean.*number 1/],
    ['captureOutgoing.axios', { captureOutgoing: { axios: {} } }, /axios instance.*got an object/],
    ['captureOutgoing.axios', { captureOutgoing: { axios: 'default' } }, /axios instance.*"default"/],
    ['captureOutgoing.axios', { captureOutgoing: { axios: [] } }, /axios instance.*an array/],
    ['captureOutgoing.axios', { captureOutgoing: { axios: [axios, 7] } }, /axios instance.*an array/],
    ['captureOutgoing.undici', { captureOutgoing: { undici: true } }, /unknown client/],
    ['redactOutgoingHeaders', { redactOutgoingHeaders: 'authorization' }, /array of strings/],
    ['redactOutgoingHeaders[0]', { redactOutgoingHeaders: [7] }, /number 7/],
    ['redactOutgoingResponseBody[1]', { redactOutgoingResponseBody: ['$.a', ''] }, /non-empty string/],
    ['outgoingUrlPatterns[0]', { outgoingUrlPatterns: ['users/:id'] }, /path starting with/],
    ['outgoingUrlPatterns', { outgoingUrlPatterns: '/users/:id' }, /array of strings/],
  ];
  for (const [option, input, message] of bad) {
    test(`bad ${option}: a coded error naming the option and the value`, () => {
      assert.throws(
        () => new APIToolkit({ transport, ...input } as never),
        (error: unknown) => {
          assert.ok(error instanceof OptionsInvalidError, String(error));
          assert.equal(error.code, 'APITOOLKIT_ERR_OPTIONS_INVALID');
          assert.equal(error.option, option);
          assert.match(error.message, message);
          return true;
        },
      );
      assert.deepEqual(subscribed(), [], 'a refused construction leaves nothing subscribed');
    });
  }

  test('an outgoing JSONPath that cannot be compiled names the outgoing option', () => {
    for (const option of ['redactOutgoingRequestBody', 'redactOutgoingResponseBody'] as const) {
      assert.throws(
        () => new APIToolkit({ transport, [option]: ['$.ok', '$[?'] }),
        (error: unknown) => {
          assert.ok(error instanceof RedactPathInvalidError, String(error));
          assert.equal(error.code, 'APITOOLKIT_ERR_REDACT_PATH_INVALID');
          assert.equal(error.option, `${option}[1]`);
          assert.equal(error.path, '$[?');
          assert.match(error.message, new RegExp(`${option}\\[1\\]`));
          return true;
        },
      );
    }
  });

  test('rules are validated even with capture off or the SDK disabled', () => {
    assert.throws(() => new APIToolkit({ enabled: false, outgoingUrlPatterns: ['/a/:x/:x'] }), OptionsInvalidError);
    assert.throws(() => new APIToolkit({ enabled: false, captureOutgoing: { fetch: 'no' } as never }), OptionsInvalidError);
  });
});

describe('installation', () => {
  test('off by default, and with everything false: no channel subscribed, no interceptor added', async (t) => {
    const before = interceptors(axios);
    client(t, {});
    client(t, { captureOutgoing: {} });
    client(t, { captureOutgoing: { fetch: false, http: false, axios: false } });
    client(t, { enabled: false, captureOutgoing: { fetch: true, http: true, axios: true } });
    assert.deepEqual(subscribed(), []);
    assert.deepEqual(interceptors(axios), before);
  });

  test('shutdown() unsubscribes every channel and ejects every interceptor', async (t) => {
    const instance = axios.create();
    const before = [interceptors(axios), interceptors(instance)];
    const { apitoolkit } = client(t, { captureOutgoing: { fetch: true, http: true, axios: [instance] } });
    assert.deepEqual(subscribed(), CHANNELS);
    assert.deepEqual(interceptors(instance), [before[1]![0]! + 1, before[1]![1]! + 1]);
    assert.deepEqual(interceptors(axios), before[0], 'only the instance given');
    await apitoolkit.shutdown(1_000);
    assert.deepEqual(subscribed(), []);
    assert.deepEqual([interceptors(axios), interceptors(instance)], before);
  });

  test('after shutdown() calls are no longer recorded', async (t) => {
    const u = await upstream(t);
    const { records, apitoolkit } = client(t, { captureOutgoing: { fetch: true } });
    await viaFetch({ url: `${u.url}/users/1?when=before` });
    await recordsWhere(records, (r) => r.raw_url.endsWith('when=before'), 1);
    await apitoolkit.shutdown(1_000);
    await viaFetch({ url: `${u.url}/users/1?when=after` });
    assert.equal(records.records().filter((r) => r.raw_url.endsWith('when=after')).length, 0);
  });
});

describe('axios', () => {
  test('axios: true watches the default instance; a created instance is not watched', async (t) => {
    const u = await upstream(t);
    const before = interceptors(axios);
    const { records } = client(t, { captureOutgoing: { axios: true } });
    // This file imports axios's ESM copy; `true` finds it through import(), a few ticks later.
    await until(() => interceptors(axios)[0] === before[0]! + 1, 'the default instance to be watched');
    assert.deepEqual(interceptors(axios), [before[0]! + 1, before[1]! + 1]);
    const other = axios.create();
    await call('axios', { url: `${u.url}/users/11?by=default` }, other);
    await call('axiosInstance', { url: `${u.url}/users/12?by=created` }, other);
    const [r] = await recordsWhere(records, (x) => x.raw_url.endsWith('by=default'), 1);
    assert.equal(r!.sdk_type, 'JsAxiosOutgoing');
    assert.equal(r!.url_path, '/users/:id');
    assert.equal(records.records().filter((x) => x.raw_url.endsWith('by=created')).length, 0);
  });

  test('axios alone: its calls keep their wire-level details, other node:http and fetch calls are not recorded', async (t) => {
    const u = await upstream(t);
    const instance = axios.create({ baseURL: u.url });
    const { records, apitoolkit } = client(t, { captureOutgoing: { axios: instance } });
    const seen = await instance.get('/users/21', { params: { q: 'x y' } });
    assert.equal(seen.status, 200);
    await viaHttp({ url: `${u.url}/users/22?client=http` });
    await viaFetch({ url: `${u.url}/users/23?client=fetch` });
    const [r] = await recordsWhere(records, (x) => x.url_path === '/users/:id', 1);
    assert.equal(r!.sdk_type, 'JsAxiosOutgoing');
    assert.equal(r!.raw_url, `${u.url}/users/21?q=x+y`);
    assert.deepEqual(r!.query_params, { q: ['x y'] });
    assert.deepEqual(r!.request_headers.host, [u.host], 'headers as sent on the wire');
    assert.deepEqual(JSON.parse(unb64(r!.response_body)).id, '21');
    assert.equal(await apitoolkit.flush(1_000), true);
    assert.deepEqual(
      records.records().map((x) => x.raw_url),
      [`${u.url}/users/21?q=x+y`],
    );
  });

  test('responseType stream: the record waits for the body the app reads after axios resolved', async (t) => {
    const u = await upstream(t);
    const instance = axios.create();
    const { records, apitoolkit } = client(t, { captureOutgoing: { axios: instance, http: true } });
    const res = await instance.get(`${u.url}/stream`, { responseType: 'stream' });
    assert.equal(await apitoolkit.flush(1_000), true);
    assert.equal(records.records().length, 0, 'nothing yet: the body is still on its way');
    let text = '';
    for await (const chunk of res.data as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    assert.equal(text, 'chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;');
    const [r] = await recordsWhere(records, (x) => x.url_path === '/stream', 1);
    assert.equal(r!.sdk_type, 'JsAxiosOutgoing');
    assert.equal(unb64(r!.response_body), text);
    assert.equal(await apitoolkit.flush(1_000), true);
    assert.equal(records.records().length, 1, 'one record: the node:http one is folded into it');
  });

  test('a config reused for a retry is recorded again, as its own call', async (t) => {
    const u = await upstream(t);
    const instance = axios.create();
    const { records } = client(t, { captureOutgoing: { axios: instance } });
    const first = await instance.get(`${u.url}/users/31?retry=1`).catch((e: unknown) => e);
    const again = await instance.request((first as { config: object }).config);
    assert.equal(again.status, 200);
    const both = await recordsWhere(records, (x) => x.raw_url.endsWith('retry=1'), 2);
    assert.equal(both.length, 2);
    assert.ok(both.every((x) => x.sdk_type === 'JsAxiosOutgoing' && x.status_code === 200 && x.request_headers.host !== undefined));
    assert.notEqual(both[0]!.msg_id, both[1]!.msg_id);
  });
});

describe('bodies and limits', () => {
  test('where Node publishes http.client.request.created, node:http request bodies are teed as written', async (t) => {
    const u = await upstream(t);
    const { records } = client(t, { captureOutgoing: { http: true }, redactOutgoingRequestBody: ['$.password'] });
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(`${u.url}/users/41?created=1`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      // What Node 22.12+/23.2+ does inside the ClientRequest constructor; Node 20 never publishes it.
      dc.channel('http.client.request.created').publish({ request: req });
      req.write('{"password":"hunter2",');
      req.end(Buffer.from('"user":"ada"}'));
    });
    assert.equal(status, 200);
    const [r] = await recordsWhere(records, (x) => x.raw_url.endsWith('created=1'), 1);
    assert.deepEqual(JSON.parse(unb64(r!.request_body)), { password: '[CLIENT_REDACTED]', user: 'ada' });
    assert.equal(u.seen.at(-1)!.body, '{"password":"hunter2","user":"ada"}');
  });

  test('maxBodyBytes and captureResponseBody apply to outgoing calls', async (t) => {
    const u = await upstream(t);
    const { records, apitoolkit } = client(t, { captureOutgoing: { fetch: true }, maxBodyBytes: 10, captureResponseBody: false });
    const outcome = await viaFetch({ url: `${u.url}/users/51?cap=1`, method: 'PUT', body: 'x'.repeat(100) });
    assert.equal(outcome.status, 200);
    const [r] = await recordsWhere(records, (x) => x.raw_url.endsWith('cap=1'), 1);
    assert.equal(unb64(r!.request_body), 'x'.repeat(10));
    assert.equal(r!.response_body, '');
    assert.equal(apitoolkit.stats().truncatedBodies, 1);
  });

  test('beforeSend sees outgoing records like any other', async (t) => {
    const u = await upstream(t);
    const { records } = client(t, {
      captureOutgoing: { fetch: true },
      beforeSend: (record) => (record.sdk_type === 'JsFetchOutgoing' && record.raw_url.includes('drop=1') ? null : record),
    });
    await viaFetch({ url: `${u.url}/users/61?drop=1` });
    await viaFetch({ url: `${u.url}/users/62?drop=0` });
    await recordsWhere(records, (x) => x.raw_url.endsWith('drop=0'), 1);
    assert.equal(records.records().filter((x) => x.raw_url.endsWith('drop=1')).length, 0);
  });
});
