import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { REDACTED, type ApiRecord } from '../../src/core/record.js';
import { OptionsInvalidError } from '../../src/core/errors.js';
import {
  checkRecord,
  formatRecord,
  shouldColor,
  startCollector,
  type Collector,
  type CollectorOptions,
} from '../../src/collector/index.js';
import { publishRecord as publishTo, restCall, restPublish } from '../helpers/pubsub-rest.js';
import { until } from '../helpers/wait.js';
import { startCli } from '../helpers/cli.js';
import { b64, makeRecord as sharedRecord } from '../inspector/helpers.js';

const TOPIC = 'apitoolkit-local';
const TOPIC_NAME = `projects/apitoolkit-local/topics/${TOPIC}`;

/** A POST with bodies, query arrays and a redacted header: the shared record with what these tests read. */
function makeRecord(overrides: Partial<ApiRecord> = {}): ApiRecord {
  return sharedRecord({
    method: 'POST',
    host: 'api.example.com',
    raw_url: '/users/42?tag=a&tag=b',
    query_params: { tag: ['a', 'b'] },
    request_headers: { 'content-type': ['application/json'], authorization: [REDACTED] },
    request_body: b64(JSON.stringify({ name: 'Ann', password: REDACTED })),
    response_body: b64(JSON.stringify({ id: 42, ok: true })),
    status_code: 201,
    ...overrides,
  });
}

async function start(t: TestContext, options: CollectorOptions = {}): Promise<Collector> {
  const collector = await startCollector(options);
  t.after(() => collector.close());
  return collector;
}

/** Publishes `record` to the collector over Pub/Sub's REST API; resolves with the message id. */
function publishRecord(collector: Collector, record: unknown): Promise<string> {
  return publishTo(collector.pubsubEndpoint, record);
}

async function isPending(promise: Promise<unknown>, ms = 100): Promise<boolean> {
  const pending = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((r) => setTimeout(() => r(pending), ms)),
  ]);
  return winner === pending;
}

