/**
 * Pub/Sub transport tests that need no Java: the metadata fetch against a real node:http server, and
 * send() against endpoints that refuse or ignore connections. Delivery into the real Pub/Sub emulator
 * is in pubsub.emulator.ts (run by scripts/test-emulator.sh).
 */

import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiKeyRefusedError, MetadataError, TransportError } from '../../src/core/errors.js';
import { fetchClientMetadata } from '../../src/transport/metadata.js';
import { makePubSubTransport } from '../../src/transport/pubsub.js';
import { closedPort, serveMetadata, type MetadataServer } from '../helpers/emulator.js';

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

describe('fetchClientMetadata', () => {
  it('GETs /api/client_metadata with the bearer key and returns the validated body', async () => {
    await withBackend([{ status: 200, body: METADATA }], async (backend) => {
      const metadata = await fetchClientMetadata(`${backend.rootURL}/`, API_KEY, { timeoutMs: 2_000 });
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
        await fetchClientMetadata(backend.rootURL, API_KEY, { timeoutMs: 2_000 });
      } finally {
        clearInterval(interval);
      }
      assert.ok(ticks >= 10, `only ${ticks} timer ticks in 300 ms`);
    });
  });

  it('401 -> ApiKeyRefusedError (APITOOLKIT_ERR_API_KEY_REFUSED)', async () => {
    await withBackend([{ status: 401, body: { error: 'bad key' } }], async (backend) => {
      const err = await fetchClientMetadata(backend.rootURL, API_KEY).then(() => assert.fail('resolved'), (e: unknown) => e);
      assert.ok(err instanceof ApiKeyRefusedError);
      assert.equal(err.code, 'APITOOLKIT_ERR_API_KEY_REFUSED');
      assertNoSecrets(err.message);
    });
  });

  for (const status of [500, 403, 404, 302]) {
    it(`${status} -> MetadataError naming the status`, async () => {
      await withBackend([{ status, body: 'nope' }], async (backend) => {
        const err = await fetchClientMetadata(backend.rootURL, API_KEY).then(() => assert.fail('resolved'), (e: unknown) => e);
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
    ['service account a string', { ...METADATA, pubsub_push_service_account: PRIVATE_KEY }, /`pubsub_push_service_account` should be an object, got string/],
    ['service account null', { ...METADATA, pubsub_push_service_account: null }, /got null/],
    ['private_key a number', { ...METADATA, pubsub_push_service_account: { ...METADATA.pubsub_push_service_account, private_key: 1 } }, /private_key` should be a string/],
  ];
  for (const [name, body, message] of malformed) {
    it(`malformed body (${name}) -> MetadataError without secrets`, async () => {
      await withBackend([{ status: 200, body }], async (backend) => {
        const err = await fetchClientMetadata(backend.rootURL, API_KEY).then(() => assert.fail('resolved'), (e: unknown) => e);
        assert.ok(err instanceof MetadataError, String(err));
        assert.match(err.message, message);
        assertNoSecrets(err.message);
      });
    });
  }

  it('connection refused -> MetadataError naming the cause', async () => {
    const port = await closedPort();
    const err = await fetchClientMetadata(`http://127.0.0.1:${port}`, API_KEY).then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(err instanceof MetadataError);
    assert.match(err.message, /ECONNREFUSED/);
    assertNoSecrets(err.message);
  });

  it('a server that never answers -> MetadataError after timeoutMs', async () => {
    await withBackend([{ status: 200, hang: true }], async (backend) => {
      const started = Date.now();
      const err = await fetchClientMetadata(backend.rootURL, API_KEY, { timeoutMs: 300 }).then(() => assert.fail('resolved'), (e: unknown) => e);
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
      await assert.rejects(fetchClientMetadata(backend.rootURL, API_KEY, { signal: controller.signal, timeoutMs: 5_000 }), (e) => e === reason);
    });
  });
});

describe('makePubSubTransport start()', () => {
  // Emulator mode against a port nobody listens on: start() connects lazily, so it needs no emulator.
  let endpoint = '';
  before(async () => {
    endpoint = `127.0.0.1:${await closedPort()}`;
  });

  it('resolves { projectId } and logs the topic and project, never the keys', async () => {
    await withBackend([{ status: 200, body: METADATA }], async (backend) => {
      const lines: string[] = [];
      const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: endpoint, onDebug: (l) => lines.push(l) });
      assert.deepEqual(await transport.start(AbortSignal.timeout(5_000)), { projectId: METADATA.project_id });
      await transport.shutdown();
      const log = lines.join('\n');
      assert.match(log, /projects\/apitoolkit-test\/topics\/apitoolkit-topic/);
      assert.match(log, new RegExp(METADATA.project_id));
      assertNoSecrets(log);
    });
  });

  it('401 rejects at once with ApiKeyRefusedError, no retry', async () => {
    await withBackend([{ status: 401 }], async (backend) => {
      const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: endpoint });
      const started = Date.now();
      await assert.rejects(transport.start(AbortSignal.timeout(5_000)), (e) => e instanceof ApiKeyRefusedError && e.code === 'APITOOLKIT_ERR_API_KEY_REFUSED');
      assert.ok(Date.now() - started < 10_000);
      assert.equal(backend.requests.length, 1);
      await transport.shutdown();
    });
  });

  it('500, then a malformed body, then 200: retries with backoff and succeeds', async () => {
    await withBackend([{ status: 500 }, { status: 200, body: { nope: true } }, { status: 200, body: METADATA }], async (backend) => {
      const lines: string[] = [];
      const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: endpoint, onDebug: (l) => lines.push(l) });
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

  it('without an endpoint, uses the service-account credentials (no network needed to start)', async () => {
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    delete process.env.PUBSUB_EMULATOR_HOST;
    try {
      await withBackend([{ status: 200, body: METADATA }], async (backend) => {
        const lines: string[] = [];
        const warnings: string[] = [];
        const warn = console.warn;
        // google-auth-library warns through console.warn when given the deprecated `credentials` option.
        console.warn = (...args: unknown[]) => { warnings.push(args.join(' ')); };
        const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, onDebug: (l) => lines.push(l) });
        try {
          assert.deepEqual(await transport.start(AbortSignal.timeout(5_000)), { projectId: METADATA.project_id });
        } finally {
          console.warn = warn;
        }
        assert.deepEqual(warnings, [], 'nothing printed into the host app');
        assert.match(lines.join('\n'), /service-account credentials/);
        assertNoSecrets(lines.join('\n'));
        await transport.shutdown();
      });
      // Credentials are required then: metadata without them is retried like any malformed answer.
      await withBackend([{ status: 200, body: { ...METADATA, pubsub_push_service_account: {} } }], async (backend) => {
        const lines: string[] = [];
        const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, onDebug: (l) => lines.push(l) });
        await assert.rejects(transport.start(AbortSignal.timeout(400)), { name: 'TimeoutError' });
        assert.match(lines.join('\n'), /lacks `client_email` or `private_key`/);
        await transport.shutdown();
      });
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

  async function started(pubsubEndpoint: string, lines: string[] = []) {
    const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint, onDebug: (l) => lines.push(l) });
    await transport.start(AbortSignal.timeout(5_000));
    return transport;
  }

  it('connection refused -> { ok: false, retryable: true } at once, not after the client’s 60 s retries', async () => {
    const lines: string[] = [];
    const transport = await started(`127.0.0.1:${await closedPort()}`, lines);
    try {
      for (let i = 0; i < 2; i++) {
        const t0 = Date.now();
        const result = await transport.send([Buffer.from('{"a":1}')], 2_000);
        const elapsed = Date.now() - t0;
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.retryable);
        assert.ok(!result.ok && result.error instanceof TransportError && result.error.code === 'APITOOLKIT_ERR_TRANSPORT');
        assert.match(!result.ok ? result.error.message : '', /UNAVAILABLE \(14\)/);
        assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
      }
      assert.equal(lines.filter((l) => /retryable failure/.test(l)).length, 2);
      assertNoSecrets(lines.join('\n'));
    } finally {
      await transport.shutdown();
    }
  });

  it('a server that accepts but never answers -> retryable failure within about timeoutMs', async () => {
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
      assert.ok(elapsed >= 650 && elapsed < 10_000, `took ${elapsed} ms`);
    } finally {
      await transport.shutdown();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
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
