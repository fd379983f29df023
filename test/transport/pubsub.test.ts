/**
 * Pub/Sub transport tests that need no Java: the metadata fetch against a real node:http server, and
 * send() against endpoints that refuse or ignore connections. Delivery into the real Pub/Sub emulator
 * is in pubsub.emulator.ts (run by scripts/test-emulator.sh).
 */

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PubSub } from '@google-cloud/pubsub';
import { startCollector, type Collector } from '../../src/collector/index.js';
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

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a failing case can be re-run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** Batches around the Publish limits (1000 messages, 9 MiB): counts, sizes, and one oversized message. */
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
    // Large messages: the 9 MiB cut comes before the 1000-message one.
    const count = int(4, 30);
    cases.push({ name: `${count} messages of up to 1.5 MiB`, sizes: Array.from({ length: count }, () => int(1, 1.5 * MiB)) });
  }
  cases.push({ name: 'exactly 9 MiB', sizes: Array.from({ length: 9 }, () => MiB) });
  cases.push({ name: 'one byte above 9 MiB', sizes: [...Array.from({ length: 8 }, () => MiB), MiB + 1] });
  cases.push({ name: 'exactly 9 MiB, then a small message', sizes: [...Array.from({ length: 9 }, () => MiB), 1] });
  cases.push({ name: 'a message above 9 MiB goes alone', sizes: [10, 3 * MiB, 9 * MiB + 100, 20, 30] });
  cases.push({ name: '1500 messages, then 8 MiB', sizes: [...Array.from({ length: 1500 }, () => int(1, 100)), 8 * MiB, 2 * MiB] });
  return cases;
}

