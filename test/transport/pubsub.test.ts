/**
 * Pub/Sub transport tests that need no Java: the metadata fetch against a real node:http server
 * (through both HTTP clients: node:https and fetch), and send() over Pub/Sub's REST API to the local
 * collector, to a recording endpoint, and to endpoints that refuse, reset or ignore connections.
 * Delivery into the real Pub/Sub emulator is in pubsub.emulator.ts (run by scripts/test-emulator.sh);
 * the production path with credentials over TLS in production.test.ts.
 */

import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startCollector, type Collector } from '../../src/collector/index.js';
import { MAX_MESSAGE_BYTES } from '../../src/core/encode.js';
import { ApiKeyRefusedError, MetadataError, TransportError } from '../../src/core/errors.js';
import { fetchHttpClient, type HttpClient } from '../../src/transport/http.js';
import { nodeHttpClient } from '../../src/transport/http-node.js';
import { fetchClientMetadata } from '../../src/transport/metadata.js';
import { MAX_MESSAGE_DATA_BYTES, MAX_REQUEST_BODY_BYTES, makePubSubTransport } from '../../src/transport/pubsub.js';
import { closedPort, serveMetadata, type MetadataServer } from '../helpers/emulator.js';
import { until } from '../helpers/wait.js';
import { prng as random } from '../helpers/prng.js';

const API_KEY = 'test-api-key-3f9c2b7d';
const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nTEST-PRIVATE-KEY-d41d8cd9\n-----END PRIVATE KEY-----\n';
const METADATA = {
  project_id: '00000000-0000-4000-8000-000000000001',
  pubsub_project_id: 'apitoolkit-test',
  topic_id: 'apitoolkit-topic',
  pubsub_push_service_account: {
    type: 'service_account',
    project_id: 'apitoolkit-test',
    private_key_id: 'fake',
    private_key: PRIVATE_KEY,
    client_email: 'publisher@apitoolkit-test.iam.gserviceaccount.com',
  },
};

function assertNoSecrets(text: string): void {
  assert.ok(!text.includes(API_KEY), `leaks the API key: ${text}`);
  assert.ok(!text.includes('TEST-PRIVATE-KEY'), `leaks the private key: ${text}`);
}