describe("publish over Pub/Sub's REST API", () => {
  test('records arrive decoded exactly, in order, with the topic and message ids', async (t) => {
    const collector = await start(t);
    const sent = [
      makeRecord(),
      makeRecord({ method: 'GET', url_path: '', status_code: 404, request_body: '', parent_id: randomUUID(), sdk_type: 'JsFetchOutgoing' }),
      makeRecord({
        status_code: 500,
        service_version: 'v1.2.3',
        tags: ['beta'],
        errors: [
          {
            when: '2024-05-01T12:00:00Z',
            error_type: 'TypeError',
            message: 'x is undefined',
            root_error_type: 'RangeError',
            root_error_message: 'deep',
            stack_trace: 'TypeError: x\n    at f (a.js:1:1)',
          },
        ],
      }),
    ];
    const ids: string[] = [];
    for (const record of sent) ids.push(await publishRecord(collector, record));

    assert.deepEqual(collector.records(), sent);
    const messages = collector.messages();
    assert.deepEqual(
      messages.map((m) => m.messageId),
      ids,
    );
    assert.equal(new Set(ids).size, 3);
    assert.ok(messages.every((m) => m.topic === TOPIC_NAME));
    assert.deepEqual(messages[0]?.data, Buffer.from(JSON.stringify(sent[0])));
    assert.deepEqual(collector.stats(), { publishRequests: 3, messages: 3, metadataRequests: 0 });
    for (const record of collector.records()) assert.deepEqual(checkRecord(record), []);
  });

  test('attributes are kept on the raw message; URL-safe base64 is accepted as Google accepts it', async (t) => {
    const collector = await start(t);
    const { status } = await restPublish(collector.pubsubEndpoint, [
      { data: JSON.stringify(makeRecord()), attributes: { sdk: 'apitoolkit-node', city: 'Zürich 東京 🚀' } },
    ]);
    assert.equal(status, 200);
    // A body with UTF-8 beyond ASCII is read as UTF-8 (a body of ASCII only, as latin1).
    assert.deepEqual(collector.messages()[0]?.attributes, { sdk: 'apitoolkit-node', city: 'Zürich 東京 🚀' });
    const bytes = Buffer.from([0xfb, 0xff, 0xfe]);
    const urlSafe = await restCall(collector.pubsubEndpoint, 'POST', `${TOPIC_NAME}:publish`, {
      messages: [{ data: bytes.toString('base64url') }],
    });
    assert.equal(urlSafe.status, 200);
    assert.deepEqual(collector.messages()[1]?.data, bytes);
  });

  test('waitForRecords resolves when enough arrived and rejects on timeout, saying what did arrive', async (t) => {
    const collector = await start(t);
    const waiting = collector.waitForRecords(2, 5_000);
    assert.equal(await isPending(waiting, 50), true);
    const sent = [makeRecord(), makeRecord()];
    await Promise.all(sent.map((r) => publishRecord(collector, r)));
    const got = await waiting;
    assert.equal(got.length, 2);
    assert.deepEqual(new Set(got.map((r) => r.msg_id)), new Set(sent.map((r) => r.msg_id)));

    await assert.rejects(
      collector.waitForRecords(5, 50),
      /timed out after 50 ms waiting for 5 records; got 2 records from 2 messages in 2 publish requests/,
    );
  });

  test('a 2 MB record arrives intact', async (t) => {
    const collector = await start(t);
    const big = makeRecord({ response_body: randomBytes(2 * 1024 * 1024).toString('base64') });
    await publishRecord(collector, big);
    const [got] = await collector.waitForRecords(1);
    assert.deepEqual(got, big);
    assert.ok((collector.messages()[0]?.data.length ?? 0) > 2 * 1024 * 1024);
  });

  test('1000 records in one request all arrive; 1001, an empty list, a body over 10 MiB, bad base64 or bad JSON are refused as Google refuses them', async (t) => {
    const collector = await start(t);
    const sent = Array.from({ length: 1000 }, (_, i) => makeRecord({ raw_url: `/users/${i}` }));
    const ok = await restPublish(
      collector.pubsubEndpoint,
      sent.map((r) => ({ data: JSON.stringify(r) })),
    );
    assert.equal(ok.status, 200);
    assert.equal(new Set(ok.body.messageIds).size, 1000);
    assert.deepEqual(
      collector.records().map((r) => r.msg_id),
      sent.map((r) => r.msg_id),
    );
    assert.equal(collector.stats().publishRequests, 1);

    const refusals: Array<[string, Promise<{ status: number; body: any }>, RegExp]> = [
      [
        '1001 messages',
        restPublish(
          collector.pubsubEndpoint,
          Array.from({ length: 1001 }, () => ({ data: 'x' })),
        ),
        /maximum value is 1000/,
      ],
      ['no messages', restPublish(collector.pubsubEndpoint, []), /minimum value is 1/],
      ['an empty message', restPublish(collector.pubsubEndpoint, [{ data: '' }]), /must contain a non-empty data field/],
      [
        'over 10 MiB of body',
        restPublish(collector.pubsubEndpoint, [{ data: Buffer.alloc(8 * 1024 * 1024) }]),
        /Request payload size exceeds the limit: 10485760 bytes/,
      ],
      [
        'bad base64',
        restCall(collector.pubsubEndpoint, 'POST', `${TOPIC_NAME}:publish`, { messages: [{ data: 'not base64!' }] }),
        /Base64 decoding failed/,
      ],
      ['bad JSON', restCall(collector.pubsubEndpoint, 'POST', `${TOPIC_NAME}:publish`, '{"messages": ['), /Invalid JSON payload/],
      [
        'a topic id with a slash',
        restCall(collector.pubsubEndpoint, 'POST', 'projects/apitoolkit-local/topics/a%2Fb:publish', { messages: [{ data: 'eA==' }] }),
        /Invalid \[topics\] name: \(name=projects\/apitoolkit-local\/topics\/a\/b\)/,
      ],
    ];
    for (const [name, answer, message] of refusals) {
      const { status, body } = await answer;
      assert.equal(status, 400, name);
      assert.equal(body.error.status, 'INVALID_ARGUMENT', name);
      assert.equal(body.error.code, 400, name);
      assert.match(body.error.message, message, name);
    }
    assert.equal(collector.records().length, 1000, 'nothing of a refused request is stored');
  });

  test('maxKeptRecords keeps only the newest records in memory, counting them all', async (t) => {
    const collector = await start(t, { maxKeptRecords: 3 });
    for (let i = 0; i < 5; i++) await publishRecord(collector, makeRecord({ raw_url: `/n/${i}` }));
    assert.deepEqual(
      collector.records().map((r) => r.raw_url),
      ['/n/2', '/n/3', '/n/4'],
    );
    assert.equal(collector.messages().length, 3);
    assert.equal(collector.stats().messages, 5);
  });
});

