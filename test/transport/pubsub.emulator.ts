/**
 * Delivery tests against the genuine Google Pub/Sub emulator (Java), which serves Pub/Sub's REST API
 * on its port. Not matched by the unit-test glob (`test/*\/*.test.ts`); run it with
 * `npm run test:emulator` (scripts/test-emulator.sh), which skips it when gcloud is not installed.
 * Run directly, it fails loudly without the emulator.
 */

import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TransportError } from '../../src/core/errors.js';
import { nodeHttpClient } from '../../src/transport/http-node.js';
import { fetchHttpClient } from '../../src/transport/http.js';
import { makePubSubTransport } from '../../src/transport/pubsub.js';
import type { Transport } from '../../src/transport/types.js';
import { assertReadmeRecord, runReadmeExample } from '../helpers/readme-example.js';
import { emulatorAvailable, serveMetadata, startEmulator, type MetadataServer, type RunningEmulator } from '../helpers/emulator.js';
import { restCall } from '../helpers/pubsub-rest.js';

const PROJECT = 'apitoolkit-emulator';
const API_KEY = 'emulator-api-key-71c0';
const TOPIC = `projects/${PROJECT}/topics/apitoolkit-topic`;
const SUBSCRIPTION = `projects/${PROJECT}/subscriptions/apitoolkit-sub`;

/**
 * A plain HTTP pass-through in front of the emulator that records each request's method and path, so
 * a test can see how many publish requests one send() made.
 */