async function withBackend<T>(answers: Parameters<typeof serveMetadata>[0], fn: (backend: MetadataServer) => Promise<T>): Promise<T> {
  const backend = await serveMetadata(answers);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

/** The two HTTP clients the transport runs on: node:https (the SDK on Node) and fetch (other runtimes). */
const CLIENTS: Array<[string, () => HttpClient]> = [
  ['node:https', () => nodeHttpClient()],
  ['fetch', () => fetchHttpClient()],
];

for (const [clientName, makeClient] of CLIENTS)
  describe(`fetchClientMetadata over ${clientName}`, () => {
    const http = makeClient();
    after(() => http.close());
    it('GETs /api/client_metadata with the bearer key and returns the validated body', async () => {
      await withBackend([{ status: 200, body: METADATA }], async (backend) => {
        const metadata = await fetchClientMetadata(`${backend.rootURL}/`, API_KEY, { http, timeoutMs: 2_000 });
        assert.deepEqual(metadata, METADATA);
        assert.equal(backend.requests.length, 1);
        const [request] = backend.requests;
        assert.equal(request?.method, 'GET');
        assert.equal(request?.url, '/api/client_metadata');
        assert.equal(request?.headers.authorization, `Bearer ${API_KEY}`);
        assert.equal(request?.headers.accept, 'application/json');
      });
    });

    it('does not block the event loop while waiting', async () => {
      await withBackend([{ status: 200, body: METADATA, delayMs: 300 }], async (backend) => {
        let ticks = 0;
        const interval = setInterval(() => ticks++, 10);
        try {
          await fetchClientMetadata(backend.rootURL, API_KEY, { http, timeoutMs: 2_000 });
        } finally {
          clearInterval(interval);
        }
        assert.ok(ticks >= 10, `only ${ticks} timer ticks in 300 ms`);
      });
    });

    it('401 -> ApiKeyRefusedError (APITOOLKIT_ERR_API_KEY_REFUSED)', async () => {
      await withBackend([{ status: 401, body: { error: 'bad key' } }], async (backend) => {
        const err = await fetchClientMetadata(backend.rootURL, API_KEY, { http }).then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ApiKeyRefusedError);
        assert.equal(err.code, 'APITOOLKIT_ERR_API_KEY_REFUSED');
        assertNoSecrets(err.message);
      });
    });

    for (const status of [500, 403, 404, 302]) {
      it(`${status} -> MetadataError naming the status`, async () => {
        await withBackend([{ status, body: 'nope' }], async (backend) => {
          const err = await fetchClientMetadata(backend.rootURL, API_KEY, { http }).then(
            () => assert.fail('resolved'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof MetadataError);
          assert.equal(err.code, 'APITOOLKIT_ERR_METADATA');
          assert.match(err.message, new RegExp(`HTTP ${status}`));
          assertNoSecrets(err.message);
        });
      });
    }

    const malformed: Array<[string, unknown, RegExp]> = [
      ['not JSON', `{"private_key": "${PRIVATE_KEY}"`, /not JSON/],
      ['an array', [METADATA], /expected a JSON object, got an array/],
      ['null', null, /expected a JSON object, got null/],
      ['project_id missing', { ...METADATA, project_id: undefined }, /`project_id` should be a string, got undefined/],
      ['project_id a number', { ...METADATA, project_id: 42 }, /`project_id` should be a string, got number/],
      ['pubsub_project_id empty', { ...METADATA, pubsub_project_id: '' }, /`pubsub_project_id` is empty/],
      ['topic_id an object', { ...METADATA, topic_id: { id: 'x' } }, /`topic_id` should be a string, got object/],
      [
        'service account a string',
        { ...METADATA, pubsub_push_service_account: PRIVATE_KEY },
        /`pubsub_push_service_account` should be an object, got string/,
      ],
      ['service account null', { ...METADATA, pubsub_push_service_account: null }, /got null/],
      [
        'private_key a number',
        { ...METADATA, pubsub_push_service_account: { ...METADATA.pubsub_push_service_account, private_key: 1 } },
        /private_key` should be a string/,
      ],
    ];
    for (const [name, body, message] of malformed) {
      it(`malformed body (${name}) -> MetadataError without secrets`, async () => {
        await withBackend([{ status: 200, body }], async (backend) => {
          const err = await fetchClientMetadata(backend.rootURL, API_KEY, { http }).then(
            () => assert.fail('resolved'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof MetadataError, String(err));
          assert.match(err.message, message);
          assertNoSecrets(err.message);
        });
      });
    }

    it('connection refused -> MetadataError naming the cause', async () => {
      const port = await closedPort();
      const err = await fetchClientMetadata(`http://127.0.0.1:${port}`, API_KEY, { http }).then(
        () => assert.fail('resolved'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof MetadataError);
      assert.match(err.message, /ECONNREFUSED/);
      assertNoSecrets(err.message);
    });

    it('a server that never answers -> MetadataError after timeoutMs', async () => {
      await withBackend([{ status: 200, hang: true }], async (backend) => {
        const started = Date.now();
        const err = await fetchClientMetadata(backend.rootURL, API_KEY, { http, timeoutMs: 300 }).then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        );
        const elapsed = Date.now() - started;
        assert.ok(err instanceof MetadataError);
        assert.match(err.message, /timed out after 300 ms/);
        assert.ok(elapsed >= 250 && elapsed < 10_000, `took ${elapsed} ms`);
      });
    });

    it('rejects with signal.reason when aborted', async () => {
      await withBackend([{ status: 200, hang: true }], async (backend) => {
        const controller = new AbortController();
        const reason = new Error('stop');
        setTimeout(() => controller.abort(reason), 50);
        await assert.rejects(
          fetchClientMetadata(backend.rootURL, API_KEY, { http, signal: controller.signal, timeoutMs: 5_000 }),
          (e) => e === reason,
        );
      });
    });
    it('follows redirects; the API key goes along only while the origin stays the same', async () => {
      const seen: Array<{ url: string; authorization: string | undefined }> = [];
      const other = createHttpServer((req, res) => {
        seen.push({ url: `other${req.url}`, authorization: req.headers.authorization });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(METADATA));
      });
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      const otherOrigin = `http://localhost:${(other.address() as AddressInfo).port}`;
      const front = createHttpServer((req, res) => {
        seen.push({ url: req.url!, authorization: req.headers.authorization });
        if (req.url === '/api/client_metadata') res.writeHead(302, { location: '/v2/metadata' }).end();
        else res.writeHead(307, { location: `${otherOrigin}/final` }).end();
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      try {
        const metadata = await fetchClientMetadata(`http://127.0.0.1:${(front.address() as AddressInfo).port}`, API_KEY, {
          http,
          timeoutMs: 5_000,
        });
        assert.deepEqual(metadata, METADATA);
        assert.deepEqual(seen, [
          { url: '/api/client_metadata', authorization: `Bearer ${API_KEY}` },
          { url: '/v2/metadata', authorization: `Bearer ${API_KEY}` },
          { url: 'other/final', authorization: undefined },
        ]);
      } finally {
        await new Promise((resolve) => front.close(resolve));
        await new Promise((resolve) => other.close(resolve));
      }
    });

    it('an answer over 1 MiB -> MetadataError, without reading the rest', async () => {
      await withBackend([{ status: 200, body: { ...METADATA, pad: 'x'.repeat(1_100_000) } }], async (backend) => {
        const err = await fetchClientMetadata(backend.rootURL, API_KEY, { http }).then(
          () => assert.fail('resolved'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof MetadataError);
        assert.match(err.message, /body over 1048576 bytes/);
      });
    });
  });

describe('makePubSubTransport start()', () => {
  // Emulator mode against a port nobody listens on: start() does not connect, so it needs no endpoint.
  let endpoint = '';
  before(async () => {
    endpoint = `127.0.0.1:${await closedPort()}`;
  });

  it('resolves { projectId } and logs the topic, the project and how it publishes, never the keys', async () => {
    await withBackend([{ status: 200, body: METADATA }], async (backend) => {
      const lines: string[] = [];
      const transport = makePubSubTransport({
        apiKey: API_KEY,
        rootURL: backend.rootURL,
        pubsubEndpoint: endpoint,
        http: nodeHttpClient(),
        onDebug: (l) => lines.push(l),
      });
      assert.deepEqual(await transport.start(AbortSignal.timeout(5_000)), { projectId: METADATA.project_id });
      await transport.shutdown();
      const log = lines.join('\n');
      assert.match(
        log,
        new RegExp(
          `publishing to projects/apitoolkit-test/topics/apitoolkit-topic at http://${endpoint} in plaintext \\(emulator mode, no credentials\\) over node:https`,
        ),
      );
      assert.match(log, new RegExp(METADATA.project_id));
      assertNoSecrets(log);
    });
  });

  it('401 rejects at once with ApiKeyRefusedError, no retry', async () => {
    await withBackend([{ status: 401 }], async (backend) => {
      const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: endpoint });
      const started = Date.now();
      await assert.rejects(
        transport.start(AbortSignal.timeout(5_000)),
        (e) => e instanceof ApiKeyRefusedError && e.code === 'APITOOLKIT_ERR_API_KEY_REFUSED',
      );
      assert.ok(Date.now() - started < 10_000);
      assert.equal(backend.requests.length, 1);
      await transport.shutdown();
    });
  });

  it('500, then a malformed body, then 200: retries with backoff and succeeds', async () => {
    await withBackend([{ status: 500 }, { status: 200, body: { nope: true } }, { status: 200, body: METADATA }], async (backend) => {
      const lines: string[] = [];
      const transport = makePubSubTransport({
        apiKey: API_KEY,
        rootURL: backend.rootURL,
        pubsubEndpoint: endpoint,
        onDebug: (l) => lines.push(l),
      });
      const started = Date.now();
      assert.deepEqual(await transport.start(AbortSignal.timeout(10_000)), { projectId: METADATA.project_id });
      const elapsed = Date.now() - started;
      assert.equal(backend.requests.length, 3);
      // Waits of 250–500 ms then 500–1000 ms.
      assert.ok(elapsed >= 700 && elapsed < 10_000, `took ${elapsed} ms`);
      assert.equal(lines.filter((l) => /attempt \d failed .*retrying in \d+ ms/.test(l)).length, 2, lines.join('\n'));
      assertNoSecrets(lines.join('\n'));
      await transport.shutdown();
    });
  });

  it('stops retrying and rejects with signal.reason when the signal aborts', async () => {
    await withBackend([{ status: 503 }], async (backend) => {
      const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: endpoint });
      const controller = new AbortController();
      const reason = new Error('app is shutting down');
      setTimeout(() => controller.abort(reason), 200);
      const started = Date.now();
      await assert.rejects(transport.start(controller.signal), (e) => e === reason);
      assert.ok(Date.now() - started < 10_000);
      const seen = backend.requests.length;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(backend.requests.length, seen, 'kept fetching after abort');
      await transport.shutdown();
    });
  });

  it('without an endpoint: Google with the service account, whose key must be usable (retried like malformed metadata)', async () => {
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    delete process.env.PUBSUB_EMULATOR_HOST;
    try {
      const cases: Array<[string, object, RegExp]> = [
        ['no key at all', {}, /lacks `client_email` or `private_key`/],
        [
          'a key that is not PEM',
          METADATA.pubsub_push_service_account,
          /`pubsub_push_service_account\.private_key` is not a PEM "PRIVATE KEY" \(PKCS #8\)|not an RSA key WebCrypto can sign with/,
        ],
        [
          'a token_uri that is not https',
          { ...METADATA.pubsub_push_service_account, token_uri: 'http://example.com/token' },
          /`pubsub_push_service_account\.token_uri` must be an https URL, got "http:\/\/example\.com\/token"/,
        ],
      ];
      for (const [name, account, message] of cases) {
        await withBackend([{ status: 200, body: { ...METADATA, pubsub_push_service_account: account } }], async (backend) => {
          const lines: string[] = [];
          const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, onDebug: (l) => lines.push(l) });
          await assert.rejects(transport.start(AbortSignal.timeout(400)), { name: 'TimeoutError' }, name);
          assert.match(lines.join('\n'), message, name);
          assertNoSecrets(lines.join('\n'));
          await transport.shutdown();
        });
      }
    } finally {
      if (saved !== undefined) process.env.PUBSUB_EMULATOR_HOST = saved;
    }
  });
});