describe('setPublishFault', () => {
  test("a status code fails every publish with it, as Google's REST API answers it; stores nothing; null restores service", async (t) => {
    const collector = await start(t);
    const cases: Array<[number, number, string]> = [
      [14, 503, 'UNAVAILABLE'],
      [7, 403, 'PERMISSION_DENIED'],
      [5, 404, 'NOT_FOUND'],
      [8, 429, 'RESOURCE_EXHAUSTED'],
      [16, 401, 'UNAUTHENTICATED'],
      [3, 400, 'INVALID_ARGUMENT'],
      [13, 500, 'INTERNAL'],
    ];
    for (const [code, httpStatus, name] of cases) {
      collector.setPublishFault(code);
      const { status, body } = await restPublish(collector.pubsubEndpoint, [{ data: JSON.stringify(makeRecord()) }]);
      assert.equal(status, httpStatus, name);
      assert.deepEqual(body, { error: { code: httpStatus, message: `apitoolkit-node collector: injected fault ${name}`, status: name } });
    }
    assert.equal(collector.records().length, 0);
    assert.equal(collector.messages().length, 0);
    assert.equal(collector.stats().publishRequests, cases.length);

    collector.setPublishFault(null);
    const record = makeRecord();
    await publishRecord(collector, record);
    assert.deepEqual(collector.records(), [record]);
  });

  test("'hang' never answers; close() releases the request promptly", async (t) => {
    const collector = await start(t);
    collector.setPublishFault('hang');
    const publishing = restPublish(collector.pubsubEndpoint, [{ data: JSON.stringify(makeRecord()) }]);
    publishing.catch(() => {}); // asserted below
    await until(() => collector.stats().publishRequests === 1, 'one publish request');
    assert.equal(await isPending(publishing, 200), true);

    const started = performance.now();
    await collector.close();
    assert.ok(performance.now() - started < 2_000, 'close() did not wait for the hung request');
    const answer = await publishing.catch((error: unknown) => error);
    // The hung request is answered 503 UNAVAILABLE, or cut as the server closes.
    assert.ok(answer instanceof Error || (answer as { status: number }).status === 503, String(answer));
    assert.equal(collector.records().length, 0);
  });

  test("'hang' lasts until the client gives up", async (t) => {
    const collector = await start(t);
    collector.setPublishFault('hang');
    await assert.rejects(restPublish(collector.pubsubEndpoint, [{ data: 'x' }], undefined, AbortSignal.timeout(200)), {
      name: 'TimeoutError',
    });
    collector.setPublishFault(null);
    assert.equal((await restPublish(collector.pubsubEndpoint, [{ data: 'x' }])).status, 200);
  });

  test('rejects a value that is not a status code, hang or null', async (t) => {
    const collector = await start(t);
    for (const bad of [0, 17, 1.5, 'slow']) {
      assert.throws(
        () => collector.setPublishFault(bad as never),
        (e: unknown) =>
          e instanceof OptionsInvalidError && e.code === 'APITOOLKIT_ERR_OPTIONS_INVALID' && e.option === 'setPublishFault(fault)',
      );
    }
  });
});