async function countingProxy(target: string): Promise<{ host: string; calls: string[]; close(): Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const upstream = request({ host, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (!emulatorAvailable()) {
  throw new Error('Pub/Sub emulator not found (gcloud and java must be on PATH): run these tests via scripts/test-emulator.sh');
}

describe('Pub/Sub transport against the emulator (REST)', () => {
  let emulator: RunningEmulator;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let backend: MetadataServer;
  let transport: Transport;

  before(async () => {
    const t0 = Date.now();
    emulator = await startEmulator(PROJECT);
    console.log(`emulator ready on ${emulator.host} in ${Date.now() - t0} ms`);
    proxy = await countingProxy(emulator.host);
    // The emulator drops messages published to a topic with no subscription: create both first.
    assert.equal((await restCall(emulator.host, 'PUT', TOPIC, {})).status, 200);
    assert.equal((await restCall(emulator.host, 'PUT', SUBSCRIPTION, { topic: TOPIC, ackDeadlineSeconds: 60 })).status, 200);
    backend = await serveMetadata([
      {
        status: 200,
        body: {
          project_id: '00000000-0000-4000-8000-0000000000aa',
          pubsub_project_id: PROJECT,
          topic_id: 'apitoolkit-topic',
          pubsub_push_service_account: { type: 'service_account', client_email: 'x@example.com', private_key: 'unused-in-emulator-mode' },
        },
      },
    ]);
    transport = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: proxy.host, http: nodeHttpClient() });
    assert.deepEqual(await transport.start(AbortSignal.timeout(10_000)), { projectId: '00000000-0000-4000-8000-0000000000aa' });
  });

  after(async () => {
    await transport?.shutdown();
    await backend?.close();
    await proxy?.close();
    await emulator?.stop();
  });

  /** Pulls (and acks) until `count` messages arrived or 10 s passed; then checks nothing more arrives. */
  async function pull(count: number): Promise<Array<{ data: Buffer; attributes: Record<string, string> }>> {
    const received: Array<{ data: Buffer; attributes: Record<string, string> }> = [];
    const deadline = Date.now() + 10_000;
    while (received.length < count && Date.now() < deadline) {
      const { status, body } = await restCall(emulator.host, 'POST', `${SUBSCRIPTION}:pull`, { maxMessages: 1000 });
      assert.equal(status, 200, JSON.stringify(body));
      const messages = (body.receivedMessages ?? []) as Array<{
        ackId: string;
        message: { data?: string; attributes?: Record<string, string> };
      }>;
      for (const m of messages)
        received.push({ data: Buffer.from(m.message.data ?? '', 'base64'), attributes: { ...(m.message.attributes ?? {}) } });
      if (messages.length > 0)
        await restCall(emulator.host, 'POST', `${SUBSCRIPTION}:acknowledge`, { ackIds: messages.map((m) => m.ackId) });
      else await new Promise((r) => setTimeout(r, 100));
    }
    const extra = await restCall(emulator.host, 'POST', `${SUBSCRIPTION}:pull`, { maxMessages: 10, returnImmediately: true });
    assert.equal((extra.body.receivedMessages ?? []).length, 0, 'more messages than were sent');
    return received;
  }

  const publishCalls = (): number => proxy.calls.filter((c) => c === `POST /v1/${TOPIC}:publish`).length;

  it('send() of one message: delivered byte for byte, no attributes, one publish request', async () => {
    const before = publishCalls();
    const data = Buffer.from(JSON.stringify({ msg_id: 'one', text: 'héllo ✓' }));
    assert.deepEqual(await transport.send([data], 5_000), { ok: true });
    assert.equal(publishCalls() - before, 1);
    const received = await pull(1);
    assert.equal(received.length, 1);
    assert.ok(received[0]?.data.equals(data));
    assert.deepEqual(received[0]?.attributes, {});
  });

  it('send() of 500 messages: all delivered exactly, in one publish request; over fetch too', async () => {
    for (const http of [nodeHttpClient(), fetchHttpClient()]) {
      const other = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: proxy.host, http });
      await other.start(AbortSignal.timeout(5_000));
      const before = publishCalls();
      const sent = Array.from({ length: 500 }, (_, i) =>
        Buffer.concat([
          Buffer.from(JSON.stringify({ msg_id: `m-${i}`, pad: 'x'.repeat(i % 97) })),
          Buffer.from([0xe2, 0x9c, 0x93, i % 256]),
        ]),
      );
      const t0 = Date.now();
      assert.deepEqual(await other.send(sent, 10_000), { ok: true });
      console.log(`500 messages acknowledged in ${Date.now() - t0} ms over ${http.description}`);
      assert.equal(publishCalls() - before, 1, `publish requests: ${publishCalls() - before}`);
      const received = await pull(500);
      const key = (b: Buffer): string => b.toString('base64');
      assert.deepEqual(received.map((m) => key(m.data)).sort(), sent.map(key).sort());
      assert.ok(received.every((m) => Object.keys(m.attributes).length === 0));
      await other.shutdown();
    }
  });

  it('a topic that does not exist -> NOT_FOUND, not retryable', async () => {
    const missing = await serveMetadata([
      { status: 200, body: { project_id: 'p', pubsub_project_id: PROJECT, topic_id: 'no-such-topic', pubsub_push_service_account: {} } },
    ]);
    const lines: string[] = [];
    const other = makePubSubTransport({
      apiKey: API_KEY,
      rootURL: missing.rootURL,
      pubsubEndpoint: emulator.host,
      http: nodeHttpClient(),
      onDebug: (l) => lines.push(l),
    });
    try {
      await other.start(AbortSignal.timeout(5_000));
      const result = await other.send([Buffer.from('x')], 5_000);
      assert.ok(!result.ok && result.retryable === false && result.error instanceof TransportError, JSON.stringify(result));
      assert.match(result.error.message, /HTTP 404 NOT_FOUND/);
      assert.ok(lines.some((l) => /permanent failure/.test(l)));
    } finally {
      await other.shutdown();
      await missing.close();
    }
  });

  it('after shutdown(), send() fails without retry and shutdown() stays idempotent', async () => {
    const other = makePubSubTransport({ apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: emulator.host, http: nodeHttpClient() });
    await other.start(AbortSignal.timeout(5_000));
    assert.deepEqual(await other.send([Buffer.from('{"last":true}')], 5_000), { ok: true });
    await Promise.all([other.shutdown(), other.shutdown()]);
    const result = await other.send([Buffer.from('x')], 1_000);
    assert.ok(!result.ok && !result.retryable);
    await pull(1);
  });

  it("the README's example request, through the SDK and Express, arrives as exactly the wire-format record", async (t) => {
    const { apitoolkit, url } = await runReadmeExample(t, { apiKey: API_KEY, rootURL: backend.rootURL, pubsubEndpoint: emulator.host });
    assert.equal(await apitoolkit.flush(10_000), true);
    const [message] = await pull(1);
    assertReadmeRecord(message!.data, url, '00000000-0000-4000-8000-0000000000aa');
    assert.deepEqual(message!.attributes, {});
  });
});