describe('makePubSubTransport send()', () => {
  let backend: MetadataServer;
  before(async () => {
    backend = await serveMetadata([{ status: 200, body: METADATA }]);
  });
  after(() => backend.close());

  async function started(pubsubEndpoint: string, lines: string[] = [], http: HttpClient = nodeHttpClient()) {
    const transport = makePubSubTransport({
      apiKey: API_KEY,
      rootURL: backend.rootURL,
      pubsubEndpoint,
      http,
      onDebug: (l) => lines.push(l),
    });
    await transport.start(AbortSignal.timeout(5_000));
    return transport;
  }

  for (const [clientName, makeClient] of CLIENTS) {
    it(`nothing listening: the send redials until its deadline, then fails retryable, naming the cause (${clientName})`, async () => {
      const lines: string[] = [];
      const port = await closedPort();
      const transport = await started(`127.0.0.1:${port}`, lines, makeClient());
      try {
        const t0 = Date.now();
        const result = await transport.send([Buffer.from('{"a":1}')], 600);
        const elapsed = Date.now() - t0;
        assert.ok(!result.ok && result.retryable);
        assert.ok(result.error instanceof TransportError && result.error.code === 'APITOOLKIT_ERR_TRANSPORT');
        assert.match(
          result.error.message,
          new RegExp(
            `publish of 1 message\\(s\\) to projects/apitoolkit-test/topics/apitoolkit-topic failed: no connection to http://127\\.0\\.0\\.1:${port} within 600 ms \\(.*ECONNREFUSED`,
          ),
        );
        assert.ok(elapsed >= 550 && elapsed < 5_000, `took ${elapsed} ms`);
        assert.equal(lines.filter((l) => /retryable failure/.test(l)).length, 1);
        assertNoSecrets(lines.join('\n'));

        // The endpoint comes up while a send waits: it goes out then, within a redial.
        let received = 0;
        const server = createHttpServer((req, res) => {
          req.resume();
          received += 1;
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"messageIds":["1"]}');
        });
        const sending = transport.send([Buffer.from('{"a":2}')], 5_000);
        await new Promise((r) => setTimeout(r, 400));
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        const up = Date.now();
        assert.deepEqual(await sending, { ok: true });
        assert.ok(Date.now() - up < 1_000, `delivered ${Date.now() - up} ms after the endpoint came up`);
        assert.equal(received, 1, 'nothing was sent twice');
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      } finally {
        await transport.shutdown();
      }
    });
  }

  it('a server that accepts but never answers -> retryable failure after timeoutMs; its connection is closed, the next send dials afresh', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const transport = await started(`127.0.0.1:${port}`);
    try {
      const t0 = Date.now();
      const result = await transport.send([Buffer.from('x')], 700);
      const elapsed = Date.now() - t0;
      assert.ok(!result.ok && result.retryable, JSON.stringify(result));
      assert.match(result.error.message, /timed out after 700 ms; its connection is closed, the next attempt dials afresh/);
      assert.ok(elapsed >= 650 && elapsed < 5_000, `took ${elapsed} ms`);
      await until(() => sockets[0]!.destroyed, 'the timed-out connection closed by the SDK');
      assert.equal(sockets.length, 1);
      await transport.send([Buffer.from('x')], 300);
      assert.equal(sockets.length, 2, 'the second send dialled a new connection');
    } finally {
      await transport.shutdown();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a connection reset mid-request -> retryable; the next send goes out on a new connection', async () => {
    let connections = 0;
    const resetting = createServer((socket) => {
      connections += 1;
      socket.once('data', () => socket.resetAndDestroy());
    });
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const transport = await started(`127.0.0.1:${(resetting.address() as AddressInfo).port}`);
    try {
      for (let i = 1; i <= 2; i++) {
        const result = await transport.send([Buffer.from('x')], 2_000);
        assert.ok(!result.ok && result.retryable, JSON.stringify(result));
        assert.match(result.error.message, /ECONNRESET|socket hang up/);
        assert.equal(connections, i);
      }
    } finally {
      await transport.shutdown();
      await new Promise((resolve) => resetting.close(resolve));
    }
  });

  it('edge cases settle without throwing', async () => {
    const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: `127.0.0.1:${await closedPort()}` });
    const early = await transport.send([Buffer.from('x')], 100);
    assert.ok(!early.ok && early.retryable, 'before start(): retryable');
    await transport.start(AbortSignal.timeout(5_000));
    assert.deepEqual(await transport.send([], 100), { ok: true });
    const bad = await transport.send(['not a buffer' as unknown as Buffer], 100);
    assert.ok(!bad.ok && !bad.retryable);
    await transport.shutdown();
  });

  it('shutdown() is idempotent, bounded, and later sends fail without retry', async () => {
    const transport = await started(`127.0.0.1:${await closedPort()}`);
    const t0 = Date.now();
    const first = transport.shutdown();
    const second = transport.shutdown();
    assert.equal(first, second);
    await Promise.all([first, second, transport.shutdown()]);
    assert.ok(Date.now() - t0 < 10_000);
    const result = await transport.send([Buffer.from('x')], 100);
    assert.ok(!result.ok && !result.retryable);
    // Before start() too.
    await makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL }).shutdown();
  });
});