describe('other Pub/Sub REST methods', () => {
  test('topics.create (PUT) answers 409 ALREADY_EXISTS the second time and for the configured topic', async (t) => {
    const collector = await start(t);
    const created = await restCall(collector.pubsubEndpoint, 'PUT', 'projects/apitoolkit-local/topics/made-here', {});
    assert.deepEqual(created, { status: 200, body: { name: 'projects/apitoolkit-local/topics/made-here' } });
    for (const topic of ['made-here', TOPIC]) {
      const again = await restCall(collector.pubsubEndpoint, 'PUT', `projects/apitoolkit-local/topics/${topic}`, {});
      assert.equal(again.status, 409);
      assert.equal(again.body.error.status, 'ALREADY_EXISTS');
    }
  });

  test('topics.get returns any well-formed topic', async (t) => {
    const collector = await start(t);
    assert.deepEqual(await restCall(collector.pubsubEndpoint, 'GET', 'projects/apitoolkit-local/topics/never-created'), {
      status: 200,
      body: { name: 'projects/apitoolkit-local/topics/never-created' },
    });
  });

  test('topics.testIamPermissions grants what is asked, and nothing under a PERMISSION_DENIED fault', async (t) => {
    const collector = await start(t);
    const ask = () =>
      restCall(collector.pubsubEndpoint, 'POST', `${TOPIC_NAME}:testIamPermissions`, { permissions: ['pubsub.topics.publish'] });
    assert.deepEqual(await ask(), { status: 200, body: { permissions: ['pubsub.topics.publish'] } });
    collector.setPublishFault(7);
    assert.deepEqual(await ask(), { status: 200, body: {} });
    collector.setPublishFault(14);
    assert.equal((await ask()).status, 503);
    assert.equal(collector.stats().publishRequests, 0);
  });

  test('any other path or verb is NOT_FOUND; another HTTP method UNIMPLEMENTED', async (t) => {
    const collector = await start(t);
    for (const [method, path, status] of [
      ['GET', 'projects/apitoolkit-local/topics', 404],
      ['DELETE', `${TOPIC_NAME}`, 501],
      ['GET', `${TOPIC_NAME}:publish`, 501],
      ['POST', `${TOPIC_NAME}:detach`, 404],
      ['GET', 'projects/apitoolkit-local/subscriptions/s', 404],
    ] as const) {
      const answer = await restCall(collector.pubsubEndpoint, method, path, method === 'GET' ? undefined : {});
      assert.equal(answer.status, status, `${method} ${path}`);
      assert.equal(typeof answer.body.error.message, 'string');
    }
    assert.equal(collector.messages().length, 0);
  });
});

describe('messages that are not records', () => {
  test('are kept raw, left out of records(), and printed as invalid', async (t) => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const collector = await start(t, { print: out });
    for (const data of [Buffer.from('not json {'), Buffer.from('[1,2]'), Buffer.from([0xff, 0xfe, 0x00])]) {
      assert.equal((await restPublish(collector.pubsubEndpoint, [{ data }])).status, 200);
    }
    const record = makeRecord();
    await publishRecord(collector, record);

    assert.deepEqual(collector.records(), [record]);
    assert.equal(collector.messages().length, 4);
    assert.deepEqual(collector.messages()[0]?.data, Buffer.from('not json {'));
    assert.match(printed, /invalid message 1 on projects\/apitoolkit-local\/topics\/apitoolkit-local: data is not JSON/);
    assert.match(printed, /invalid message 2 .*: data is JSON but not an object \(array\)/);
    assert.match(printed, /invalid message 3 .*: data is not valid UTF-8/);
    assert.match(printed, /POST \/users\/:id → 201 Created/);
  });
});