describe('makePubSubTransport send() to the local collector (a gRPC Pub/Sub Publisher)', () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector({ inspector: false });
  });
  after(() => collector.close());

  async function started(lines: string[] = []) {
    const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: collector.rootURL, pubsubEndpoint: collector.pubsubEndpoint, onDebug: (l) => lines.push(l) });
    await transport.start(AbortSignal.timeout(5_000));
    return transport;
  }

  /** Checks that the collector received exactly `sent`, each message once and intact. */
  function assertReceived(sent: Buffer[], name: string): void {
    const received = collector.messages();
    assert.equal(received.length, sent.length, `${name}: message count`);
    const byIndex = new Map<number, Buffer>();
    for (const message of received) {
      const index = Number(message.data.subarray(0, 32).toString('latin1').split(':')[1]);
      assert.ok(!byIndex.has(index), `${name}: message ${index} twice`);
      byIndex.set(index, message.data);
      assert.deepEqual(message.attributes, {}, name);
      assert.equal(message.topic, 'projects/apitoolkit-local/topics/apitoolkit-local', name);
    }
    sent.forEach((data, i) => assert.ok(byIndex.get(i)?.equals(data), `${name}: message ${i} differs or is missing`));
  }

  it('splits like the high-level publisher: same Publish requests, every message delivered intact', async () => {
    const transport = await started();
    // The general path: the official client's Topic publisher with the limits it clamps batching to,
    // and everything published in one tick (what this transport did before it called the GAPIC client).
    const pubsub = new PubSub({ projectId: 'apitoolkit-local', apiEndpoint: collector.pubsubEndpoint, emulatorMode: true, universeDomain: 'googleapis.com' });
    const topic = pubsub.topic('projects/apitoolkit-local/topics/apitoolkit-local', {
      batching: { maxMessages: 1000, maxBytes: 9 * MiB, maxMilliseconds: 0 },
    });
    try {
      for (const [n, { name, sizes }] of generatedBatches().entries()) {
        const batch = makeBatch(n, sizes);
        collector.clear();
        await Promise.all(batch.map((data) => topic.publishMessage({ data })));
        const expected = collector.stats().publishRequests;
        assertReceived(batch, `${name} (high-level client)`);

        collector.clear();
        assert.deepEqual(await transport.send(batch, 20_000), { ok: true }, name);
        assert.equal(collector.stats().publishRequests, expected, `${name}: Publish requests`);
        assertReceived(batch, name);
      }
    } finally {
      collector.clear();
      await transport.shutdown();
      await pubsub.close();
    }
  });

  it('gRPC errors: classified by code, named in the message; a split send fails as a whole', async () => {
    const lines: string[] = [];
    const transport = await started(lines);
    try {
      const cases: Array<[number, boolean, RegExp]> = [
        [7, false, /PERMISSION_DENIED \(7\): .*injected fault/],
        [5, false, /NOT_FOUND \(5\)/],
        [3, false, /INVALID_ARGUMENT \(3\)/],
        [14, true, /UNAVAILABLE \(14\)/],
        [8, true, /RESOURCE_EXHAUSTED \(8\)/],
        [13, true, /INTERNAL \(13\)/],
      ];
      for (const [code, retryable, message] of cases) {
        collector.setPublishFault(code);
        for (const batch of [makeBatch(0, [10]), makeBatch(0, Array.from({ length: 2500 }, () => 10))]) {
          const result = await transport.send(batch, 5_000);
          assert.ok(!result.ok, `code ${code}`);
          assert.equal(result.retryable, retryable, `code ${code}`);
          assert.ok(result.error instanceof TransportError);
          assert.match(result.error.message, new RegExp(`^apitoolkit-node: publish of ${batch.length} message\\(s\\) to projects/apitoolkit-local/topics/apitoolkit-local failed: `));
          assert.match(result.error.message, message);
        }
      }
      collector.setPublishFault(null);
      assert.deepEqual(await transport.send(makeBatch(0, [10]), 5_000), { ok: true });
      assert.equal(lines.filter((l) => /permanent failure: publish of/.test(l)).length, 6);
      assert.equal(lines.filter((l) => /retryable failure: publish of/.test(l)).length, 6);
      assertNoSecrets(lines.join('\n'));
    } finally {
      collector.setPublishFault(null);
      collector.clear();
      await transport.shutdown();
    }
  });

  it('a hung Publish: the gRPC deadline ends it; an abort signal settles it at once', async () => {
    const transport = await started();
    collector.setPublishFault('hang');
    try {
      const t0 = Date.now();
      const timedOut = await transport.send(makeBatch(0, [10]), 400);
      assert.ok(!timedOut.ok && timedOut.retryable, JSON.stringify(timedOut));
      assert.match(timedOut.error.message, /DEADLINE_EXCEEDED \(4\)/);
      assert.ok(Date.now() - t0 >= 350, `took ${Date.now() - t0} ms`);

      const controller = new AbortController();
      const pending = transport.send(makeBatch(0, Array.from({ length: 1500 }, () => 10)), 30_000, controller.signal);
      setTimeout(() => controller.abort(new Error('shutdown time is up')), 100);
      const t1 = Date.now();
      const abandoned = await pending;
      assert.ok(Date.now() - t1 < 10_000);
      assert.ok(!abandoned.ok && abandoned.retryable);
      assert.match(abandoned.error.message, /publish of 1500 message\(s\) to .* abandoned: shutdown time is up/);

      const early = new AbortController();
      early.abort(new Error('already over'));
      const before = collector.stats().publishRequests;
      const never = await transport.send(makeBatch(0, [10]), 30_000, early.signal);
      assert.ok(!never.ok && /abandoned: already over/.test(never.error.message));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(collector.stats().publishRequests, before, 'an already aborted send made a call');
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
      const batch = [...makeBatch(0, Array.from({ length: 1200 }, () => 10)), 'late' as unknown as Buffer];
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

describe('makePubSubTransport send() on the wire', () => {
  it('sends the Publish request the high-level client sends: same path, headers and body bytes', async () => {
    // A bare HTTP/2 endpoint that records each gRPC request and refuses it (PERMISSION_DENIED).
    const seen: Array<{ headers: Record<string, unknown>; body: Buffer }> = [];
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const { 'grpc-timeout': _deadline, ...rest } = headers;
        seen.push({ headers: rest, body: Buffer.concat(chunks) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '7', 'grpc-message': 'recorded' }));
        stream.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const backend = await serveMetadata([{ status: 200, body: METADATA }]);
    const batch = [Buffer.from('{"a":1}'), Buffer.from([0, 0xff, 0xe2, 0x9c, 0x93]), Buffer.alloc(70_000, 0x7a)];
    try {
      const transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: endpoint });
      await transport.start(AbortSignal.timeout(5_000));
      const result = await transport.send(batch, 5_000);
      await transport.shutdown();
      assert.ok(!result.ok && !result.retryable && /PERMISSION_DENIED \(7\): 7 PERMISSION_DENIED: recorded/.test(result.error.message));

      const pubsub = new PubSub({ projectId: METADATA.pubsub_project_id, apiEndpoint: endpoint, emulatorMode: true, universeDomain: 'googleapis.com' });
      const topic = pubsub.topic(`projects/${METADATA.pubsub_project_id}/topics/${METADATA.topic_id}`, { batching: { maxMilliseconds: 0 } });
      await Promise.allSettled(batch.map((data) => topic.publishMessage({ data })));
      await pubsub.close();

      assert.equal(seen.length, 2);
      const [ours, reference] = seen;
      assert.equal(ours!.headers[':path'], '/google.pubsub.v1.Publisher/Publish');
      assert.match(String(ours!.headers['x-goog-api-client']), /gccl\//);
      assert.deepEqual(ours!.headers, reference!.headers);
      assert.ok(ours!.body.equals(reference!.body), 'request bodies differ');
    } finally {
      await backend.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