/** `count` messages of the given sizes, each starting with `case:index:` so it can be told apart. */
function makeBatch(label: number, sizes: number[]): Buffer[] {
  return sizes.map((size, i) => {
    const head = Buffer.from(`${label}:${i}:`);
    const data = Buffer.alloc(Math.max(size, head.length), 0x61 + (i % 26));
    head.copy(data);
    return data;
  });
}

const MiB = 1024 * 1024;

/** Batches around the publish limits (1000 messages, 10 MB of JSON body): counts, sizes, one message alone. */
function generatedBatches(): Array<{ name: string; sizes: number[] }> {
  const rand = random(0x5eed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const cases: Array<{ name: string; sizes: number[] }> = [];
  for (const count of [1, 2, 999, 1000, 1001, 2000, 2001]) {
    cases.push({ name: `${count} small messages`, sizes: Array.from({ length: count }, () => int(1, 400)) });
  }
  for (let i = 0; i < 6; i++) {
    const count = int(1, 2600);
    cases.push({ name: `${count} random small messages`, sizes: Array.from({ length: count }, () => int(1, 3000)) });
  }
  for (let i = 0; i < 3; i++) {
    // Large messages: the byte cut comes before the 1000-message one.
    const count = int(4, 30);
    cases.push({ name: `${count} messages of up to 1.5 MiB`, sizes: Array.from({ length: count }, () => int(1, 1.5 * MiB)) });
  }
  // 7 499 979 bytes of data is the most one request carries: its JSON body is exactly 10 000 000 bytes.
  cases.push({ name: 'one message of the largest size', sizes: [MAX_MESSAGE_DATA_BYTES] });
  cases.push({ name: 'two messages making a body just under 10 MB', sizes: [3_749_985, MAX_MESSAGE_DATA_BYTES - 3_749_985 - 9] });
  cases.push({ name: 'one byte more: cut in two', sizes: [3_749_985, MAX_MESSAGE_DATA_BYTES - 3_749_985 - 8] });
  cases.push({ name: '9 MiB of 1 MiB messages', sizes: Array.from({ length: 9 }, () => MiB) });
  cases.push({ name: 'largest message between small ones', sizes: [10, MAX_MESSAGE_DATA_BYTES, 20, 30] });
  cases.push({ name: '1500 messages, then 7 MiB', sizes: [...Array.from({ length: 1500 }, () => int(1, 100)), 7 * MiB, 2 * MiB] });
  return cases;
}

/** The requests a correct cut makes, computed from the limits alone: greedy, in order. */
function expectedRequests(sizes: number[]): number[][] {
  const requests: number[][] = [];
  let current: number[] = [];
  let body = 0;
  for (const [i, size] of sizes.entries()) {
    // `{"messages":[` … `]}` around `{"data":"<base64>"}` items separated by commas.
    const item = '{"data":""}'.length + Math.ceil(size / 3) * 4;
    if (current.length > 0 && (current.length === 1000 || body + 1 + item > MAX_REQUEST_BODY_BYTES)) {
      requests.push(current);
      current = [];
    }
    body = current.length === 0 ? '{"messages":[]}'.length + item : body + 1 + item;
    current.push(i);
  }
  requests.push(current);
  return requests;
}

/** A Pub/Sub REST endpoint of our own that records each publish request whole and accepts it. */
async function recordingEndpoint(): Promise<{
  endpoint: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }>;
  close(): Promise<void>;
}> {
  const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => {
        const body = Buffer.concat(chunks);
        requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const count = (JSON.parse(body.toString('utf8')) as { messages: unknown[] }).messages.length;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ messageIds: Array.from({ length: count }, (_, i) => String(i)) }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('makePubSubTransport send(): the requests on the wire', () => {
  let backend: MetadataServer;
  let recorder: Awaited<ReturnType<typeof recordingEndpoint>>;
  before(async () => {
    backend = await serveMetadata([{ status: 200, body: METADATA }]);
    recorder = await recordingEndpoint();
  });
  after(async () => {
    await backend.close();
    await recorder.close();
  });

  it('one publish: POST /v1/projects/P/topics/T:publish, JSON {"messages":[{"data":"<base64>"}]} and nothing else, no credentials in emulator mode', async () => {
    for (const [clientName, makeClient] of CLIENTS) {
      recorder.requests.length = 0;
      const transport = makePubSubTransport({
        apiKey: API_KEY,
        rootURL: backend.rootURL,
        pubsubEndpoint: recorder.endpoint,
        http: makeClient(),
      });
      await transport.start(AbortSignal.timeout(5_000));
      const batch = [Buffer.from('{"a":1}'), Buffer.from([0, 0xff, 0xe2, 0x9c, 0x93]), Buffer.alloc(70_000, 0x7a), Buffer.from('é')];
      assert.deepEqual(await transport.send(batch, 5_000), { ok: true });
      await transport.shutdown();
      assert.equal(recorder.requests.length, 1, clientName);
      const [request] = recorder.requests;
      assert.equal(request!.method, 'POST');
      assert.equal(request!.url, '/v1/projects/apitoolkit-test/topics/apitoolkit-topic:publish');
      assert.equal(request!.headers['content-type'], 'application/json');
      assert.equal(request!.headers.authorization, undefined, 'no credentials in emulator mode');
      assert.equal(Number(request!.headers['content-length']), request!.body.length);
      const expected = `{"messages":[${batch.map((m) => `{"data":"${m.toString('base64')}"}`).join(',')}]}`;
      assert.equal(request!.body.toString('latin1'), expected, clientName);
    }
  });

  it('a batch is cut at 1 000 messages and 10 MB of body, greedily and in order; every message intact', { timeout: 120_000 }, async () => {
    const transport = makePubSubTransport({
      apiKey: API_KEY,
      rootURL: backend.rootURL,
      pubsubEndpoint: recorder.endpoint,
      http: nodeHttpClient(),
    });
    await transport.start(AbortSignal.timeout(5_000));
    try {
      for (const [n, { name, sizes }] of generatedBatches().entries()) {
        recorder.requests.length = 0;
        const batch = makeBatch(n, sizes);
        assert.deepEqual(await transport.send(batch, 60_000), { ok: true }, name);
        const received = recorder.requests.map((r) =>
          (JSON.parse(r.body.toString('latin1')) as { messages: Array<{ data: string }> }).messages.map((m) =>
            Buffer.from(m.data, 'base64'),
          ),
        );
        for (const r of recorder.requests) assert.ok(r.body.length <= MAX_REQUEST_BODY_BYTES, `${name}: a body of ${r.body.length} bytes`);
        assert.deepEqual(
          received.map((r) => r.length),
          expectedRequests(sizes).map((r) => r.length),
          `${name}: messages per request`,
        );
        const flat = received.flat();
        assert.equal(flat.length, batch.length, name);
        batch.forEach((data, i) => assert.ok(flat[i]!.equals(data), `${name}: message ${i} differs`));
      }
    } finally {
      await transport.shutdown();
    }
  });

  it("the request body's memory is used again for the next send once answered, never after a failed request; every body exact", async () => {
    // The node:https client, watched: which memory each request body was written in.
    const inner = nodeHttpClient();
    const memories: ArrayBufferLike[] = [];
    let failNext = false;
    const http: HttpClient = {
      ...inner,
      request(request) {
        if (request.method !== 'POST') return inner.request(request); // the metadata
        memories.push((request.body as Uint8Array).buffer);
        if (failNext) {
          failNext = false;
          return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        }
        return inner.request(request);
      },
      reset: () => inner.reset(),
      close: () => inner.close(),
    };
    const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: recorder.endpoint, http });
    await transport.start(AbortSignal.timeout(5_000));
    try {
      recorder.requests.length = 0;
      // Larger, smaller, larger again: each body is exactly its own, whatever memory it was written in.
      const batches = [[3000, 200, 5000], [10], [70_000, 1], [4000, 4000]].map((sizes, n) =>
        sizes.map((size, i) => Buffer.alloc(size, 0x61 + ((n + i) % 26))),
      );
      for (const batch of batches.slice(0, 2)) assert.deepEqual(await transport.send(batch, 5_000), { ok: true });
      assert.equal(memories[1], memories[0], "the second body was written in the first one's memory");
      failNext = true;
      const failed = await transport.send(batches[2]!, 5_000);
      assert.equal(failed.ok, false);
      for (const batch of batches.slice(2)) assert.deepEqual(await transport.send(batch, 5_000), { ok: true });
      assert.equal(memories[2], memories[1], 'the failed request had the memory the last answered one left');
      assert.notEqual(memories[3], memories[2], "a failed request's memory is never written again");
      assert.deepEqual(
        recorder.requests.map((r) => r.body.toString('latin1')),
        [0, 1, 2, 3].map((n) => `{"messages":[${batches[n]!.map((m) => `{"data":"${m.toString('base64')}"}`).join(',')}]}`),
      );
      for (const r of recorder.requests) assert.equal(Number(r.headers['content-length']), r.body.length);
    } finally {
      await transport.shutdown();
    }
  });

  it('the largest record encode.ts lets through fits one request', () => {
    assert.equal(MAX_MESSAGE_DATA_BYTES, 7_499_979);
    assert.ok(MAX_MESSAGE_BYTES <= MAX_MESSAGE_DATA_BYTES);
  });
});