describe('client metadata endpoint', () => {
  test('answers 200 with the topic and a syntactically valid fake service account', async (t) => {
    const collector = await start(t, { projectId: '11111111-2222-4333-8444-555555555555', topicId: 't1', pubsubProjectId: 'p1' });
    const response = await fetch(`${collector.rootURL}/api/client_metadata`, { headers: { authorization: 'Bearer any-key' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.project_id, '11111111-2222-4333-8444-555555555555');
    assert.equal(body.pubsub_project_id, 'p1');
    assert.equal(body.topic_id, 't1');
    const account = body.pubsub_push_service_account as Record<string, string>;
    assert.equal(account.type, 'service_account');
    assert.equal(account.project_id, 'p1');
    assert.match(account.private_key_id ?? '', /^[0-9a-f]{40}$/);
    assert.match(account.private_key ?? '', /^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PRIVATE KEY-----\n$/);
    assert.match(account.client_email ?? '', /^[^@]+@p1\.iam\.gserviceaccount\.com$/);
    assert.match(account.client_id ?? '', /^\d{21}$/);
    assert.equal(account.token_uri, 'https://oauth2.googleapis.com/token');
    assert.equal(collector.stats().metadataRequests, 1);
  });

  test('answers 401 JSON without a bearer key and for a key in rejectKeys', async (t) => {
    const collector = await start(t, { rejectKeys: ['revoked'] });
    const url = `${collector.rootURL}/api/client_metadata`;
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer ' },
      { authorization: 'Bearer revoked' },
    ];
    for (const headers of attempts) {
      const response = await fetch(url, { headers });
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.equal(typeof ((await response.json()) as { error?: unknown }).error, 'string');
    }
    assert.equal((await fetch(url, { headers: { authorization: 'bearer fine' } })).status, 200);
    assert.equal(collector.stats().metadataRequests, 5);
  });

  test('answers 404 elsewhere and 405 for other methods', async (t) => {
    const collector = await start(t);
    const auth = { authorization: 'Bearer k' };
    assert.equal((await fetch(`${collector.rootURL}/`, { headers: auth })).status, 404);
    assert.equal((await fetch(`${collector.rootURL}/api/client_metadata/x`, { headers: auth })).status, 404);
    const post = await fetch(`${collector.rootURL}/api/client_metadata`, { method: 'POST', headers: auth });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal(collector.stats().metadataRequests, 0);
  });
});

describe('JSONL file', () => {
  test('gets one line per record, appended across runs', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-collector-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'records.jsonl');
    const first = [makeRecord(), makeRecord({ status_code: 204, response_body: '' })];

    const collector = await start(t, { jsonlPath: path });
    assert.equal(collector.jsonlPath, path);
    for (const record of first) await publishRecord(collector, record);
    await restPublish(collector.pubsubEndpoint, [{ data: 'not a record' }]);
    await collector.close();

    const second = makeRecord({ method: 'DELETE' });
    const again = await start(t, { jsonlPath: path });
    await publishRecord(again, second);
    await again.close();

    const lines = (await readFile(path, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.deepEqual(
      lines.map((line) => JSON.parse(line)),
      [...first, second],
    );
  });

  test('an unwritable path makes startCollector reject', async () => {
    await assert.rejects(startCollector({ jsonlPath: join(tmpdir(), randomUUID(), 'nope', 'records.jsonl') }), { code: 'ENOENT' });
  });
});

describe('startCollector options and lifecycle', () => {
  test('rejects bad options naming the option', async () => {
    await assert.rejects(startCollector({ httpPort: -1 }), { code: 'APITOOLKIT_ERR_OPTIONS_INVALID', message: /httpPort/ });
    await assert.rejects(startCollector({ pubsubPort: 70_000 }), { code: 'APITOOLKIT_ERR_OPTIONS_INVALID', message: /pubsubPort/ });
    // The former name, still accepted.
    await assert.rejects(startCollector({ grpcPort: 70_000 }), { code: 'APITOOLKIT_ERR_OPTIONS_INVALID', message: /grpcPort/ });
    await assert.rejects(startCollector({ topicId: '' }), { code: 'APITOOLKIT_ERR_OPTIONS_INVALID', message: /topicId/ });
  });

  test('binds loopback by default and reports both addresses', async (t) => {
    const collector = await start(t);
    assert.match(collector.rootURL, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(collector.pubsubEndpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(collector.jsonlPath, null);
  });

  test('a taken port makes startCollector reject', async (t) => {
    const collector = await start(t);
    const port = Number(new URL(collector.rootURL).port);
    await assert.rejects(startCollector({ httpPort: port }), { code: 'EADDRINUSE' });
  });

  test('clear() forgets records, messages and stats', async (t) => {
    const collector = await start(t);
    await publishRecord(collector, makeRecord());
    assert.equal(collector.records().length, 1);
    collector.clear();
    assert.deepEqual(collector.records(), []);
    assert.deepEqual(collector.messages(), []);
    assert.deepEqual(collector.stats(), { publishRequests: 0, messages: 0, metadataRequests: 0 });
  });

  test('close() is idempotent, stops both servers and fails pending waits', async (t) => {
    const collector = await start(t);
    const waiting = collector.waitForRecords(1, 10_000);
    await Promise.all([collector.close(), collector.close()]);
    await collector.close();
    await assert.rejects(waiting, /closed while waiting for 1 records/);
    await assert.rejects(collector.waitForRecords(1), /closed/);
    await assert.rejects(fetch(`${collector.rootURL}/api/client_metadata`));
  });

  test('the former grpcPort option still names the Pub/Sub port', async (t) => {
    const probe = await start(t);
    const port = Number(probe.pubsubEndpoint.split(':')[1]);
    await probe.close();
    const collector = await start(t, { grpcPort: port });
    assert.equal(collector.pubsubEndpoint, `127.0.0.1:${port}`);
  });
});

describe('formatRecord', () => {
  test('shows the request line, ids, headers and decoded bodies', () => {
    const record = makeRecord({
      parent_id: '6f1c7a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f',
      response_headers: { 'content-type': ['application/octet-stream'] },
      response_body: b64(Buffer.from([0, 1, 2, 3, 250])),
    });
    const text = formatRecord(record);
    assert.match(text, /━━ POST \/users\/:id → 201 Created {2}12\.35 ms {2}2024-05-01T12:00:00\.123Z/);
    assert.match(text, /raw_url +\/users\/42\?tag=a&tag=b/);
    assert.match(text, new RegExp(`msg_id +${record.msg_id}`));
    assert.match(text, /parent_id +6f1c7a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f/);
    assert.match(text, /authorization: \[CLIENT_REDACTED\]/);
    assert.match(text, /request body\n {6}\{\n {8}"name": "Ann",\n {8}"password": "\[CLIENT_REDACTED\]"\n {6}\}/);
    assert.match(text, /response body\n {6}<5 bytes binary>/);
    assert.doesNotMatch(text, /\x1b/);
    assert.doesNotMatch(text, /wire format/);
  });

  test('shows text bodies as text and cuts long ones', () => {
    const text = formatRecord(makeRecord({ request_body: b64('line one\nline two'), response_body: b64('x'.repeat(10_000)) }));
    assert.match(text, /request body\n {6}line one\n {6}line two/);
    assert.match(text, /… \(10000 bytes, cut at 2048 characters\)/);
    assert.ok(!text.includes('x'.repeat(2049)));
  });

  test('lists errors with their root cause', () => {
    const text = formatRecord(
      makeRecord({
        errors: [
          {
            when: '2024-05-01T12:00:00Z',
            error_type: 'TypeError',
            message: 'boom',
            root_error_type: 'RangeError',
            root_error_message: 'deep',
            stack_trace: 'TypeError: boom\n    at handler (app.js:3:9)',
          },
        ],
      }),
    );
    assert.match(text, /errors \(1\)\n {6}TypeError: boom\n {8}caused by RangeError: deep\n {8}at handler \(app\.js:3:9\)/);
  });

  test('with color, highlights every redaction marker', () => {
    const text = formatRecord(makeRecord(), { color: true });
    const highlighted = text.match(/\x1b\[1;30;43m\[CLIENT_REDACTED\]\x1b\[0m/g) ?? [];
    assert.equal(highlighted.length, 2); // the authorization header and the password
    assert.equal(text.split(REDACTED).length - 1, 2);
  });

  test('escapes control characters from captured traffic', () => {
    const text = formatRecord(makeRecord({ response_headers: { 'x-evil': ['\x1b[2J\nFAKE: line'] } }));
    assert.match(text, /x-evil: \\x1b\[2J\\x0aFAKE: line/);
    assert.doesNotMatch(text, /\x1b/);
  });

  test('flags wire-format problems instead of crashing', () => {
    const bad = { ...makeRecord(), duration: 1.5, request_body: 'not base64!' } as ApiRecord;
    const text = formatRecord(bad);
    assert.match(text, /⚠ wire format: duration: expected integer, got 1\.5/);
    assert.match(text, /request body\n {6}<not base64>/);
    assert.match(formatRecord({} as ApiRecord), /⚠ wire format: missing fields: timestamp, duration/);
  });
});

describe('checkRecord and shouldColor', () => {
  test('checkRecord accepts a conforming record and names each departure', () => {
    assert.deepEqual(checkRecord(makeRecord()), []);
    assert.deepEqual(checkRecord({ ...makeRecord(), query_params: { a: 'x' } }), ['query_params: expected string-list-map, got {"a":"x"}']);
    assert.deepEqual(checkRecord({ ...makeRecord(), msg_id: 'abc', method: 'get' }), [
      'msg_id: not a UUID: "abc"',
      'method: not upper case: "get"',
    ]);
    assert.deepEqual(checkRecord(42), ['expected a JSON object, got number']);
  });

  test('shouldColor honours NO_COLOR and FORCE_COLOR over the TTY check', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    const pipe = new PassThrough();
    assert.equal(shouldColor(tty, {}), true);
    assert.equal(shouldColor(pipe, {}), false);
    assert.equal(shouldColor(tty, { NO_COLOR: '1' }), false);
    assert.equal(shouldColor(tty, { NO_COLOR: '' }), true);
    assert.equal(shouldColor(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(shouldColor(tty, { FORCE_COLOR: '0' }), false);
  });
});

describe('apitoolkit-node CLI', () => {
  test('--help prints usage and exits 0', async () => {
    const cli = startCli(['--help']);
    assert.deepEqual(await cli.exited, [0, null]);
    assert.match(cli.stdout(), /^Usage: apitoolkit-node <command>/);
    assert.match(cli.stdout(), /--http-port PORT/);
  });

  test('an unknown command or option: one line with the nearest name and a hint, exit 2', async () => {
    for (const [args, line] of [
      [['serve'], 'unknown command serve'],
      [['colector'], 'unknown command colector; did you mean collector?'],
      [['collector', '--htp-port', '1'], 'unknown option --htp-port; did you mean --http-port?'],
      [['doctor', '--zzz'], 'unknown option --zzz'],
    ] as const) {
      const cli = startCli([...args]);
      assert.deepEqual(await cli.exited, [2, null]);
      assert.equal(cli.stderr(), `apitoolkit-node: ${line}\nRun 'apitoolkit-node --help' for usage.\n`, args.join(' '));
      assert.equal(cli.stdout(), '');
    }
  });

  test('--version prints the package version', async () => {
    const cli = startCli(['--version']);
    assert.deepEqual(await cli.exited, [0, null]);
    assert.equal(cli.stdout(), `${JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`);
  });

  test('a bad port is a usage error', async () => {
    const cli = startCli(['collector', '--http-port', 'eighty']);
    assert.deepEqual(await cli.exited, [2, null]);
    assert.match(cli.stderr(), /--http-port expects a port number/);
  });

  test('collector prints a banner with real ports, serves, prints records, and exits 0 on SIGTERM', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'apitoolkit-cli-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const jsonl = join(dir, 'out.jsonl');
    const cli = startCli(['collector', '--http-port', '0', '--pubsub-port', '0', '--jsonl', jsonl]);
    t.after(() => cli.child.kill('SIGKILL'));

    await until(() => cli.stdout().includes('Press Ctrl-C to stop'), 'the banner', 15_000);
    const rootURL = /rootURL: +'(http:\/\/127\.0\.0\.1:(\d+))'/.exec(cli.stdout())?.[1];
    const endpoint = /pubsubEndpoint: +'(127\.0\.0\.1:\d+)' +\(or PUBSUB_EMULATOR_HOST=\1\)/.exec(cli.stdout())?.[1];
    assert.ok(rootURL && !rootURL.endsWith(':0'), cli.stdout());
    assert.ok(endpoint && !endpoint.endsWith(':0'), cli.stdout());
    assert.ok(cli.stdout().includes(`appended to ${jsonl}`));

    const response = await fetch(`${rootURL}/api/client_metadata`, { headers: { authorization: 'Bearer dev' } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { topic_id: string }).topic_id, 'apitoolkit-local');

    const record = makeRecord({ url_path: '/cli/:check' });
    await publishTo(endpoint!, record);
    await until(() => cli.stdout().includes('POST /cli/:check → 201 Created'), 'the record printed');

    cli.child.kill('SIGTERM');
    assert.deepEqual(await cli.exited, [0, null]);
    assert.match(cli.stdout(), /SIGTERM: stopping; received 1 records in 1 messages/);
    assert.deepEqual(JSON.parse(await readFile(jsonl, 'utf8')), record);
  });
});