describe('makePubSubTransport send() to the local collector (Pub/Sub REST)', () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector({ inspector: false });
  });
  after(() => collector.close());

  async function started(lines: string[] = []) {
    const transport = makePubSubTransport({
      apiKey: API_KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: collector.pubsubEndpoint,
      http: nodeHttpClient(),
      onDebug: (l) => lines.push(l),
    });
    await transport.start(AbortSignal.timeout(5_000));
    return transport;
  }

  it("errors: classified by Google's status (or the HTTP status), named in the message; a split send fails as a whole", async () => {
    const lines: string[] = [];
    const transport = await started(lines);
    try {
      const cases: Array<[number, boolean, RegExp]> = [
        [7, false, /HTTP 403 PERMISSION_DENIED: .*injected fault/],
        [5, false, /HTTP 404 NOT_FOUND/],
        [3, false, /HTTP 400 INVALID_ARGUMENT/],
        [16, false, /HTTP 401 UNAUTHENTICATED/],
        [14, true, /HTTP 503 UNAVAILABLE/],
        [8, true, /HTTP 429 RESOURCE_EXHAUSTED/],
        [13, true, /HTTP 500 INTERNAL/],
        [10, true, /HTTP 409 ABORTED/],
      ];
      for (const [code, retryable, message] of cases) {
        collector.setPublishFault(code);
        for (const batch of [
          makeBatch(0, [10]),
          makeBatch(
            0,
            Array.from({ length: 2500 }, () => 10),
          ),
        ]) {
          const before = collector.stats().publishRequests;
          const result = await transport.send(batch, 5_000);
          assert.ok(!result.ok, `code ${code}`);
          assert.equal(result.retryable, retryable, `code ${code}`);
          assert.ok(result.error instanceof TransportError);
          assert.match(
            result.error.message,
            /^apitoolkit-node: publish of \d+ message\(s\) to projects\/apitoolkit-local\/topics\/apitoolkit-local failed: /,
          );
          assert.match(result.error.message, message);
          assert.equal(collector.stats().publishRequests - before, 1, 'the first refused request ends the send');
        }
      }
      collector.setPublishFault(null);
      assert.deepEqual(await transport.send(makeBatch(0, [10]), 5_000), { ok: true });
      assert.equal(lines.filter((l) => /permanent failure: publish of/.test(l)).length, 8);
      assert.equal(lines.filter((l) => /retryable failure: publish of/.test(l)).length, 8);
      assertNoSecrets(lines.join('\n'));
    } finally {
      collector.setPublishFault(null);
      collector.clear();
      await transport.shutdown();
    }
  });

  it("answers that are not Google's JSON: by HTTP status (5xx, 429, 408 retryable; other 4xx not)", async () => {
    let status = 502;
    const server = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(status, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const transport = makePubSubTransport({
      apiKey: API_KEY,
      rootURL: collector.rootURL,
      pubsubEndpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      http: nodeHttpClient(),
    });
    await transport.start(AbortSignal.timeout(5_000));
    try {
      for (const [code, retryable] of [
        [502, true],
        [504, true],
        [429, true],
        [408, true],
        [400, false],
        [413, false],
        [404, false],
      ] as const) {
        status = code;
        const result = await transport.send([Buffer.from('x')], 5_000);
        assert.ok(!result.ok && result.retryable === retryable, `HTTP ${code}: ${JSON.stringify(result)}`);
        assert.match(result.error.message, new RegExp(`failed: HTTP ${code}$`));
      }
    } finally {
      await transport.shutdown();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a hung publish: the deadline ends it; an abort signal settles it at once', async () => {
    const transport = await started();
    collector.setPublishFault('hang');
    try {
      const t0 = Date.now();
      const timedOut = await transport.send(makeBatch(0, [10]), 400);
      assert.ok(!timedOut.ok && timedOut.retryable, JSON.stringify(timedOut));
      assert.match(timedOut.error.message, /timed out after 400 ms/);
      assert.ok(Date.now() - t0 >= 350, `took ${Date.now() - t0} ms`);

      const controller = new AbortController();
      const pending = transport.send(
        makeBatch(
          0,
          Array.from({ length: 1500 }, () => 10),
        ),
        30_000,
        controller.signal,
      );
      setTimeout(() => controller.abort(new Error('shutdown time is up')), 100);
      const t1 = Date.now();
      const abandoned = await pending;
      assert.ok(Date.now() - t1 < 5_000);
      assert.ok(!abandoned.ok && abandoned.retryable);
      assert.match(abandoned.error.message, /publish of 1500 message\(s\) to .* abandoned: shutdown time is up/);

      const early = new AbortController();
      early.abort(new Error('already over'));
      const before = collector.stats().publishRequests;
      const never = await transport.send(makeBatch(0, [10]), 30_000, early.signal);
      assert.ok(!never.ok && /abandoned: already over/.test(never.error.message));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(collector.stats().publishRequests, before, 'an already aborted send made a request');
    } finally {
      collector.setPublishFault(null);
      collector.clear();
      await transport.shutdown();
    }
  });

  it('a non-Buffer anywhere in the batch fails the send before anything goes out', async () => {
    const transport = await started();
    try {
      collector.clear();
      const batch = [
        ...makeBatch(
          0,
          Array.from({ length: 1200 }, () => 10),
        ),
        'late' as unknown as Buffer,
      ];
      const result = await transport.send(batch, 5_000);
      assert.ok(!result.ok && !result.retryable);
      assert.match(result.error.message, /message 1200 is not a Buffer/);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(collector.stats().publishRequests, 0);
      // A Uint8Array that is not a Buffer is fine, as before.
      assert.deepEqual(await transport.send([new Uint8Array(Buffer.from('0:0:x')) as Buffer], 5_000), { ok: true });
      assert.equal(collector.stats().messages, 1);
    } finally {
      collector.clear();
      await transport.shutdown();
    }
  });
});
